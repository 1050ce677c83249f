"""Upstox API v2: the authorization dialog, the token exchange, profile and logout."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, redirect, request
from werkzeug.wrappers import Response

from .pages import back, emulator, install_faults, json_answer, login_page, page

NAME = "Upstox"
bp = Blueprint("upstox", __name__, url_prefix="/upstox")
install_faults(bp, "upstox")


def _error(code: str, message: str, status: int) -> Response:
    return json_answer(
        {
            "status": "error",
            "errors": [
                {
                    "errorCode": code,
                    "message": message,
                    "propertyPath": None,
                    "invalidValue": None,
                    "error_code": code,
                },
            ],
        },
        status,
    )


@bp.get("/v2/login/authorization/dialog")
@page
def dialog() -> Response:
    args = request.args
    app = emulator().app("upstox", args.get("client_id", ""))
    uri = args.get("redirect_uri", "")
    if (
        app is None
        or args.get("response_type") != "code"
        or not uri
        or (app.redirect_url and app.redirect_url != uri)
    ):
        return _error(
            "UDAPI100068",
            "Check your 'client_id' and 'redirect_uri'; one or both are incorrect.",
            400,
        )
    # Like the real dialog, send the browser on to the login page.
    return redirect(f"/upstox/login?{urlencode(args)}", code=302)


@bp.route("/login", methods=["GET", "POST"])
@page
def login() -> Response:
    values = request.values
    carry = {k: values.get(k, "") for k in ("client_id", "redirect_uri", "state", "response_type")}
    app = emulator().app("upstox", carry["client_id"])
    if app is None:
        return _error("UDAPI100068", "Check your 'client_id' and 'redirect_uri'.", 400)
    outcome = login_page("upstox", NAME, "Login to Upstox", carry)
    if isinstance(outcome, Response):
        return outcome
    user_id, decision = outcome
    if decision == "deny":
        return back(carry["redirect_uri"], {"error": "access_denied", "state": carry["state"]})
    code = emulator().issue_code("upstox", app.key, user_id, carry["redirect_uri"])
    return back(carry["redirect_uri"], {"code": code, "state": carry["state"]})


@bp.post("/v2/login/authorization/token")
def token() -> Response:
    form = request.form
    state = emulator()
    app = state.app("upstox", form.get("client_id", ""))
    if app is None or app.secret != form.get("client_secret"):
        return _error("UDAPI100016", "Invalid Credentials", 401)
    if form.get("grant_type") != "authorization_code":
        return _error("UDAPI100069", "Invalid grant_type", 400)
    grant = state.redeem("upstox", form.get("code", ""), app.key, form.get("redirect_uri", ""))
    if isinstance(grant, str):
        return _error("UDAPI100057", "Invalid Auth code", 400)
    account = state.account("upstox", grant.user_id)
    assert account is not None
    access = state.issue_token("upstox", account.user_id, app.key)
    return json_answer(
        {
            "email": f"{account.user_id.lower()}@example.invalid",
            "exchanges": ["NSE", "BSE"],
            "products": ["D", "I"],
            "broker": "UPSTOX",
            "user_id": account.user_id,
            "user_name": account.name,
            "order_types": ["MARKET", "LIMIT"],
            "user_type": "individual",
            "poa": False,
            "is_active": True,
            "access_token": access,
            "extended_token": None,
        }
    )


def _bearer() -> str:
    value = request.headers.get("Authorization", "")
    return value[len("Bearer ") :] if value.startswith("Bearer ") else ""


@bp.get("/v2/user/profile")
def profile() -> Response:
    found = emulator().token("upstox", _bearer())
    if found is None:
        return _error("UDAPI100050", "Invalid token used to access API", 401)
    account = emulator().account("upstox", found.user_id)
    assert account is not None
    return json_answer(
        {"status": "success", "data": {"user_id": account.user_id, "user_name": account.name}}
    )


@bp.delete("/v2/logout")
def logout() -> Response:
    access = _bearer()
    if emulator().token("upstox", access) is None:
        return _error("UDAPI100050", "Invalid token used to access API", 401)
    emulator().revoke_token(access)
    return json_answer({"status": "success", "data": True})
