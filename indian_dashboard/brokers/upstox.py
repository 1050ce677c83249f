"""Upstox API v2: the OAuth2 authorization-code flow with ``state`` and ``redirect_uri``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
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
    text_field,
)


def _message(body: Any) -> object:
    """The first error's message: ``{"status":"error","errors":[{"message":...}]}``."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return errors[0].get("message")
    return None


class Upstox(Broker):
    name = "upstox"
    display_name = "Upstox"
    variants = (Variant(("api_key", "api_secret"), "redirect"),)

    def start(self, credentials: dict[str, str], ctx: Context) -> Redirect:
        query = urlencode(
            {
                "response_type": "code",
                "client_id": credentials["api_key"],
                "redirect_uri": ctx.callback_url,
                "state": ctx.state,
            }
        )
        url = f"{ctx.settings.url('upstox_api')}/v2/login/authorization/dialog?{query}"
        return Redirect(url, {**credentials, "redirect_uri": ctx.callback_url})

    def finish(self, pending: dict[str, str], params: Mapping[str, str], ctx: Context) -> Login:
        code = params.get("code", "")
        if not code:
            raise BrokerAuthFailed(
                reason(self.display_name, None, "the login at Upstox was cancelled or refused")
            )
        status, body = ctx.http.call(
            self.display_name,
            "POST",
            f"{ctx.settings.url('upstox_api')}/v2/login/authorization/token",
            data={
                "code": code,
                "client_id": pending["api_key"],
                "client_secret": pending["api_secret"],
                "redirect_uri": pending["redirect_uri"],
                "grant_type": "authorization_code",
            },
        )
        if status != 200 or not isinstance(body, dict) or "access_token" not in body:
            raise BrokerAuthFailed(
                reason(self.display_name, _message(body), "the code was refused")
            )
        return Login(
            user_id=text_field(self.display_name, body, "user_id"),
            user_name=str(body.get("user_name") or ""),
            kept={"access_token": text_field(self.display_name, body, "access_token")},
            # "Until 3:30 AM the next day": never past the first 03:30 IST after now.
            expires_at=next_ist(ctx.now, 3, 30),
        )

    def logout(self, kept: dict[str, str], ctx: Context) -> None:
        ctx.http.call(
            self.display_name,
            "DELETE",
            f"{ctx.settings.url('upstox_api')}/v2/logout",
            logout=True,
            headers={"Authorization": f"Bearer {kept['access_token']}"},
        )
