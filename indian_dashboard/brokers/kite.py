"""Zerodha Kite Connect v3: a redirect flow with a request token and a checksum.

Kite has no ``state`` parameter: our nonce rides in ``redirect_params``, which
Kite appends to the redirect URL registered for the app.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from .base import Context, Login, Variant, next_ist, optional_field, sha256_hex, text_field
from .redirect import RedirectBroker

_HEADERS = {"X-Kite-Version": "3"}


class Kite(RedirectBroker):
    name = "kite"
    display_name = "Zerodha Kite"
    variants = (Variant(("api_key", "api_secret"), "redirect"),)
    login_page = ("kite_login", "")
    code_param = "request_token"
    callback_success = ("status", "success")
    cancelled = "the login at Zerodha was cancelled or refused"

    def login_query(self, credentials: dict[str, str], ctx: Context) -> dict[str, str]:
        return {
            "v": "3",
            "api_key": credentials["api_key"],
            "redirect_params": urlencode({"state": ctx.state}),
        }

    def accepted(self, body: dict[str, Any]) -> bool:
        return body.get("status") == "success"

    def redeem(self, pending: dict[str, str], code: str, ctx: Context) -> Login:
        api_key = pending["api_key"]
        body = self.answer(
            ctx,
            "the login was refused",
            "POST",
            f"{ctx.settings.url('kite_api')}/session/token",
            headers=_HEADERS,
            data={
                "api_key": api_key,
                "request_token": code,
                "checksum": sha256_hex(api_key + code + pending["api_secret"]),
            },
        )
        data = body.get("data")
        return Login(
            user_id=text_field(self.display_name, data, "user_id"),
            user_name=optional_field(data, "user_name"),
            kept={
                "api_key": api_key,
                "access_token": text_field(self.display_name, data, "access_token"),
            },
            expires_at=next_ist(ctx.now, 6, 0),
        )

    def logout(self, kept: dict[str, str], ctx: Context) -> None:
        ctx.http.call(
            self.display_name,
            "DELETE",
            f"{ctx.settings.url('kite_api')}/session/token",
            logout=True,
            headers=_HEADERS,
            params={"api_key": kept["api_key"], "access_token": kept["access_token"]},
        )
