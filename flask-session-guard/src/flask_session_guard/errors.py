"""One error envelope for the whole API.

Every error under ``/api`` answers ``{"status": "error", "error": CODE, "message": TEXT}``.
Errors raised on purpose subclass :class:`ApiError`, itself a Werkzeug
``HTTPException``, so Flask's own error handling renders them; Werkzeug's stock
exceptions (404, 405, 413, malformed JSON) are turned into the same envelope by
:func:`register_error_handlers`.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError

from .stores.base import StoreUnavailable

log = logging.getLogger(__name__)

#: Error codes for Werkzeug's stock exceptions where its name is not what we say.
_CODES_BY_STATUS = {413: "payload_too_large"}


class ApiError(HTTPException):
    """An HTTP error that renders as the JSON envelope."""

    code = 400
    error = "bad_request"
    description = "The request could not be understood."

    def __init__(self, message: str | None = None, *, headers: dict[str, str] | None = None):
        super().__init__(message or self.description)
        self._extra_headers = headers or {}

    def get_response(self, environ: Any = None, scope: Any = None) -> Response:
        response = envelope(self.error, self.description or "", self.code or 400)
        response.headers.update(self._extra_headers)
        return response


class BadRequest(ApiError):
    code, error, description = 400, "bad_request", "The request is malformed."


class SessionRequired(ApiError):
    code, error, description = 401, "session_required", "An active session is required."


class SessionExpired(ApiError):
    code, error = 401, "session_expired"
    description = "The session has expired or was ended; connect again."


class SessionRevoked(ApiError):
    code, error = 401, "session_revoked"
    description = "This session was ended from another device; connect again."


class SessionLimit(SessionRevoked):
    """The session was ended to keep its account within ``SESSION_MAX_PER_ACCOUNT``."""

    code, error = 401, "session_limit"
    description = (
        "This session was ended because the account signed in on more devices than "
        "allowed; connect again (the oldest session ends)."
    )


class CsrfMissing(ApiError):
    code, error = 403, "csrf_missing"
    description = "A CSRF token is required: send it in the X-CSRF-Token header."


class CsrfInvalid(ApiError):
    code, error = 403, "csrf_invalid"
    description = "The CSRF token is not valid for this session."


class OriginMismatch(ApiError):
    code, error = 403, "origin_mismatch"
    description = "Cross-origin request refused."


class NotFound(ApiError):
    code, error, description = 404, "not_found", "No such resource."


class ServiceUnavailable(ApiError):
    code, error = 503, "store_unavailable"
    description = "The session store is unavailable; try again shortly."


def envelope(error: str, message: str, status: int) -> Response:
    """Build the error envelope response."""
    response = jsonify(status="error", error=error, message=message)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _wants_json() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def _error_code(exc: HTTPException) -> str:
    code = exc.code or 500
    if code in _CODES_BY_STATUS:
        return _CODES_BY_STATUS[code]
    return (exc.name or "error").lower().replace(" ", "_").replace("'", "")


def register_error_handlers(app: Flask, *, retry_after: int) -> None:
    """Render HTTP errors under /api, store outages and crashes as the envelope."""

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        if isinstance(exc, ApiError) or not _wants_json():
            return exc
        response = envelope(_error_code(exc), exc.description or exc.name, exc.code or 500)
        # Keep the Allow header a 405 carries.
        for name, value in exc.get_headers():
            if name.lower() == "allow":
                response.headers[name] = value
        return response

    @app.errorhandler(StoreUnavailable)
    def _store_unavailable(exc: StoreUnavailable) -> Any:
        # Debug only: the store logs once when it goes away and once when it is back,
        # not once per request. The reason names the failure, never a key or an id.
        log.debug("session store unavailable: %s", exc)
        state = current_app.extensions.get("session_manager")
        if state is not None:
            state.interface.auditor.store_failed(str(exc))
        return ServiceUnavailable(headers={"Retry-After": str(retry_after)})

    @app.errorhandler(InternalServerError)
    def _crash(exc: InternalServerError) -> Any:
        if not _wants_json():
            return exc
        return envelope("internal_error", "The server failed to handle the request.", 500)
