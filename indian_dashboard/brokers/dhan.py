"""DhanHQ v2: the API-key consent redirect, or an access token made in Dhan Web.

The consent redirect carries no ``state``: the pending login is bound to the
visitor's pre-login cookie only, and the client id the trader typed must match
the one Dhan answers with, so a foreign ``tokenId`` cannot sign them in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from .base import (
    Broker,
    BrokerAuthFailed,
    BrokerUnavailable,
    Context,
    Login,
    Redirect,
    Variant,
    ist_time,
    optional_field,
    reason,
    text_field,
)

#: ``expiryTime`` of the consent exchange (IST, ISO 8601) and ``tokenValidity`` of the profile.
_TIME_FORMATS = ("iso", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S")


class Dhan(Broker):
    name = "dhan"
    display_name = "Dhan"
    variants = (
        Variant(("client_id", "app_id", "app_secret"), "redirect", typed_id="client_id"),
        Variant(("client_id", "access_token"), "direct", typed_id="client_id"),
    )
    returns_state = False

    def refusal(self, body: Any) -> object:
        """Dhan's ``{"errorType","errorCode","errorMessage"}`` (or a plain ``message``)."""
        if isinstance(body, dict):
            return body.get("errorMessage") or body.get("message")
        return None

    def start(self, credentials: dict[str, str], ctx: Context) -> Redirect | Login:
        if "access_token" in credentials:
            return self._with_token(credentials["access_token"], ctx)
        auth = ctx.settings.url("dhan_auth")
        body = self.answer(
            ctx,
            "the API key was refused",
            "POST",
            f"{auth}/app/generate-consent",
            needs="consentAppId",
            params={"client_id": credentials["client_id"]},
            headers=self._app_headers(credentials),
        )
        consent = text_field(self.display_name, body, "consentAppId")
        url = f"{auth}/login/consentApp-login?{urlencode({'consentAppId': consent})}"
        return Redirect(url, {**credentials, "consent_app_id": consent})

    def returned_state(self, params: Mapping[str, str]) -> str | None:
        return None

    def finish(self, pending: dict[str, str], params: Mapping[str, str], ctx: Context) -> Login:
        token_id = params.get("tokenId", "")
        if not token_id:
            raise BrokerAuthFailed(
                reason(self.display_name, None, "the consent at Dhan was not given")
            )
        body = self.answer(
            ctx,
            "the consent was refused",
            "GET",
            f"{ctx.settings.url('dhan_auth')}/app/consumeApp-consent",
            needs="accessToken",
            params={"tokenId": token_id},
            headers=self._app_headers(pending),
        )
        user = text_field(self.display_name, body, "dhanClientId")
        return Login(
            user_id=user,
            user_name=optional_field(body, "dhanClientName"),
            kept={
                "client_id": user,
                "access_token": text_field(self.display_name, body, "accessToken"),
            },
            expires_at=self._expiry(body.get("expiryTime")),
        )

    def _with_token(self, token: str, ctx: Context) -> Login:
        body = self.answer(
            ctx,
            "the access token was refused",
            "GET",
            f"{ctx.settings.url('dhan_api')}/v2/profile",
            needs="dhanClientId",
            headers={"access-token": token},
        )
        user = text_field(self.display_name, body, "dhanClientId")
        return Login(
            user_id=user,
            user_name="",
            kept={"client_id": user, "access_token": token},
            expires_at=self._expiry(body.get("tokenValidity")),
        )

    def _expiry(self, text: object) -> float:
        at = ist_time(text, _TIME_FORMATS)
        if at is None:
            # Without it the session could outlive the token: refuse rather than guess.
            raise BrokerUnavailable(f"{self.display_name} answered without a token expiry.")
        return at

    @staticmethod
    def _app_headers(credentials: Mapping[str, str]) -> dict[str, str]:
        return {"app_id": credentials["app_id"], "app_secret": credentials["app_secret"]}

    def logout(self, kept: dict[str, str], ctx: Context) -> None:
        """Dhan documents no logout: its token lapses at its expiry."""
