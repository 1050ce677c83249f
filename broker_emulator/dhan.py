"""DhanHQ v2: the consent flow on ``auth.dhan.co`` and ``/v2/profile`` on ``api.dhan.co``.

Two blueprints, because Dhan has two base URLs.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone

from flask import Blueprint, request
from werkzeug.wrappers import Response

from .pages import back, emulator, html, install_faults, json_answer, login_page, page
from .state import App

NAME = "Dhan"
IST = timezone(timedelta(hours=5, minutes=30))
#: A consent's access token lasts 24 hours.
TOKEN_LIFETIME = 86400.0

auth_bp = Blueprint("dhan_auth", __name__, url_prefix="/dhan-auth")
api_bp = Blueprint("dhan_api", __name__, url_prefix="/dhan-api")
install_faults(auth_bp, "dhan")
install_faults(api_bp, "dhan")


def _error(code: str, message: str, status: int) -> Response:
    return json_answer(
        {"errorType": "Invalid_Authentication", "errorCode": code, "errorMessage": message},
        status,
    )


def _app() -> App | None:
    app = emulator().app("dhan", request.headers.get("app_id", ""))
    if app is None or app.secret != request.headers.get("app_secret"):
        return None
    return app


def _ist(at: float) -> datetime:
    return datetime.fromtimestamp(at, IST).replace(tzinfo=None)


@auth_bp.post("/app/generate-consent")
def generate_consent() -> Response:
    app = _app()
    if app is None:
        return _error("DH-901", "Invalid app_id or app_secret", 401)
    client_id = request.args.get("client_id", "")
    if not client_id:
        return _error("DH-905", "client_id is required", 400)
    consent = secrets.token_hex(12)
    emulator().consents[consent] = (app.key, client_id)
    return json_answer(
        {"consentAppId": consent, "consentAppStatus": "GENERATED", "status": "success"}
    )


@auth_bp.route("/login/consentApp-login", methods=["GET", "POST"])
@page
def consent_login() -> Response:
    state = emulator()
    consent = request.values.get("consentAppId", "")
    found = state.consents.get(consent)
    app = state.app("dhan", found[0]) if found else None
    if app is None:
        return html(NAME, "Invalid consent", "This consent is unknown or was used.", 400)
    carry = {"consentAppId": consent}
    outcome = login_page("dhan", NAME, "Login to Dhan", carry)
    if isinstance(outcome, Response):
        return outcome
    user_id, decision = outcome
    state.consents.pop(consent, None)
    if decision == "deny":
        return back(app.redirect_url, {"error": "consent_denied"})
    token_id = state.issue_code("dhan", app.key, user_id)
    return back(app.redirect_url, {"tokenId": token_id})


@auth_bp.get("/app/consumeApp-consent")
def consume_consent() -> Response:
    app = _app()
    if app is None:
        return _error("DH-901", "Invalid app_id or app_secret", 401)
    state = emulator()
    grant = state.redeem("dhan", request.args.get("tokenId", ""), app.key)
    if isinstance(grant, str):
        return _error("DH-905", "Invalid or expired tokenId", 400)
    account = state.account("dhan", grant.user_id)
    assert account is not None
    access = state.issue_token("dhan", account.user_id, app.key, TOKEN_LIFETIME)
    return json_answer(
        {
            "dhanClientId": account.user_id,
            "dhanClientName": account.name,
            "dhanClientUcc": "UCC" + account.user_id[-4:],
            "givenPowerOfAttorney": False,
            "accessToken": access,
            "expiryTime": _ist(state.now() + TOKEN_LIFETIME).isoformat(timespec="seconds"),
        }
    )


@api_bp.get("/v2/profile")
def profile() -> Response:
    state = emulator()
    found = state.token("dhan", request.headers.get("access-token", ""))
    if found is None:
        return _error(
            "DH-901", "Client ID or user generated access token is invalid or expired.", 401
        )
    return json_answer(
        {
            "dhanClientId": found.user_id,
            "tokenValidity": _ist(found.expires_at).strftime("%d/%m/%Y %H:%M"),
            "activeSegment": "Equity, Derivative",
            "ddpi": "Active",
            "mtf": "Active",
            "dataPlan": "Active",
            "dataValidity": "",
        }
    )
