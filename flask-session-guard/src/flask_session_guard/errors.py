"""One error envelope for JSON clients, a small page for browsers.

A JSON or API request hears ``{"status": "error", "error": CODE, "message": TEXT}``.
Errors raised on purpose subclass :class:`ApiError`, a Werkzeug ``HTTPException``
that also subclasses Werkzeug's class for its status (``Unauthorized``,
``Forbidden``...), so ``app.errorhandler(403)`` catches ``CsrfMissing`` as it
would ``abort(403)``. Werkzeug's stock exceptions (404, 405, 413, malformed JSON)
answer the same envelope to JSON clients once :func:`register_error_handlers` ran
(``init_app`` calls it).

Which answer a request gets (:func:`preferred_format`): a path under one of
``SESSION_JSON_PREFIXES`` (and the session API's prefix) or a JSON body always
gets JSON; otherwise the ``Accept`` header decides, and a tie (``*/*``, or no
header) gives our own refusals the envelope and Werkzeug's errors their usual page.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from flask import Flask, Response, current_app, has_request_context, jsonify, request
from markupsafe import escape
from werkzeug import exceptions as wz
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.http import HTTP_STATUS_CODES

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
        status = self.code or 400
        message = self.description or ""
        if has_request_context() and preferred_format() == "html":
            response = error_page(status, message)
        else:
            response = envelope(self.error, message, status)
        response.headers.update(self._extra_headers)
        return response


class BadRequest(ApiError, wz.BadRequest):
    code, error, description = 400, "bad_request", "The request is malformed."


class SessionRequired(ApiError, wz.Unauthorized):
    code, error, description = 401, "session_required", "An active session is required."


class SessionExpired(ApiError, wz.Unauthorized):
    code, error = 401, "session_expired"
    description = "The session has expired or was ended; connect again."


class SessionRevoked(ApiError, wz.Unauthorized):
    code, error = 401, "session_revoked"
    description = "This session was ended from another device; connect again."


class SessionLimit(SessionRevoked):
    """The session was ended to keep its account within ``SESSION_MAX_PER_ACCOUNT``."""

    code, error = 401, "session_limit"
    description = (
        "This session was ended because the account signed in on more devices than "
        "allowed; connect again (the oldest session ends)."
    )


class CsrfMissing(ApiError, wz.Forbidden):
    code, error = 403, "csrf_missing"
    description = "A CSRF token is required: send it in the X-CSRF-Token header."


class CsrfInvalid(ApiError, wz.Forbidden):
    code, error = 403, "csrf_invalid"
    description = "The CSRF token is not valid for this session."


class OriginMismatch(ApiError, wz.Forbidden):
    code, error = 403, "origin_mismatch"
    description = "Cross-origin request refused."


class NotFound(ApiError, wz.NotFound):
    code, error, description = 404, "not_found", "No such resource."


class ServiceUnavailable(ApiError, wz.ServiceUnavailable):
    code, error = 503, "store_unavailable"
    description = "The session store is unavailable; try again shortly."


def envelope(error: str, message: str, status: int) -> Response:
    """Build the error envelope response."""
    response = jsonify(status="error", error=error, message=message)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


_PAGE = (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
    "<title>{status} {name}</title></head>\n<body><h1>{name}</h1><p>{message}</p></body></html>\n"
)


def error_page(status: int, message: str) -> Response:
    """A small plain HTML page for a browser's page request: the status, its name, the text."""
    name = HTTP_STATUS_CODES.get(status, "Error")
    body = _PAGE.format(status=status, name=escape(name), message=escape(message))
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


#: Path prefixes that answer JSON whatever the ``Accept`` header (``SESSION_JSON_PREFIXES``).
DEFAULT_JSON_PREFIXES = ("/api",)
_POLICY_KEY = "session_guard_errors"


@dataclass(frozen=True)
class _ErrorPolicy:
    json_prefixes: tuple[str, ...]


def preferred_format() -> Literal["json", "html"] | None:
    """What the current request should get: ``json``, ``html``, or ``None`` for "either".

    JSON under a JSON prefix or with a JSON body; otherwise whichever of
    ``application/json`` and ``text/html`` the ``Accept`` header ranks higher.
    """
    policy: _ErrorPolicy | None = current_app.extensions.get(_POLICY_KEY)
    prefixes = policy.json_prefixes if policy is not None else DEFAULT_JSON_PREFIXES
    path = request.path
    if request.is_json or any(path == p or path.startswith(p + "/") for p in prefixes):
        return "json"
    accept = request.accept_mimetypes
    html, json = accept.quality("text/html"), accept.quality("application/json")
    if html == json:
        return None
    return "html" if html > json else "json"


def _wants_json() -> bool:
    return preferred_format() == "json"


def _error_code(exc: HTTPException) -> str:
    code = exc.code or 500
    if code in _CODES_BY_STATUS:
        return _CODES_BY_STATUS[code]
    return (exc.name or "error").lower().replace(" ", "_").replace("'", "")


def register_error_handlers(
    app: Flask, *, retry_after: int, json_prefixes: Iterable[str] = DEFAULT_JSON_PREFIXES
) -> None:
    """Answer HTTP errors, store outages and crashes as the envelope to JSON clients.

    A store outage (:class:`StoreUnavailable` anywhere in a request, views included)
    becomes a 503 :class:`ServiceUnavailable` with ``Retry-After: retry_after``,
    dispatched again through Flask's handlers so ``app.errorhandler(503)`` sees it.
    ``json_prefixes`` are the paths that always answer JSON. ``init_app`` calls this;
    an app's own ``errorhandler`` registrations for a status or class win over these.
    """
    prefixes = tuple(p.rstrip("/") for p in json_prefixes if p)
    app.extensions[_POLICY_KEY] = _ErrorPolicy(prefixes)

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
        unavailable = ServiceUnavailable(headers={"Retry-After": str(retry_after)})
        return current_app.handle_http_exception(unavailable)

    @app.errorhandler(InternalServerError)
    def _crash(exc: InternalServerError) -> Any:
        if not _wants_json():
            return exc
        return envelope("internal_error", "The server failed to handle the request.", 500)
