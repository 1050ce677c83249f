"""Zerodha Kite Connect v3: ``/connect/login``, ``/session/token``, ``/user/profile``."""

from __future__ import annotations

import hashlib
import hmac

from flask import Blueprint, request
from werkzeug.wrappers import Response

from .pages import back, emulator, html, install_faults, json_answer, login_page, page

NAME = "Zerodha Kite"
bp = Blueprint("kite", __name__, url_prefix="/kite")
install_faults(bp, "kite")


def _error(message: str, kind: str = "TokenException", status: int = 403) -> Response:
    return json_answer({"status": "error", "message": message, "error_type": kind}, status)


@bp.route("/connect/login", methods=["GET", "POST"])
@page
def login() -> Response:
    values = request.values
    app = emulator().app("kite", values.get("api_key", ""))
    if app is None or values.get("v") != "3":
        return html(NAME, "Invalid request", "Invalid `api_key` or version.", 400)
    carry = {k: values.get(k, "") for k in ("v", "api_key", "redirect_params")}
    outcome = login_page("kite", NAME, "Login to Kite", carry)
    if isinstance(outcome, Response):
        return outcome
    user_id, decision = outcome
    base = {"action": "login", "type": "login"}
    # Kite echoes the app's redirect_params after its own query.
    if decision == "deny":
        return back(app.redirect_url, {**base, "status": "cancelled"}, carry["redirect_params"])
    code = emulator().issue_code("kite", app.key, user_id)
    query = {**base, "status": "success", "request_token": code}
    return back(app.redirect_url, query, carry["redirect_params"])


@bp.post("/session/token")
def session_token() -> Response:
    if request.headers.get("X-Kite-Version") != "3":
        return _error("Missing or invalid `X-Kite-Version` header.", "InputException", 400)
    form = request.form
    state = emulator()
    app = state.app("kite", form.get("api_key", ""))
    if app is None:
        return _error("Invalid `api_key`.")
    token = form.get("request_token", "")
    expected = hashlib.sha256((app.key + token + app.secret).encode()).hexdigest()
    if not hmac.compare_digest(expected, form.get("checksum", "")):
        return _error("Invalid `checksum`.")
    grant = state.redeem("kite", token, app.key)
    if isinstance(grant, str):
        return _error("Token is invalid or has expired.")
    account = state.account("kite", grant.user_id)
    assert account is not None
    access = state.issue_token("kite", account.user_id, app.key)
    return json_answer(
        {
            "status": "success",
            "data": {
                "user_type": "individual",
                "email": f"{account.user_id.lower()}@example.invalid",
                "user_name": account.name,
                "user_shortname": account.name.split()[0],
                "broker": "ZERODHA",
                "exchanges": ["NSE", "BSE"],
                "products": ["CNC", "MIS"],
                "order_types": ["MARKET", "LIMIT"],
                "avatar_url": None,
                "user_id": account.user_id,
                "api_key": app.key,
                "access_token": access,
                "public_token": "public-" + access[:8],
                "refresh_token": "",
                "login_time": state.now_datetime().strftime("%Y-%m-%d %H:%M:%S"),
                "meta": {"demat_consent": "physical"},
            },
        }
    )


def _token_from_header() -> str | None:
    value = request.headers.get("Authorization", "")
    if not value.startswith("token ") or ":" not in value:
        return None
    api_key, _, access = value[len("token ") :].partition(":")
    found = emulator().token("kite", access)
    return access if found is not None and found.app_key == api_key else None


@bp.get("/user/profile")
def profile() -> Response:
    access = _token_from_header()
    found = emulator().token("kite", access or "")
    if found is None:
        return _error("Incorrect `api_key` or `access_token`.")
    account = emulator().account("kite", found.user_id)
    assert account is not None
    return json_answer(
        {
            "status": "success",
            "data": {"user_id": account.user_id, "user_name": account.name, "broker": "ZERODHA"},
        }
    )


@bp.delete("/session/token")
def logout() -> Response:
    state = emulator()
    access = request.args.get("access_token", "")
    found = state.token("kite", access)
    if found is None or found.app_key != request.args.get("api_key"):
        return _error("Incorrect `api_key` or `access_token`.")
    state.revoke_token(access)
    return json_answer({"status": "success", "data": True})
