"""Zerodha Kite Connect v3: a redirect flow with a request token and a checksum.

Kite has no ``state`` parameter: our nonce rides in ``redirect_params``, which
Kite appends to the redirect URL registered for the app.
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

_HEADERS = {"X-Kite-Version": "3"}


class Kite(Broker):
    name = "kite"
    display_name = "Zerodha Kite"
    variants = (Variant(("api_key", "api_secret"), "redirect"),)

    def start(self, credentials: dict[str, str], ctx: Context) -> Redirect:
        query = urlencode(
            {
                "v": "3",
                "api_key": credentials["api_key"],
                "redirect_params": urlencode({"state": ctx.state}),
            }
        )
        return Redirect(f"{ctx.settings.url('kite_login')}?{query}", dict(credentials))

    def finish(self, pending: dict[str, str], params: Mapping[str, str], ctx: Context) -> Login:
        token = params.get("request_token", "")
        if params.get("status") != "success" or not token:
            raise BrokerAuthFailed(
                reason(self.display_name, None, "the login at Zerodha was cancelled or refused")
            )
        api_key = pending["api_key"]
        status, body = ctx.http.call(
            self.display_name,
            "POST",
            f"{ctx.settings.url('kite_api')}/session/token",
            headers=_HEADERS,
            data={
                "api_key": api_key,
                "request_token": token,
                "checksum": sha256_hex(api_key + token + pending["api_secret"]),
            },
        )
        if status != 200 or not isinstance(body, dict) or body.get("status") != "success":
            message = body.get("message") if isinstance(body, dict) else None
            raise BrokerAuthFailed(reason(self.display_name, message, "the login was refused"))
        data = body.get("data")
        return Login(
            user_id=text_field(self.display_name, data, "user_id"),
            user_name=str(data.get("user_name") or "") if isinstance(data, dict) else "",
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
