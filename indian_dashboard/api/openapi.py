"""``/api/openapi.json``: the OpenAPI 3.1 document of the JSON API.

Written by hand, route by route. A few parts are built from the code's own tables
(the brokers and their credential fields, the symbol pattern, the error codes) so
that they cannot drift. ``tests/test_openapi.py`` keeps the rest true: every
``/api`` rule is documented, every documented operation exists, and the answers
of a real session validate against the schemas; the schemathesis run checks every
answer to generated requests against the documented status codes and schemas.
"""

from __future__ import annotations

import copy
from typing import Any

from flask import Blueprint, Response, jsonify
from flask_session_guard.api import LIST_PAGE_DEFAULT, LIST_PAGE_MAX

from .broker import BROKER_NAMES, BROKERS, CREDENTIAL_PATTERN, MAX_FIELD
from .watchlist import MAX_SYMBOLS, SYMBOL_RE

bp = Blueprint("openapi", __name__, url_prefix="/api")

JSON = "application/json"

#: Every ``error`` code the API answers with, by HTTP status.
ERROR_CODES_BY_STATUS: dict[int, tuple[str, ...]] = {
    400: ("bad_request",),
    401: (
        "session_required",
        "session_expired",
        "session_revoked",
        "session_limit",
        "broker_auth_failed",
    ),
    403: ("csrf_missing", "csrf_invalid", "origin_mismatch"),
    404: ("not_found",),
    405: ("method_not_allowed",),
    413: ("payload_too_large",),
    415: ("unsupported_media_type",),
    500: ("internal_error",),
    502: ("broker_unavailable",),
    503: ("store_unavailable",),
}
ERROR_CODES: tuple[str, ...] = tuple(c for codes in ERROR_CODES_BY_STATUS.values() for c in codes)

_ERROR_TEXT = {
    400: "The request is malformed: not JSON, not an object, or a field is wrong.",
    401: "No active session (`session_required`), the cookie's session has ended "
    "or timed out (`session_expired`), it was ended from another device "
    "(`session_revoked`), it was the oldest when the account went over "
    "`SESSION_MAX_PER_ACCOUNT` (`session_limit`), or the broker refused the sign-in "
    "(`broker_auth_failed`, with the broker's reason).",
    403: "The CSRF token is missing or invalid, or the request comes from another origin.",
    404: "Not found.",
    413: "The body is larger than `MAX_CONTENT_LENGTH` (64 KiB by default).",
    500: "The server failed to handle the request.",
    502: "The broker could not be reached, timed out or failed (`broker_unavailable`).",
    503: "The session store is unavailable; retry after `Retry-After` seconds.",
}
_ERROR_RESPONSE_NAMES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    413: "PayloadTooLarge",
    500: "InternalError",
    502: "BrokerUnavailable",
    503: "StoreUnavailable",
}

#: A character ``str.strip()`` keeps: JSON Schema's ``\S`` is ECMA-262's, which counts
#: U+001C..U+001F and U+0085 as text where Python (and so the app) counts them as space.
NOT_BLANK = r"[^\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"

#: The statuses every operation may answer besides its own.
_ALWAYS = (500, 503)
#: What an unsafe request may meet before its view runs: a body too large, a JSON
#: token that is not a string, a missing session, a refused origin or token.
_UNSAFE = (400, 401, 403, 413, *_ALWAYS)

SESSION_SECURITY: list[dict[str, list[str]]] = [{"sessionCookie": []}]
#: Works with or without a session cookie (a visitor without one gets one).
OPTIONAL_SESSION: list[dict[str, list[str]]] = [{}, {"sessionCookie": []}]


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _object(properties: dict[str, Any], *, extra: bool = False) -> dict[str, Any]:
    """An object schema whose properties are all required."""
    return {
        "type": "object",
        "required": list(properties),
        "properties": properties,
        "additionalProperties": extra,
    }


def _success_schema(properties: dict[str, Any]) -> dict[str, Any]:
    return _object({"status": {"const": "success"}, **properties})


def _success(description: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": _success_schema(properties)}}}


def _responses(ok: dict[str, Any], *errors: int) -> dict[str, Any]:
    answers: dict[str, Any] = {"200": ok}
    for status in sorted(errors):
        answers[str(status)] = _ref("responses", _ERROR_RESPONSE_NAMES[status])
    return answers


def _error_response(status: int) -> dict[str, Any]:
    schema = {
        "allOf": [
            _ref("schemas", "Error"),
            {"properties": {"error": {"enum": list(ERROR_CODES_BY_STATUS[status])}}},
        ]
    }
    response: dict[str, Any] = {
        "description": _ERROR_TEXT[status],
        "content": {JSON: {"schema": schema}},
    }
    if status == 503:
        response["headers"] = {
            "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "string"}}
        }
    return response


def _json_body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"required": True, "description": description, "content": {JSON: {"schema": schema}}}


def _credential_schema(broker: str) -> dict[str, Any]:
    field = _ref("schemas", "CredentialField")
    variants = [
        {
            "type": "object",
            "required": list(fields),
            "properties": {name: field for name in fields},
            "additionalProperties": False,
        }
        for fields in BROKERS[broker]
    ]
    schema = variants[0] if len(variants) == 1 else {"oneOf": variants}
    return {"description": f"What {BROKER_NAMES[broker]} needs.", **schema}


def _connect_body() -> dict[str, Any]:
    variants = [
        {
            "type": "object",
            "required": ["broker", "credentials"],
            "properties": {
                "broker": {"const": broker},
                "credentials": _ref("schemas", f"{broker.capitalize()}Credentials"),
                "csrf_token": _BODY_TOKEN,
            },
        }
        for broker in BROKERS
    ]
    return {"oneOf": variants}


_CSRF_DESCRIPTION = (
    "The CSRF token from `GET /api/session/csrf-token` (or from the last connect). "
    "Every unsafe request needs it; a JSON body may carry it as `csrf_token` instead "
    "(JSON content type only), but this header is checked first and the query "
    "string never counts. A fresh mask of the same secret is handed out on every "
    "answer; every mask validates."
)

#: The token in a JSON body: read (and then it must be a string) only without the header.
_BODY_TOKEN: dict[str, Any] = {
    "description": "The CSRF token, for clients that cannot set X-CSRF-Token. Ignored "
    "when the header is present; otherwise it must be a string."
}

_UNSAFE_OPERATION: dict[str, Any] = {
    "security": SESSION_SECURITY,
    "parameters": [_ref("parameters", "CsrfToken")],
}


def _build() -> dict[str, Any]:
    session_ok = {"session": _ref("schemas", "Session")}
    message = {"message": {"type": "string", "minLength": 1}}
    paths: dict[str, Any] = {
        "/api/session/info": {
            "get": {
                "operationId": "sessionInfo",
                "tags": ["session"],
                "summary": "The session's status; passive (never counts as activity).",
                "security": OPTIONAL_SESSION,
                "responses": _responses(
                    _success("The session (`is_active` is false before connecting).", session_ok),
                    401,
                    *_ALWAYS,
                ),
            }
        },
        "/api/session/csrf-token": {
            "get": {
                "operationId": "csrfToken",
                "tags": ["session"],
                "summary": "A CSRF token, masked afresh; a visitor without a session gets a "
                "pre-login one (and its cookie).",
                "security": OPTIONAL_SESSION,
                "responses": _responses(
                    _success("A token.", {"csrf_token": _ref("schemas", "CsrfToken")}),
                    *_ALWAYS,
                ),
            }
        },
        "/api/session/extend": {
            "post": {
                **_UNSAFE_OPERATION,
                "operationId": "extendSession",
                "tags": ["session"],
                "summary": "Reset the idle timer.",
                "description": "`extended` is false once the absolute lifetime binds.",
                "responses": _responses(
                    _success(
                        "Extended, or already at the absolute lifetime.",
                        {**message, "extended": {"type": "boolean"}, **session_ok},
                    ),
                    *_UNSAFE,
                ),
            }
        },
        "/api/session/clear": {
            "post": {
                **_UNSAFE_OPERATION,
                "operationId": "clearSession",
                "tags": ["session"],
                "summary": "Log out: the record is deleted, the cookie expired, and "
                "`Clear-Site-Data` sent.",
                "responses": _responses(_success("Logged out.", message), *_UNSAFE),
            }
        },
        "/api/session/validate-csrf": {
            "post": {
                "operationId": "validateCsrf",
                "tags": ["session"],
                "summary": "Whether a token is valid for this session; changes nothing, so it "
                "needs no token itself.",
                "security": OPTIONAL_SESSION,
                "requestBody": _json_body(
                    {
                        "type": "object",
                        "required": ["csrf_token"],
                        "properties": {"csrf_token": {"type": "string"}},
                    },
                    "The token to check.",
                ),
                "responses": _responses(
                    _success("The verdict.", {"valid": {"type": "boolean"}}), 400, 413, *_ALWAYS
                ),
            }
        },
        "/api/session/list": {
            "get": {
                "operationId": "listSessions",
                "tags": ["session"],
                "summary": "The live sessions of this account, newest first, one page at a "
                "time; `current` marks this one.",
                "security": SESSION_SECURITY,
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "description": "Sessions per page.",
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": LIST_PAGE_MAX,
                            "default": LIST_PAGE_DEFAULT,
                        },
                    },
                    {
                        "name": "offset",
                        "in": "query",
                        "required": False,
                        "description": "How many sessions to skip.",
                        "schema": {
                            "type": "integer",
                            "minimum": 0,
                            "maximum": 999999999,
                            "default": 0,
                        },
                    },
                ],
                "responses": _responses(
                    _success(
                        "One page of the account's sessions.",
                        {
                            "sessions": {
                                "type": "array",
                                "items": _ref("schemas", "SessionSummary"),
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
                    400,
                    401,
                    *_ALWAYS,
                ),
            }
        },
        "/api/session/revoke-others": {
            "post": {
                **_UNSAFE_OPERATION,
                "operationId": "revokeOtherSessions",
                "tags": ["session"],
                "summary": "End every other session of this account (sign out everywhere else).",
                "responses": _responses(
                    _success(
                        "How many were ended.",
                        {**message, "revoked": {"type": "integer", "minimum": 0}},
                    ),
                    *_UNSAFE,
                ),
            }
        },
        "/api/session/{public_id}": {
            "delete": {
                **_UNSAFE_OPERATION,
                "operationId": "revokeSession",
                "tags": ["session"],
                "summary": "End one other session of this account by its public id; 404 for "
                "this session, another account's or one not live.",
                "parameters": [
                    {
                        "name": "public_id",
                        "in": "path",
                        "required": True,
                        "schema": _ref("schemas", "PublicId"),
                    },
                    _ref("parameters", "CsrfToken"),
                ],
                "responses": _responses(
                    _success("Ended.", {**message, "revoked": {"const": 1}}),
                    404,
                    *_UNSAFE,
                ),
            }
        },
        "/api/broker/connect": {
            "post": {
                "operationId": "connectBroker",
                "tags": ["broker"],
                "summary": "Sign in with a broker: a redirect to its login page, or the session.",
                "description": "Needs a pre-login CSRF token. A redirect broker (Kite, Upstox, "
                "Fyers, Dhan's consent) answers `status: redirect` and the page sends the "
                "browser to `redirect_url`; the broker sends it back to "
                "`/api/broker/{name}/callback`. A direct broker (Angel One, a Dhan access "
                "token) answers with the new session. The account is the id the broker "
                "confirms; credentials are never echoed.",
                "security": OPTIONAL_SESSION,
                "parameters": [_ref("parameters", "CsrfToken")],
                "requestBody": _json_body(_connect_body(), "The broker and its credentials."),
                "responses": {
                    **_responses(
                        {
                            "description": "Connected (direct), or go to the broker (redirect).",
                            "content": {
                                JSON: {
                                    "schema": {
                                        "oneOf": [
                                            _success_schema(
                                                {
                                                    **message,
                                                    "broker": _ref("schemas", "Broker"),
                                                    **session_ok,
                                                    "csrf_token": _ref("schemas", "CsrfToken"),
                                                    "other_sessions": {
                                                        "type": "integer",
                                                        "minimum": 0,
                                                        "description": "Other live "
                                                        "sessions of this account, which "
                                                        "POST /api/session/revoke-others "
                                                        "can end.",
                                                    },
                                                }
                                            ),
                                            _object(
                                                {
                                                    "status": {"const": "redirect"},
                                                    **message,
                                                    "redirect_url": {
                                                        "type": "string",
                                                        "format": "uri",
                                                    },
                                                }
                                            ),
                                        ]
                                    }
                                }
                            },
                        },
                        502,
                        *_UNSAFE,
                    ),
                },
            }
        },
        "/api/broker/{name}/callback": {
            "get": {
                "operationId": "brokerCallback",
                "tags": ["broker"],
                "summary": "Where the broker sends the browser back after its login page.",
                "description": "Finishes the pending sign-in of this browser (single use, 10 "
                "minutes) and redirects to `/`. Any failure is the connect page (HTML) with "
                "the reason, never JSON.",
                "security": OPTIONAL_SESSION,
                "parameters": [
                    {
                        "name": "name",
                        "in": "path",
                        "required": True,
                        "schema": _ref("schemas", "BrokerName"),
                    },
                ],
                "responses": {
                    "303": {"description": "Signed in: go to the dashboard."},
                    "500": _ref("responses", "InternalError"),
                    "503": _ref("responses", "StoreUnavailable"),
                    "default": {
                        "description": "The connect page with the reason (400, 401 or 502).",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    },
                },
            }
        },
        "/api/broker/status": {
            "get": {
                "operationId": "brokerStatus",
                "tags": ["broker"],
                "summary": "Which broker account this session is connected to.",
                "security": SESSION_SECURITY,
                "responses": _responses(
                    _success(
                        "Connected.",
                        {"connected": {"const": True}, "broker": _ref("schemas", "Broker")},
                    ),
                    401,
                    *_ALWAYS,
                ),
            }
        },
        "/api/broker/disconnect": {
            "post": {
                **_UNSAFE_OPERATION,
                "operationId": "disconnectBroker",
                "tags": ["broker"],
                "summary": "End the session; the credentials go with it.",
                "responses": _responses(_success("Disconnected.", message), *_UNSAFE),
            }
        },
        "/api/watchlist": {
            "get": {
                "operationId": "listWatchlist",
                "tags": ["watchlist"],
                "summary": "The watchlist, in the order symbols were added.",
                "security": SESSION_SECURITY,
                "responses": _responses(
                    _success("The watchlist.", {"watchlist": _ref("schemas", "Watchlist")}),
                    401,
                    *_ALWAYS,
                ),
            },
            "post": {
                **_UNSAFE_OPERATION,
                "operationId": "addSymbol",
                "tags": ["watchlist"],
                "summary": "Add one symbol; adding one already there changes nothing.",
                "requestBody": _json_body(
                    {
                        "type": "object",
                        "required": ["symbol"],
                        "properties": {
                            "symbol": _ref("schemas", "Symbol"),
                            "csrf_token": _BODY_TOKEN,
                        },
                    },
                    "The symbol to add.",
                ),
                "responses": _responses(
                    _success(
                        "The watchlist after the change.",
                        {"watchlist": _ref("schemas", "Watchlist")},
                    ),
                    *_UNSAFE,
                ),
            },
        },
        "/api/watchlist/{symbol}": {
            "delete": {
                **_UNSAFE_OPERATION,
                "operationId": "removeSymbol",
                "tags": ["watchlist"],
                "summary": "Remove one symbol; 404 when it is not in the watchlist.",
                "parameters": [
                    {
                        "name": "symbol",
                        "in": "path",
                        "required": True,
                        "schema": _ref("schemas", "Symbol"),
                    },
                    _ref("parameters", "CsrfToken"),
                ],
                "responses": _responses(
                    _success(
                        "The watchlist after the change.",
                        {"watchlist": _ref("schemas", "Watchlist")},
                    ),
                    404,
                    *_UNSAFE,
                ),
            }
        },
        "/api/openapi.json": {
            "get": {
                "operationId": "openapi",
                "tags": ["meta"],
                "summary": "This document.",
                "responses": _responses(
                    {
                        "description": "The OpenAPI 3.1 document.",
                        "content": {
                            JSON: {
                                "schema": {
                                    "type": "object",
                                    "required": ["openapi", "info", "paths"],
                                    "properties": {"openapi": {"const": "3.1.0"}},
                                }
                            }
                        },
                    },
                    500,
                ),
            }
        },
    }

    schemas: dict[str, Any] = {
        "Error": {
            "description": "Every error under /api.",
            **_object(
                {
                    "status": {"const": "error"},
                    "error": {"enum": list(ERROR_CODES)},
                    "message": {"type": "string", "minLength": 1},
                }
            ),
        },
        "PublicId": {
            "type": "string",
            "description": "A session's public id (a hash of its secret id).",
            "pattern": "^[A-Za-z0-9_-]{22}$",
        },
        "SessionSummary": _object(
            {
                "session_id": _ref("schemas", "PublicId"),
                "created_at": {"type": "string", "format": "date-time"},
                "last_activity": {"type": "string", "format": "date-time"},
                "device": {"type": "string", "description": 'E.g. "Chrome on Linux".'},
                "ip": {"type": "string"},
                "current": {"type": "boolean"},
            }
        ),
        "Session": _object(
            {
                "session_id": {
                    "type": "string",
                    "description": "The public id (a hash of the secret id): it cannot be "
                    "used to present the session.",
                    "pattern": "^[A-Za-z0-9_-]{22}$",
                },
                "created_at": {"type": "string", "format": "date-time"},
                "last_activity": {"type": "string", "format": "date-time"},
                "elapsed_seconds": {"type": "integer", "minimum": 0},
                "remaining_seconds": {"type": "integer", "minimum": 0},
                "is_active": {"type": "boolean"},
                "expires_at": {"type": "string", "format": "date-time"},
                "absolute_expires_at": {"type": "string", "format": "date-time"},
                "idle_timeout_seconds": {"type": "integer", "minimum": 1},
            }
        ),
        "CsrfToken": {
            "type": "string",
            "description": "A masked token: 64 bytes, URL-safe base64 without padding.",
            "pattern": "^[A-Za-z0-9_-]{86}$",
        },
        "BrokerName": {"enum": list(BROKERS)},
        "Broker": _object(
            {
                "name": _ref("schemas", "BrokerName"),
                "display_name": {"enum": list(BROKER_NAMES.values())},
                "client_id": _ref("schemas", "CredentialField"),
            }
        ),
        "CredentialField": {
            "type": "string",
            "description": "Printable ASCII, not blank (brokers' keys, ids, PINs and tokens "
            "are); never echoed except `client_id`.",
            "minLength": 1,
            "maxLength": MAX_FIELD,
            "pattern": CREDENTIAL_PATTERN,
        },
        "Symbol": {
            "type": "string",
            "description": "An NSE symbol, e.g. RELIANCE.",
            "pattern": f"^{SYMBOL_RE.pattern}$",
        },
        "Watchlist": {
            "type": "array",
            "items": _ref("schemas", "Symbol"),
            "maxItems": MAX_SYMBOLS,
            "uniqueItems": True,
        },
        **{f"{b.capitalize()}Credentials": _credential_schema(b) for b in BROKERS},
    }

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Indian Market Web Dashboard API",
            "version": "1.0.0",
            "description": (
                "Session, broker and watchlist endpoints. The session lives server-side; "
                "the browser holds only a signed id in the `session` cookie (`__Host-session` "
                "when `SESSION_COOKIE_SECURE` is on). Every unsafe request needs a CSRF token "
                "and, from a browser, a same-origin `Origin`/`Sec-Fetch-Site`. Every error is "
                '`{"status": "error", "error": CODE, "message": TEXT}`. A method a path does '
                "not support answers 405 `method_not_allowed` with an `Allow` header; a body "
                "over the limit answers 413 `payload_too_large`."
            ),
        },
        "tags": [{"name": n} for n in ("session", "broker", "watchlist", "meta")],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "sessionCookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "The signed session id set by csrf-token or connect "
                    "(HttpOnly, SameSite=Lax).",
                }
            },
            "parameters": {
                "CsrfToken": {
                    "name": "X-CSRF-Token",
                    "in": "header",
                    "required": False,
                    "description": _CSRF_DESCRIPTION,
                    # An empty header counts as no header.
                    "schema": {"type": "string", "minLength": 1},
                }
            },
            "schemas": schemas,
            "responses": {
                name: _error_response(status) for status, name in _ERROR_RESPONSE_NAMES.items()
            },
        },
    }


_DOCUMENT = _build()


def openapi_document() -> dict[str, Any]:
    """A copy of the document (callers may change it)."""
    return copy.deepcopy(_DOCUMENT)


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI document of this API."""
    return jsonify(_DOCUMENT)
