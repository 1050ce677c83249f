"""Angel One SmartAPI: a direct login (client code, MPIN, TOTP), identity from the profile.

The login answer carries no user id; ``getProfile`` names the client. Angel One
answers most errors with HTTP 200 and ``"status": false`` (or, for a bad token,
``"success": false``), so the body decides, not the status.
"""

from __future__ import annotations

from typing import Any

from .base import Broker, Context, Login, Variant, optional_field, text_field

_LOGIN = "/rest/auth/angelbroking/user/v1/loginByPassword"
_PROFILE = "/rest/secure/angelbroking/user/v1/getProfile"
_LOGOUT = "/rest/secure/angelbroking/user/v1/logout"


class AngelOne(Broker):
    name = "angelone"
    display_name = "Angel One"
    variants = (
        Variant(("api_key", "client_code", "pin", "totp"), "direct", typed_id="client_code"),
    )

    def accepted(self, body: dict[str, Any]) -> bool:
        return body.get("status") is True

    def _headers(self, api_key: str, ctx: Context, jwt: str | None = None) -> dict[str, str]:
        ip = ctx.settings.angelone_public_ip
        headers = {
            "X-PrivateKey": api_key,
            "X-UserType": "USER",
            "X-SourceID": "WEB",
            "X-ClientLocalIP": ip,
            "X-ClientPublicIP": ip,
            "X-MACAddress": "00:00:00:00:00:00",
        }
        if jwt is not None:
            headers["Authorization"] = f"Bearer {jwt}"
        return headers

    def start(self, credentials: dict[str, str], ctx: Context) -> Login:
        api, api_key = ctx.settings.url("angelone_api"), credentials["api_key"]
        body = self.answer(
            ctx,
            "login refused",
            "POST",
            api + _LOGIN,
            headers=self._headers(api_key, ctx),
            json={
                "clientcode": credentials["client_code"],
                "password": credentials["pin"],
                "totp": credentials["totp"],
            },
        )
        data = body.get("data")
        jwt = text_field(self.display_name, data, "jwtToken")
        profile = self.answer(
            ctx,
            "the profile was refused",
            "GET",
            api + _PROFILE,
            headers=self._headers(api_key, ctx, jwt),
        )
        details = profile.get("data")
        user = text_field(self.display_name, details, "clientcode")
        return Login(
            user_id=user,
            user_name=optional_field(details, "name"),
            kept={
                "api_key": api_key,
                "client_code": user,
                "jwt_token": jwt,
                "refresh_token": optional_field(data, "refreshToken"),
                "feed_token": optional_field(data, "feedToken"),
            },
            # Angel One documents no expiry time ("log in daily"): the setting bounds it.
            expires_at=None,
        )

    def logout(self, kept: dict[str, str], ctx: Context) -> None:
        ctx.http.call(
            self.display_name,
            "POST",
            ctx.settings.url("angelone_api") + _LOGOUT,
            logout=True,
            headers=self._headers(kept["api_key"], ctx, kept["jwt_token"]),
            json={"clientcode": kept["client_code"]},
        )
