"""``/api/broker``: connect a broker account (which starts the session), status, disconnect.

Talking to the brokers' own APIs is out of scope: connect checks that the
credentials a broker needs are present and keeps them in the session. No answer
and no log line ever carries a credential.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from flask_session_guard import (
    BadRequest,
    get_session_manager,
    json_object,
    require_csrf,
    require_session,
)

bp = Blueprint("broker_api", __name__, url_prefix="/api/broker")

#: Credential fields each broker needs; every one is a non-empty string.
BROKERS: dict[str, tuple[str, ...]] = {
    "kite": ("client_id", "api_key", "api_secret"),
    "upstox": ("client_id", "api_key", "api_secret"),
    "angelone": ("client_id", "api_key", "pin", "totp_secret"),
    "fyers": ("client_id", "app_id", "secret_key"),
    "dhan": ("client_id", "access_token"),
}
#: Display names for the pages.
BROKER_NAMES = {
    "kite": "Zerodha Kite",
    "upstox": "Upstox",
    "angelone": "Angel One",
    "fyers": "Fyers",
    "dhan": "Dhan",
}
#: The longest credential value accepted, in characters.
MAX_FIELD = 512


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _credentials(broker: str, raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise BadRequest("credentials must be a JSON object.")
    needed = BROKERS[broker]
    unknown = sorted(set(raw) - set(needed))
    if unknown:
        raise BadRequest(f"Unknown credential fields for {broker}: {', '.join(unknown)}.")
    missing = [name for name in needed if name not in raw]
    if missing:
        raise BadRequest(f"Missing credential fields for {broker}: {', '.join(missing)}.")
    for name in needed:
        value = raw[name]
        # Name the field, never echo its value.
        if not isinstance(value, str) or not value.strip():
            raise BadRequest(f"Credential field {name} must be a non-empty string.")
        if len(value) > MAX_FIELD:
            raise BadRequest(f"Credential field {name} is longer than {MAX_FIELD} characters.")
    return {name: raw[name] for name in needed}


@bp.post("/connect")
@require_csrf
def connect() -> Response:
    """Start a fresh session for a broker account and keep its credentials in it."""
    body = json_object()
    broker = body.get("broker")
    if not isinstance(broker, str) or broker not in BROKERS:
        raise BadRequest(f"broker must be one of: {', '.join(BROKERS)}.")
    credentials = _credentials(broker, body.get("credentials"))
    manager = get_session_manager()
    account = f"{broker}:{credentials['client_id']}"
    info = manager.create_session(user_data={"broker": broker}, account=account)
    manager.store_user_data("client_id", credentials["client_id"])
    manager.store_user_data("credentials", credentials)
    # After a (re)connect with fresh credentials the page offers to end the others
    # (ASVS 3.3.3): it calls POST /api/session/revoke-others.
    # The new session is written when the answer is saved, so these are the others.
    others = len(manager.list_sessions(account))
    return jsonify(
        status="success",
        message=f"Connected to {BROKER_NAMES[broker]}",
        broker=_broker_status(),
        session=info,
        csrf_token=manager.get_csrf_token(),
        other_sessions=others,
    )


@bp.get("/status")
@require_session
def status() -> Response:
    """Which broker account this session is connected to."""
    return jsonify(status="success", connected=True, broker=_broker_status())


@bp.post("/disconnect")
@require_session
@require_csrf
def disconnect() -> Response:
    """End the session; credentials go with it."""
    get_session_manager().clear_session()
    return jsonify(status="success", message="Disconnected")


def _broker_status() -> dict[str, Any]:
    manager = get_session_manager()
    name = manager.get_user_data("broker")
    return {
        "name": name,
        "display_name": BROKER_NAMES.get(name, name),
        "client_id": manager.get_user_data("client_id"),
    }
