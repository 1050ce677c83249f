"""The session JSON API: the guide's five endpoints and the account's session list.

Registered by ``init_app`` under ``SESSION_API_PREFIX`` (unset: no routes), e.g.
``/api/session``. ``info`` and ``csrf-token`` are passive: reading the session's
status never extends it, or the browser's polling would keep an idle session
alive forever.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask.sansio.blueprints import BlueprintSetupState
from werkzeug.routing import BaseConverter

from .errors import BadRequest, NotFound, SessionExpired, SessionRequired
from .extension import (
    csrf_exempt,
    get_session_manager,
    passive,
    require_csrf,
    require_session,
    revoked_error,
)
from .openapi import MESSAGE, Operation, documented, json_body, ref, success

_SESSION = {"session": ref("schemas", "Session")}

#: ``GET list``: the page size when ``limit`` is not given, and the largest allowed.
LIST_PAGE_DEFAULT = 20
LIST_PAGE_MAX = 100


class PublicIdConverter(BaseConverter):
    """A session's public id in a URL: 22 URL-safe base64 characters."""

    regex = r"[A-Za-z0-9_-]{22}"


def json_object() -> dict[str, Any]:
    """The request body as a JSON object, or a 400 ``bad_request`` that says what is wrong."""
    if not request.is_json:
        raise BadRequest("Send a JSON object with Content-Type: application/json.")
    body = request.get_json(silent=True)
    if body is None and request.get_data(cache=True):
        raise BadRequest("The body is not valid JSON.")
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    return body


bp = Blueprint("session_api", __name__)


@bp.record_once
def _add_converter(state: BlueprintSetupState) -> None:
    # Before any rule of this blueprint is added: the blueprint brings its converter.
    state.app.url_map.converters.setdefault("public_id", PublicIdConverter)


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/info")
@passive
@documented(
    Operation(
        "sessionInfo",
        "session",
        "The session's status; passive (never counts as activity).",
        success("The session (`is_active` is false before login).", _SESSION),
        session="optional",
        errors=(401,),
    )
)
def info() -> Response:
    """The session's status; 401 without one. Never counts as activity."""
    manager = get_session_manager()
    state = manager.session_state()
    if state == "expired":
        raise SessionExpired()
    if state == "revoked":
        raise revoked_error()
    details = manager.get_session_info()
    if details is None:
        raise SessionRequired()
    return jsonify(status="success", session=details)


@bp.get("/csrf-token")
@passive
@documented(
    Operation(
        "csrfToken",
        "session",
        "A CSRF token, masked afresh; a visitor without a session gets a pre-login one.",
        success("A token.", {"csrf_token": ref("schemas", "CsrfToken")}),
        session="optional",
    )
)
def csrf_token() -> Response:
    """A CSRF token; a visitor without a session gets a pre-login one."""
    return jsonify(status="success", csrf_token=get_session_manager().get_csrf_token())


@bp.post("/extend")
@require_session
@require_csrf
@documented(
    Operation(
        "extendSession",
        "session",
        "Reset the idle timer.",
        success(
            "Extended, or already at the absolute lifetime.",
            {**MESSAGE, "extended": {"type": "boolean"}, **_SESSION},
        ),
        unsafe=True,
        description="`extended` is false once the absolute lifetime binds.",
    )
)
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
@documented(
    Operation(
        "clearSession",
        "session",
        "Log out: the record is deleted, the cookie expired, and `Clear-Site-Data` sent.",
        success("Logged out.", MESSAGE),
        unsafe=True,
    )
)
def clear() -> Response:
    """Log out: the record is deleted and the cookie expired."""
    get_session_manager().clear_session()
    return jsonify(status="success", message="Session cleared")


@bp.post("/validate-csrf")
@csrf_exempt  # it checks the token in its body and changes nothing
@documented(
    Operation(
        "validateCsrf",
        "session",
        "Whether a token is valid for this session; changes nothing, so it needs no token itself.",
        success("The verdict.", {"valid": {"type": "boolean"}}),
        session="optional",
        errors=(400, 413),
        request_body=json_body(
            {
                "type": "object",
                "required": ["csrf_token"],
                "properties": {"csrf_token": {"type": "string"}},
            },
            "The token to check.",
        ),
    )
)
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
@documented(
    Operation(
        "listSessions",
        "session",
        "The live sessions of this account, newest first, one page at a time; `current` "
        "marks this one.",
        success(
            "One page of the account's sessions.",
            {
                "sessions": {
                    "type": "array",
                    "items": ref("schemas", "SessionSummary"),
                    "maxItems": LIST_PAGE_MAX,
                },
                "total": {"type": "integer", "minimum": 0},
                "limit": {"type": "integer", "minimum": 1, "maximum": LIST_PAGE_MAX},
                "offset": {"type": "integer", "minimum": 0},
                "next_offset": {
                    "type": ["integer", "null"],
                    "description": "The next page's offset; null on the last page.",
                },
            },
        ),
        errors=(400, 401),
        query_params={
            "limit": (
                "Sessions per page.",
                {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": LIST_PAGE_MAX,
                    "default": LIST_PAGE_DEFAULT,
                },
            ),
            "offset": (
                "How many sessions to skip.",
                {"type": "integer", "minimum": 0, "maximum": 999999999, "default": 0},
            ),
        },
    )
)
def list_sessions() -> Response:
    """The live sessions of this account, newest first, marking the current one; paginated.

    ``limit`` (1 to 100, default 20) and ``offset`` (default 0) pick the page;
    ``total`` counts them all and ``next_offset`` is the next page's offset, or
    ``null`` on the last page.
    """
    limit = _whole_arg("limit", LIST_PAGE_DEFAULT, 1, LIST_PAGE_MAX)
    offset = _whole_arg("offset", 0, 0, None)
    page, total = get_session_manager().list_sessions_page(limit=limit, offset=offset)
    following = offset + limit
    return jsonify(
        status="success",
        sessions=page,
        total=total,
        limit=limit,
        offset=offset,
        next_offset=following if following < total else None,
    )


def _whole_arg(name: str, default: int, low: int, high: int | None) -> int:
    """Query parameter ``name`` as a whole number in ``[low, high]``; 400 otherwise."""
    raw = request.args.get(name)
    if raw is None:
        return default
    bound = f"between {low} and {high}" if high is not None else f"{low} or more"
    ok = raw.isascii() and raw.isdigit() and len(raw) <= 9
    if not ok or int(raw) < low or (high is not None and int(raw) > high):
        raise BadRequest(f"{name} must be a whole number {bound}.")
    return int(raw)


@bp.post("/revoke-others")
@require_session
@require_csrf
@documented(
    Operation(
        "revokeOtherSessions",
        "session",
        "End every other session of this account (sign out everywhere else).",
        success("How many were ended.", {**MESSAGE, "revoked": {"type": "integer", "minimum": 0}}),
        unsafe=True,
    )
)
def revoke_others() -> Response:
    """End every other session of this account."""
    count = get_session_manager().revoke_other_sessions()
    return jsonify(status="success", message=f"Ended {count} other session(s)", revoked=count)


@bp.delete("/<public_id:public_id>")
@require_session
@require_csrf
@documented(
    Operation(
        "revokeSession",
        "session",
        "End one other session of this account by its public id; 404 for this session, "
        "another account's or one not live.",
        success("Ended.", {**MESSAGE, "revoked": {"const": 1}}),
        unsafe=True,
        errors=(404,),
        path_params={"public_id": ref("schemas", "PublicId")},
    )
)
def revoke(public_id: str) -> Response:
    """End one other session of this account by its public id."""
    if not get_session_manager().revoke_session(public_id):
        raise NotFound("No other live session of this account has that id.")
    return jsonify(status="success", message="Session ended", revoked=1)
