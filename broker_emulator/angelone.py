"""Angel One SmartAPI: ``loginByPassword`` (errors under HTTP 200), ``getProfile``, ``logout``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from werkzeug.wrappers import Response

from .pages import emulator, install_faults, json_answer

bp = Blueprint("angelone", __name__, url_prefix="/angelone")
install_faults(bp, "angelone")

_NEEDED_HEADERS = (
    "X-UserType",
    "X-SourceID",
    "X-ClientLocalIP",
    "X-ClientPublicIP",
    "X-MACAddress",
    "X-PrivateKey",
)


def _refused(message: str, code: str) -> Response:
    # Angel One answers a refused login with HTTP 200 and "status": false.
    return json_answer({"status": False, "message": message, "errorcode": code, "data": None})


def _bad_token() -> Response:
    # Note the other spelling of the keys for a bad token.
    return json_answer(
        {"success": False, "message": "Invalid Token", "errorCode": "AG8001", "data": ""}, 401
    )


def _ok(data: Any) -> Response:
    return json_answer({"status": True, "message": "SUCCESS", "errorcode": "", "data": data})


@bp.post("/rest/auth/angelbroking/user/v1/loginByPassword")
def login() -> Response:
    state = emulator()
    if any(not request.headers.get(h) for h in _NEEDED_HEADERS):
        return _refused("Invalid headers", "AG8003")
    if state.app("angelone", request.headers["X-PrivateKey"]) is None:
        return _refused("Invalid API Key", "AG8004")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _refused("Invalid request", "AB1018")
    account = state.account("angelone", str(body.get("clientcode") or ""))
    if account is None or account.pin != body.get("password"):
        return _refused("Invalid clientcode or password", "AB1007")
    if not state.totp_matches(account, body.get("totp")):
        return _refused("Invalid totp", "AB1050")
    key = request.headers["X-PrivateKey"]
    jwt = state.issue_token("angelone", account.user_id, key)
    return _ok(
        {
            "jwtToken": jwt,
            "refreshToken": state.issue_token("angelone-refresh", account.user_id, key),
            "feedToken": "feed-" + jwt[:10],
        }
    )


def _token() -> tuple[str, Any]:
    value = request.headers.get("Authorization", "")
    jwt = value[len("Bearer ") :] if value.startswith("Bearer ") else ""
    found = emulator().token("angelone", jwt)
    if found is not None and found.app_key != request.headers.get("X-PrivateKey"):
        found = None
    return jwt, found


@bp.get("/rest/secure/angelbroking/user/v1/getProfile")
def profile() -> Response:
    _, found = _token()
    if found is None:
        return _bad_token()
    account = emulator().account("angelone", found.user_id)
    assert account is not None
    return _ok(
        {
            "clientcode": account.user_id,
            "name": account.name,
            "email": "",
            "mobileno": "",
            "exchanges": ["NSE", "BSE"],
            "products": ["DELIVERY", "INTRADAY"],
            "lastlogintime": "",
            "brokerid": "",
        }
    )


@bp.post("/rest/secure/angelbroking/user/v1/logout")
def logout() -> Response:
    jwt, found = _token()
    body = request.get_json(silent=True)
    if found is None:
        return _bad_token()
    if not isinstance(body, dict) or body.get("clientcode") != found.user_id:
        return _refused("Invalid clientcode", "AB1007")
    emulator().revoke_token(jwt)
    return _ok("")
