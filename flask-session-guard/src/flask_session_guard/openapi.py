"""An OpenAPI 3.1 document built from data kept beside the routes.

Each documented view carries an :class:`Operation` (``@documented(Operation(...))``
under the route decorator, as the session API in :mod:`.api` does), or an app hands
:func:`openapi_document` a table of them by endpoint. The document walks the app's
URL map, so a path and its parameters come from the rule itself; the session
cookie is described with the name and ``SameSite`` the app configured. The error
responses, the ``Error`` schema and the session schemas are the library's; an app
adds its own schemas, error codes and operations.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from flask import Flask

JSON = "application/json"
#: Where :func:`documented` keeps a view's operation.
OPERATION_ATTR = "openapi_operation"
_IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ErrorStatus:
    """One HTTP status the API answers with an error: its codes and how it is documented.

    ``response`` names its entry under ``components/responses``; ``None`` for a
    status no operation lists (405 and 415 come from Werkzeug for any path).
    """

    codes: tuple[str, ...]
    text: str
    response: str | None = None


#: Every error status the library's refusals and Werkzeug's answers use, with its codes.
ERRORS: dict[int, ErrorStatus] = {
    400: ErrorStatus(
        ("bad_request",),
        "The request is malformed: not JSON, not an object, or a field is wrong.",
        "BadRequest",
    ),
    401: ErrorStatus(
        ("session_required", "session_expired", "session_revoked", "session_limit"),
        "No active session (`session_required`), the cookie's session has ended "
        "or timed out (`session_expired`), it was ended from another device "
        "(`session_revoked`), or it was the oldest when the account went over "
        "`SESSION_MAX_PER_ACCOUNT` (`session_limit`).",
        "Unauthorized",
    ),
    403: ErrorStatus(
        ("csrf_missing", "csrf_invalid", "origin_mismatch"),
        "The CSRF token is missing or invalid, or the request comes from another origin.",
        "Forbidden",
    ),
    404: ErrorStatus(("not_found",), "Not found.", "NotFound"),
    405: ErrorStatus(("method_not_allowed",), "The path does not support the method."),
    413: ErrorStatus(
        ("payload_too_large",),
        "The body is larger than `MAX_CONTENT_LENGTH` (64 KiB by default).",
        "PayloadTooLarge",
    ),
    415: ErrorStatus(("unsupported_media_type",), "The body's content type is not accepted."),
    500: ErrorStatus(
        ("internal_error",), "The server failed to handle the request.", "InternalError"
    ),
    503: ErrorStatus(
        ("store_unavailable",),
        "The session store is unavailable; retry after `Retry-After` seconds.",
        "StoreUnavailable",
    ),
}

#: The statuses every operation that reads the session may answer besides its own.
ALWAYS = (500, 503)
#: What an unsafe request may meet before its view runs: a body too large, a JSON
#: token that is not a string, a missing session, a refused origin or token.
UNSAFE = (400, 401, 403, 413, *ALWAYS)

SessionUse = Literal["required", "optional", "none"]
_SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "required": [{"sessionCookie": []}],
    # Works with or without a session cookie.
    "optional": [{}, {"sessionCookie": []}],
}


def ref(kind: str, name: str) -> dict[str, str]:
    """``{"$ref": "#/components/KIND/NAME"}``."""
    return {"$ref": f"#/components/{kind}/{name}"}


def obj(properties: dict[str, Any], *, extra: bool = False) -> dict[str, Any]:
    """An object schema whose properties are all required."""
    return {
        "type": "object",
        "required": list(properties),
        "properties": properties,
        "additionalProperties": extra,
    }


def success(description: str, properties: dict[str, Any]) -> dict[str, Any]:
    """A 200 answer ``{"status": "success", ...properties}``."""
    body = obj({"status": {"const": "success"}, **properties})
    return {"description": description, "content": {JSON: {"schema": body}}}


def json_body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    """A required JSON request body."""
    return {"required": True, "description": description, "content": {JSON: {"schema": schema}}}


#: A non-empty ``message`` property.
MESSAGE: dict[str, Any] = {"message": {"type": "string", "minLength": 1}}

#: The token in a JSON body: read (and then it must be a string) only without the header.
BODY_TOKEN: dict[str, Any] = {
    "description": "The CSRF token, for clients that cannot set X-CSRF-Token. Ignored "
    "when the header is present; otherwise it must be a string."
}


@dataclass(frozen=True)
class Operation:
    """What the document says about one route (one method).

    ``session``: whether the session cookie is required, optional, or not read at
    all (then only a 500 can come besides ``ok``). ``unsafe`` documents the CSRF
    header and every refusal an unsafe request may meet (:data:`UNSAFE`).
    ``errors`` adds statuses of the view's own; ``path_params`` gives the schema
    of each ``<converter:name>`` of the rule, ``query_params`` the description and
    schema of each optional query parameter. ``responses``, when given, is the
    operation's whole ``responses`` object (a route that answers a redirect or a
    page rather than ``ok`` and the error envelope).
    """

    operation_id: str
    tag: str
    summary: str
    ok: dict[str, Any]
    session: SessionUse = "required"
    unsafe: bool = False
    errors: tuple[int, ...] = ()
    description: str | None = None
    request_body: dict[str, Any] | None = None
    path_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    query_params: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    responses: dict[str, Any] | None = None

    def statuses(self) -> set[int]:
        """Every error status the operation documents."""
        found = set(self.errors)
        found.update(ALWAYS if self.session != "none" else (500,))
        if self.unsafe:
            found.update(UNSAFE)
        return found

    def render(self, errors: Mapping[int, ErrorStatus]) -> dict[str, Any]:
        """The OpenAPI operation object."""
        operation: dict[str, Any] = {
            "operationId": self.operation_id,
            "tags": [self.tag],
            "summary": self.summary,
        }
        if self.description:
            operation["description"] = self.description
        if self.session in _SECURITY:
            operation["security"] = _SECURITY[self.session]
        parameters: list[dict[str, Any]] = [
            {"name": name, "in": "path", "required": True, "schema": schema}
            for name, schema in self.path_params.items()
        ]
        parameters.extend(
            {"name": name, "in": "query", "required": False, "description": text, "schema": schema}
            for name, (text, schema) in self.query_params.items()
        )
        if self.unsafe:
            parameters.append(ref("parameters", "CsrfToken"))
        if parameters:
            operation["parameters"] = parameters
        if self.request_body is not None:
            operation["requestBody"] = self.request_body
        if self.responses is not None:
            operation["responses"] = self.responses
            return operation
        responses: dict[str, Any] = {"200": self.ok}
        for status in sorted(self.statuses()):
            name = errors[status].response
            if name is None:
                raise ValueError(f"{self.operation_id}: status {status} has no response entry")
            responses[str(status)] = ref("responses", name)
        operation["responses"] = responses
        return operation


def documented(operation: Operation) -> Callable[[F], F]:
    """Attach ``operation`` to a view (put it under the route decorator)."""

    def attach(view: F) -> F:
        setattr(view, OPERATION_ATTR, operation)
        return view

    return attach


def openapi_path(rule: str) -> str:
    """A Werkzeug rule as an OpenAPI path: ``/a/<path:b>`` becomes ``/a/{b}``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


#: The schemas of the session API's answers.
SESSION_SCHEMAS: dict[str, Any] = {
    "PublicId": {
        "type": "string",
        "description": "A session's public id (a hash of its secret id).",
        "pattern": "^[A-Za-z0-9_-]{22}$",
    },
    "SessionSummary": obj(
        {
            "session_id": ref("schemas", "PublicId"),
            "created_at": {"type": "string", "format": "date-time"},
            "last_activity": {"type": "string", "format": "date-time"},
            "device": {"type": "string", "description": 'E.g. "Chrome on Linux".'},
            "ip": {"type": "string"},
            "current": {"type": "boolean"},
        }
    ),
    "Session": obj(
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
}


def _error_response(status: int, entry: ErrorStatus) -> dict[str, Any]:
    schema = {
        "allOf": [ref("schemas", "Error"), {"properties": {"error": {"enum": list(entry.codes)}}}]
    }
    response: dict[str, Any] = {"description": entry.text, "content": {JSON: {"schema": schema}}}
    if status == 503:
        response["headers"] = {
            "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "string"}}
        }
    return response


def _cookie_scheme(app: Flask) -> dict[str, Any]:
    settings = app.extensions["session_manager"].settings
    flags = [
        *(["HttpOnly"] if settings.cookie_httponly else []),
        *(["Secure"] if settings.cookie_secure else []),
        f"SameSite={settings.cookie_samesite or 'unset'}",
    ]
    return {
        "type": "apiKey",
        "in": "cookie",
        "name": settings.cookie_name,
        "description": f"The signed session id ({', '.join(flags)}); the session itself "
        "lives server-side.",
    }


def _csrf_parameter(app: Flask) -> dict[str, Any]:
    prefix = app.config.get("SESSION_API_PREFIX")
    source = f"`GET {prefix}/csrf-token`" if prefix else "`csrf_token()` in a template"
    return {
        "name": "X-CSRF-Token",
        "in": "header",
        "required": False,
        "description": f"The CSRF token from {source} (or from the answer that started the "
        "session). Every unsafe request needs it; `X-CSRFToken` is accepted too, and a "
        "JSON body may carry it as `csrf_token` instead (JSON content type only), but "
        "the header is checked first and the query string never counts. A fresh mask "
        "of the same secret is handed out on every answer; every mask validates.",
        # An empty header counts as no header.
        "schema": {"type": "string", "minLength": 1},
    }


def openapi_document(
    app: Flask,
    *,
    info: dict[str, Any],
    tags: list[str],
    schemas: Mapping[str, Any] | None = None,
    operations: Mapping[str, Operation] | None = None,
    errors: Mapping[int, ErrorStatus] = ERRORS,
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``app``'s documented routes.

    A route is documented by ``operations[endpoint]`` or its view's
    :func:`documented` operation; others are left out (a test that compares the
    document with the URL map finds them). ``errors`` is :data:`ERRORS` plus the
    app's own codes. Call it once the app has all its routes (e.g. at the first
    request) and keep the result. Raises ``ValueError`` for a rule with several
    methods, or an operation id used twice.
    """
    operations = operations or {}
    paths: dict[str, dict[str, Any]] = {}
    seen_ids: set[str] = set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        operation = operations.get(rule.endpoint) or getattr(view, OPERATION_ATTR, None)
        if operation is None:
            continue
        methods = sorted((rule.methods or set()) - _IGNORED_METHODS)
        if len(methods) != 1 or operation.operation_id in seen_ids:
            raise ValueError(f"{rule.rule}: document one method per rule, ids once")
        seen_ids.add(operation.operation_id)
        paths.setdefault(openapi_path(rule.rule), {})[methods[0].lower()] = operation.render(errors)
    all_codes = [code for entry in errors.values() for code in entry.codes]
    error_schema = {
        "description": "Every error answer to a JSON request.",
        **obj(
            {
                "status": {"const": "error"},
                "error": {"enum": all_codes},
                "message": {"type": "string", "minLength": 1},
            }
        ),
    }
    return {
        "openapi": "3.1.0",
        "info": info,
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": {
            "securitySchemes": {"sessionCookie": _cookie_scheme(app)},
            "parameters": {"CsrfToken": _csrf_parameter(app)},
            "schemas": {"Error": error_schema, **SESSION_SCHEMAS, **(schemas or {})},
            "responses": {
                entry.response: _error_response(status, entry)
                for status, entry in errors.items()
                if entry.response is not None
            },
        },
    }
