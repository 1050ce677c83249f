"""``/api/openapi.json``: the OpenAPI 3.1 document of the JSON API.

Built by :func:`flask_session_guard.openapi.openapi_document` from the app's URL
map: the session API documents itself (its operations sit beside its routes in the
library); the dashboard's operations are the table :data:`OPERATIONS` below, by
endpoint, with the dashboard's schemas and error codes. A few parts are built from
the code's own tables (the brokers and their credential fields, the symbol
pattern) so that they cannot drift. ``tests/test_openapi.py`` keeps the rest true:
every ``/api`` rule is documented, every documented operation exists, and the
answers of a real session validate against the schemas; the schemathesis run
checks every answer to generated requests against the documented status codes
and schemas.

To document a new route: add its :class:`Operation` to :data:`OPERATIONS`; a new
error code goes into :data:`ERRORS` (a new status with its ``response`` name).
"""

from __future__ import annotations

import copy
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify
from flask_session_guard.openapi import (
    BODY_TOKEN,
    MESSAGE,
    ErrorStatus,
    Operation,
    json_body,
    obj,
    ref,
    success,
)
from flask_session_guard.openapi import (
    ERRORS as LIBRARY_ERRORS,
)
from flask_session_guard.openapi import (
    openapi_document as build_document,
)

from .broker import BROKER_NAMES, BROKERS, CREDENTIAL_PATTERN, MAX_FIELD
from .watchlist import MAX_SYMBOLS, SYMBOL_RE

bp = Blueprint("openapi", __name__, url_prefix="/api")

#: Every error status and code the API answers with: the library's, then the dashboard's.
ERRORS: dict[int, ErrorStatus] = {
    **LIBRARY_ERRORS,
    401: ErrorStatus(
        (*LIBRARY_ERRORS[401].codes, "broker_auth_failed"),
        LIBRARY_ERRORS[401].text.rstrip(".")
        + ", or the broker refused the sign-in (`broker_auth_failed`, with the broker's "
        "reason).",
        LIBRARY_ERRORS[401].response,
    ),
    502: ErrorStatus(
        ("broker_unavailable",),
        "The broker could not be reached, timed out or failed (`broker_unavailable`).",
        "BrokerUnavailable",
    ),
}
#: Every ``error`` code the API answers with, by HTTP status.
ERROR_CODES_BY_STATUS: dict[int, tuple[str, ...]] = {s: e.codes for s, e in ERRORS.items()}
ERROR_CODES: tuple[str, ...] = tuple(c for codes in ERROR_CODES_BY_STATUS.values() for c in codes)

#: A character ``str.strip()`` keeps: JSON Schema's ``\S`` is ECMA-262's, which counts
#: U+001C..U+001F and U+0085 as text where Python (and so the app) counts them as space.
NOT_BLANK = r"[^\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"

_SESSION = {"session": ref("schemas", "Session")}
_WATCHLIST = {"watchlist": ref("schemas", "Watchlist")}
_WATCHLIST_AFTER = success("The watchlist after the change.", _WATCHLIST)


def _credential_schema(broker: str) -> dict[str, Any]:
    # A broker may take one of several sets of fields (Dhan: consent, or a Web token).
    field = ref("schemas", "CredentialField")
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
                "credentials": ref("schemas", f"{broker.capitalize()}Credentials"),
                "csrf_token": BODY_TOKEN,
            },
        }
        for broker in BROKERS
    ]
    return {"oneOf": variants}


#: The dashboard's operations, by endpoint.
OPERATIONS: dict[str, Operation] = {
    "broker_api.connect": Operation(
        "connectBroker",
        "broker",
        "Sign in with a broker: a redirect to its login page, or the session.",
        {
            "description": "Connected (direct), or go to the broker (redirect).",
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            success(
                                "Connected.",
                                {
                                    **MESSAGE,
                                    "broker": ref("schemas", "Broker"),
                                    **_SESSION,
                                    "csrf_token": ref("schemas", "CsrfToken"),
                                    "other_sessions": {
                                        "type": "integer",
                                        "minimum": 0,
                                        "description": "Other live sessions of this "
                                        "account, which POST /api/session/revoke-others "
                                        "can end.",
                                    },
                                },
                            )["content"]["application/json"]["schema"],
                            obj(
                                {
                                    "status": {"const": "redirect"},
                                    **MESSAGE,
                                    "redirect_url": {"type": "string", "format": "uri"},
                                }
                            ),
                        ]
                    }
                }
            },
        },
        session="optional",
        unsafe=True,
        errors=(502,),
        description="Needs a pre-login CSRF token. A redirect broker (Kite, Upstox, "
        "Fyers, Dhan's consent) answers `status: redirect` and the page sends the "
        "browser to `redirect_url`; the broker sends it back to "
        "`/api/broker/{name}/callback`. A direct broker (Angel One, a Dhan access "
        "token) answers with the new session. The account is the id the broker "
        "confirms; credentials are never echoed.",
        request_body=json_body(_connect_body(), "The broker and its credentials."),
    ),
    "broker_api.callback": Operation(
        "brokerCallback",
        "broker",
        "Where the broker sends the browser back after its login page.",
        {},
        session="optional",
        description="Finishes the pending sign-in of this browser (single use, 10 "
        "minutes) and redirects to `/`. Any failure is the connect page (HTML) with "
        "the reason, never JSON.",
        path_params={"name": ref("schemas", "BrokerName")},
        responses={
            "303": {"description": "Signed in: go to the dashboard."},
            "500": ref("responses", "InternalError"),
            "503": ref("responses", "StoreUnavailable"),
            "default": {
                "description": "The connect page with the reason (400, 401 or 502).",
                "content": {"text/html": {"schema": {"type": "string"}}},
            },
        },
    ),
    "broker_api.status": Operation(
        "brokerStatus",
        "broker",
        "Which broker account this session is connected to.",
        success("Connected.", {"connected": {"const": True}, "broker": ref("schemas", "Broker")}),
        errors=(401,),
    ),
    "broker_api.disconnect": Operation(
        "disconnectBroker",
        "broker",
        "End the session; the credentials go with it.",
        success("Disconnected.", MESSAGE),
        unsafe=True,
    ),
    "watchlist_api.list_symbols": Operation(
        "listWatchlist",
        "watchlist",
        "The watchlist, in the order symbols were added.",
        success("The watchlist.", _WATCHLIST),
        errors=(401,),
    ),
    "watchlist_api.add_symbol": Operation(
        "addSymbol",
        "watchlist",
        "Add one symbol; adding one already there changes nothing.",
        _WATCHLIST_AFTER,
        unsafe=True,
        request_body=json_body(
            {
                "type": "object",
                "required": ["symbol"],
                "properties": {"symbol": ref("schemas", "Symbol"), "csrf_token": BODY_TOKEN},
            },
            "The symbol to add.",
        ),
    ),
    "watchlist_api.remove_symbol": Operation(
        "removeSymbol",
        "watchlist",
        "Remove one symbol; 404 when it is not in the watchlist.",
        _WATCHLIST_AFTER,
        unsafe=True,
        errors=(404,),
        path_params={"symbol": ref("schemas", "Symbol")},
    ),
    "openapi.openapi": Operation(
        "openapi",
        "meta",
        "This document.",
        {
            "description": "The OpenAPI 3.1 document.",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["openapi", "info", "paths"],
                        "properties": {"openapi": {"const": "3.1.0"}},
                    }
                }
            },
        },
        session="none",
    ),
}

SCHEMAS: dict[str, Any] = {
    "BrokerName": {"enum": list(BROKERS)},
    "Broker": obj(
        {
            "name": ref("schemas", "BrokerName"),
            "display_name": {"enum": list(BROKER_NAMES.values())},
            "client_id": ref("schemas", "CredentialField"),
        }
    ),
    "CredentialField": {
        "type": "string",
        "description": "Not blank; never echoed except `client_id`.",
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
        "items": ref("schemas", "Symbol"),
        "maxItems": MAX_SYMBOLS,
        "uniqueItems": True,
    },
    **{f"{b.capitalize()}Credentials": _credential_schema(b) for b in BROKERS},
}

_DESCRIPTION = (
    "Session, broker and watchlist endpoints. The session lives server-side; the "
    "browser holds only a signed id in the `{cookie}` cookie. Every unsafe request "
    "needs a CSRF token and, from a browser, a same-origin `Origin`/`Sec-Fetch-Site`. "
    'Every error is `{{"status": "error", "error": CODE, "message": TEXT}}`. A method a '
    "path does not support answers 405 `method_not_allowed` with an `Allow` header; a "
    "body over the limit answers 413 `payload_too_large`."
)
_KEY = "dashboard_openapi"


def openapi_document(app: Flask) -> dict[str, Any]:
    """A copy of ``app``'s document (callers may change it)."""
    return copy.deepcopy(_document(app))


def _document(app: Flask) -> dict[str, Any]:
    # Built on first use, once every blueprint is registered, and kept per app.
    document: dict[str, Any] | None = app.extensions.get(_KEY)
    if document is None:
        cookie = app.extensions["session_manager"].settings.cookie_name
        document = build_document(
            app,
            info={
                "title": "Indian Market Web Dashboard API",
                "version": "1.0.0",
                "description": _DESCRIPTION.format(cookie=cookie),
            },
            tags=["session", "broker", "watchlist", "meta"],
            schemas=SCHEMAS,
            operations=OPERATIONS,
            errors=ERRORS,
        )
        app.extensions[_KEY] = document
    return document


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI document of this API."""
    return jsonify(_document(current_app))
