"""``/api/session``: the guide's five endpoints.

``info`` and ``csrf-token`` are passive: reading the session's status never
extends it, or the browser's polling would keep an idle session alive forever.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from ..errors import BadRequest, NotFound, SessionExpired, SessionRequired, SessionRevoked
from ..session_manager import (
    csrf_exempt,
    get_session_manager,
    passive,
    require_csrf,
    require_session,
)
from . import json_object

bp = Blueprint("session_api", __name__, url_prefix="/api/session")


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/info")
@passive
def info() -> Response:
    """The session's status; 401 without one. Never counts as activity."""
    manager = get_session_manager()
    state = manager.session_state()
    if state == "expired":
        raise SessionExpired()
    if state == "revoked":
        raise SessionRevoked()
    details = manager.get_session_info()
    if details is None:
        raise SessionRequired()
    return jsonify(status="success", session=details)


@bp.get("/csrf-token")
@passive
def csrf_token() -> Response:
    """A CSRF token; a visitor without a session gets a pre-login one."""
    return jsonify(status="success", csrf_token=get_session_manager().get_csrf_token())


@bp.post("/extend")
@require_session
@require_csrf
def extend() -> Response:
    """Reset the idle timer; ``extended`` is false once the absolute lifetime binds."""
    manager = get_session_manager()
    extended = manager.extend_session()
    return jsonify(
        status="success",
        message="Session extended" if extended else "Session is at its absolute lifetime",
        extended=extended,
        session=manager.get_session_info(),
    )


@bp.post("/clear")
@require_session
@require_csrf
def clear() -> Response:
    """Log out: the record is deleted and the cookie expired."""
    get_session_manager().clear_session()
    return jsonify(status="success", message="Session cleared")


@bp.post("/validate-csrf")
@csrf_exempt  # it checks the token in its body and changes nothing
def validate_csrf() -> Response:
    """Whether the ``csrf_token`` in the JSON body is valid for this session."""
    body = json_object()
    token = body.get("csrf_token")
    if token is None:
        raise BadRequest("Send the token to check as csrf_token.")
    if not isinstance(token, str):
        raise BadRequest("csrf_token must be a string.")
    return jsonify(status="success", valid=get_session_manager().validate_csrf_token(token))


@bp.get("/list")
@require_session
def list_sessions() -> Response:
    """Every live session of this account, marking the current one."""
    return jsonify(status="success", sessions=get_session_manager().list_sessions())


@bp.post("/revoke-others")
@require_session
@require_csrf
def revoke_others() -> Response:
    """End every other session of this account."""
    count = get_session_manager().revoke_other_sessions()
    return jsonify(status="success", message=f"Ended {count} other session(s)", revoked=count)


@bp.delete("/<public_id:public_id>")
@require_session
@require_csrf
def revoke(public_id: str) -> Response:
    """End one other session of this account by its public id."""
    if not get_session_manager().revoke_session(public_id):
        raise NotFound("No other live session of this account has that id.")
    return jsonify(status="success", message="Session ended", revoked=1)
