"""Fyers API v3: an auth-code redirect, ``appIdHash``, and the identity from the profile.

The access token is a JWT whose claims name the user, but nothing here verifies
its signature, so the identity comes from ``GET /api/v3/profile`` instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from .base import (
    Broker,
    BrokerAuthFailed,
    Context,
    Login,
    Redirect,
    Variant,
    next_ist,
    reason,
    sha256_hex,
    text_field,
)


class Fyers(Broker):
    name = "fyers"
    display_name = "Fyers"
    variants = (Variant(("app_id", "secret_key"), "redirect"),)

    def start(self, credentials: dict[str, str], ctx: Context) -> Redirect:
        query = urlencode(
            {
                "client_id": credentials["app_id"],
                "redirect_uri": ctx.callback_url,
                "response_type": "code",
                "state": ctx.state,
            }
        )
        url = f"{ctx.settings.url('fyers_api')}/api/v3/generate-authcode?{query}"
        return Redirect(url, dict(credentials))

    def finish(self, pending: dict[str, str], params: Mapping[str, str], ctx: Context) -> Login:
        code = params.get("auth_code", "")
        if params.get("s") != "ok" or not code:
            raise BrokerAuthFailed(
                reason(
                    self.display_name,
                    params.get("message"),
                    "the login at Fyers was cancelled or refused",
                )
            )
        app_id, api = pending["app_id"], ctx.settings.url("fyers_api")
        status, body = ctx.http.call(
            self.display_name,
            "POST",
            f"{api}/api/v3/validate-authcode",
            json={
                "grant_type": "authorization_code",
                "appIdHash": sha256_hex(f"{app_id}:{pending['secret_key']}"),
                "code": code,
            },
        )
        if status != 200 or not isinstance(body, dict) or body.get("s") != "ok":
            message = body.get("message") if isinstance(body, dict) else None
            raise BrokerAuthFailed(reason(self.display_name, message, "the code was refused"))
        token = text_field(self.display_name, body, "access_token")
        status, profile = ctx.http.call(
            self.display_name,
            "GET",
            f"{api}/api/v3/profile",
            headers={"Authorization": f"{app_id}:{token}"},
        )
        if status != 200 or not isinstance(profile, dict) or profile.get("s") != "ok":
            message = profile.get("message") if isinstance(profile, dict) else None
            raise BrokerAuthFailed(reason(self.display_name, message, "the profile was refused"))
        data = profile.get("data")
        return Login(
            user_id=text_field(self.display_name, data, "fy_id"),
            user_name=str(data.get("name") or "") if isinstance(data, dict) else "",
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
