"""Fyers API v3: an auth-code redirect, ``appIdHash``, and the identity from the profile.

The access token is a JWT whose claims name the user, but nothing here verifies
its signature, so the identity comes from ``GET /api/v3/profile`` instead.
"""

from __future__ import annotations

from typing import Any

from .base import Context, Login, Variant, next_ist, optional_field, sha256_hex, text_field
from .redirect import RedirectBroker


class Fyers(RedirectBroker):
    name = "fyers"
    display_name = "Fyers"
    variants = (Variant(("app_id", "secret_key"), "redirect"),)
    login_page = ("fyers_api", "/api/v3/generate-authcode")
    code_param = "auth_code"
    callback_success = ("s", "ok")
    callback_message = "message"
    cancelled = "the login at Fyers was cancelled or refused"

    def login_query(self, credentials: dict[str, str], ctx: Context) -> dict[str, str]:
        return {
            "client_id": credentials["app_id"],
            "redirect_uri": ctx.callback_url,
            "response_type": "code",
            "state": ctx.state,
        }

    def accepted(self, body: dict[str, Any]) -> bool:
        return body.get("s") == "ok"

    def redeem(self, pending: dict[str, str], code: str, ctx: Context) -> Login:
        app_id, api = pending["app_id"], ctx.settings.url("fyers_api")
        body = self.answer(
            ctx,
            "the code was refused",
            "POST",
            f"{api}/api/v3/validate-authcode",
            json={
                "grant_type": "authorization_code",
                "appIdHash": sha256_hex(f"{app_id}:{pending['secret_key']}"),
                "code": code,
            },
        )
        token = text_field(self.display_name, body, "access_token")
        profile = self.answer(
            ctx,
            "the profile was refused",
            "GET",
            f"{api}/api/v3/profile",
            headers={"Authorization": f"{app_id}:{token}"},
        )
        data = profile.get("data")
        return Login(
            user_id=text_field(self.display_name, data, "fy_id"),
            user_name=optional_field(data, "name"),
            kept={"app_id": app_id, "access_token": token},
            expires_at=next_ist(ctx.now, 6, 0),
        )

    def logout(self, kept: dict[str, str], ctx: Context) -> None:
        ctx.http.call(
            self.display_name,
            "POST",
            f"{ctx.settings.url('fyers_api')}/api/v3/logout",
            logout=True,
            headers={"Authorization": f"{kept['app_id']}:{kept['access_token']}"},
        )
