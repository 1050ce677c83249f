"""Fyers API v3: ``generate-authcode``, ``validate-authcode``, ``profile``, ``logout``."""

from __future__ import annotations

import hashlib
import hmac

from flask import Blueprint, request
from werkzeug.wrappers import Response

from .pages import back, emulator, install_faults, json_answer, login_page, page

NAME = "Fyers"
bp = Blueprint("fyers", __name__, url_prefix="/fyers")
install_faults(bp, "fyers")


def _error(code: int, message: str, status: int) -> Response:
    return json_answer({"s": "error", "code": code, "message": message}, status)


@bp.route("/api/v3/generate-authcode", methods=["GET", "POST"])
@page
def generate_authcode() -> Response:
    values = request.values
    carry = {k: values.get(k, "") for k in ("client_id", "redirect_uri", "response_type", "state")}
    app = emulator().app("fyers", carry["client_id"])
    uri = carry["redirect_uri"]
    if app is None or not uri or (app.redirect_url and app.redirect_url != uri):
        return _error(-371, "Invalid app id or redirect uri", 400)
    outcome = login_page("fyers", NAME, "Login to Fyers", carry)
    if isinstance(outcome, Response):
        return outcome
    user_id, decision = outcome
    if decision == "deny":
        query = {
            "s": "error",
            "code": "-1",
            "message": "User denied access",
            "state": carry["state"],
        }
        return back(uri, query)
    code = emulator().issue_code("fyers", app.key, user_id, uri)
    return back(uri, {"s": "ok", "code": "200", "auth_code": code, "state": carry["state"]})


@bp.post("/api/v3/validate-authcode")
def validate_authcode() -> Response:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or body.get("grant_type") != "authorization_code":
        return _error(-50, "Invalid request", 400)
    state = emulator()
    code = str(body.get("code") or "")
    # Which app is this? The code names it; the hash proves the secret.
    app = next(
        (
            a
            for a in list(state.apps.values())
            if a.broker == "fyers"
            and hmac.compare_digest(
                hashlib.sha256(f"{a.key}:{a.secret}".encode()).hexdigest(),
                str(body.get("appIdHash") or ""),
            )
        ),
        None,
    )
    if app is None:
        return _error(-371, "Invalid appIdHash", 400)
    grant = state.redeem("fyers", code, app.key)
    if isinstance(grant, str):
        return _error(-374, "Invalid auth code", 400)
    access = state.issue_token("fyers", grant.user_id, app.key)
    return json_answer(
        {
            "s": "ok",
            "code": 200,
            "message": "",
            "access_token": access,
            "refresh_token": "refresh-" + access[:8],
        }
    )


def _token() -> tuple[str, str]:
    app_id, _, access = request.headers.get("Authorization", "").partition(":")
    return app_id, access


@bp.get("/api/v3/profile")
def profile() -> Response:
    app_id, access = _token()
    found = emulator().token("fyers", access)
    if found is None or found.app_key != app_id:
        return _error(-16, "Could not authenticate the user", 401)
    account = emulator().account("fyers", found.user_id)
    assert account is not None
    return json_answer(
        {
            "s": "ok",
            "code": 200,
            "message": "",
            "data": {
                "fy_id": account.user_id,
                "name": account.name,
                "email_id": f"{account.user_id.lower()}@example.invalid",
                "pan": None,
            },
        }
    )


@bp.post("/api/v3/logout")
def logout() -> Response:
    app_id, access = _token()
    found = emulator().token("fyers", access)
    if found is None or found.app_key != app_id:
        return _error(-16, "Could not authenticate the user", 401)
    emulator().revoke_token(access)
    return json_answer({"s": "ok", "code": 200, "message": "you are successfully logged out"})
