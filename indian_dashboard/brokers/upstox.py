"""Upstox API v2: the OAuth2 authorization-code flow with ``state`` and ``redirect_uri``."""

from __future__ import annotations

from typing import Any

from .base import Context, Login, Variant, next_ist, optional_field, text_field
from .redirect import RedirectBroker


class Upstox(RedirectBroker):
    name = "upstox"
    display_name = "Upstox"
    variants = (Variant(("api_key", "api_secret"), "redirect"),)
    login_page = ("upstox_api", "/v2/login/authorization/dialog")
    code_param = "code"
    cancelled = "the login at Upstox was cancelled or refused"

    def login_query(self, credentials: dict[str, str], ctx: Context) -> dict[str, str]:
        return {
            "response_type": "code",
            "client_id": credentials["api_key"],
            "redirect_uri": ctx.callback_url,
            "state": ctx.state,
        }

    def pending(self, credentials: dict[str, str], ctx: Context) -> dict[str, str]:
        # The exchange must name the same redirect_uri as the login page.
        return {**credentials, "redirect_uri": ctx.callback_url}

    def refusal(self, body: Any) -> object:
        """The first error's message: ``{"status":"error","errors":[{"message":...}]}``."""
        errors = body.get("errors") if isinstance(body, dict) else None
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return errors[0].get("message")
        return None

    def redeem(self, pending: dict[str, str], code: str, ctx: Context) -> Login:
        body = self.answer(
            ctx,
            "the code was refused",
            "POST",
            f"{ctx.settings.url('upstox_api')}/v2/login/authorization/token",
            needs="access_token",
            data={
                "code": code,
                "client_id": pending["api_key"],
                "client_secret": pending["api_secret"],
                "redirect_uri": pending["redirect_uri"],
                "grant_type": "authorization_code",
            },
        )
        return Login(
            user_id=text_field(self.display_name, body, "user_id"),
            user_name=optional_field(body, "user_name"),
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
