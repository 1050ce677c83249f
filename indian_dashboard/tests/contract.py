"""Checking answers against the OpenAPI document: shared by the contract and fuzz tests."""

from __future__ import annotations

import functools
import os
import tempfile
from collections import Counter
from typing import Any

from flask_session_guard.openapi import openapi_path
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from indian_dashboard import create_app
from indian_dashboard.api.openapi import ERROR_CODES, ERROR_CODES_BY_STATUS, openapi_document

__all__ = ["DOC", "FUZZ_SCALE", "TRIED", "openapi_path"]

#: Where the app that documents itself keeps its instance folder (nothing is written).
_INSTANCE = tempfile.TemporaryDirectory(prefix="openapi-")
#: The document of an app with the test servers' settings (cookie "session", SameSite=Lax).
DOC = openapi_document(
    create_app(
        {
            "SECRET_KEY": "openapi-document-key-of-at-least-32-chars",
            "SESSION_STORE_URL": "memory://",
        },
        instance_path=_INSTANCE.name,
    )
)
_DOC_URI = "urn:indian-dashboard:openapi"
_REGISTRY: Registry[Any] = Registry().with_resource(_DOC_URI, DRAFT202012.create_resource(DOC))
_METHODS = ("get", "put", "post", "delete", "patch")

#: Generated requests tried per source ("hypothesis", "schemathesis"), and 5xx answers seen;
#: the terminal summary (conftest.py) prints them.
TRIED: Counter[str] = Counter()


def _fuzz_scale() -> int:
    raw = os.environ.get("FUZZ_SCALE", "1")
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"FUZZ_SCALE must be a whole number of at least 1, got {raw!r}")
    return int(raw)


#: Multiplies every generated-case budget: ``FUZZ_SCALE=10 make test`` for a deeper run.
FUZZ_SCALE = _fuzz_scale()


def documented_operations() -> set[tuple[str, str]]:
    """``(path template, METHOD)`` of every operation in the document."""
    return {
        (path, method.upper())
        for path, item in DOC["paths"].items()
        for method in item
        if method in _METHODS
    }


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _response_pointer(path: str, method: str, status: int) -> str | None:
    responses = DOC["paths"][path][method.lower()]["responses"]
    response = responses.get(str(status))
    if response is None:
        return None
    if "$ref" in response:
        base = response["$ref"].lstrip("#")
    else:
        base = f"/paths/{_escape(path)}/{method.lower()}/responses/{status}"
    return f"{base}/content/{_escape('application/json')}/schema"


@functools.cache
def _validator(pointer: str) -> Draft202012Validator:
    schema = {"$ref": f"{_DOC_URI}#{pointer}"}
    return Draft202012Validator(schema, registry=_REGISTRY)


def schema_errors(path: str, method: str, status: int, body: Any) -> list[str]:
    """Why ``body`` with ``status`` is not what the document says, or ``[]``."""
    pointer = _response_pointer(path, method, status)
    if pointer is None:
        return [f"{method} {path} does not document status {status}"]
    return [error.message for error in _validator(pointer).iter_errors(body)]


def assert_documented(path: str, method: str, status: int, mimetype: str | None, body: Any) -> None:
    """The answer is JSON, its status documented for the operation, its body valid."""
    assert mimetype == "application/json", (method, path, status, mimetype)
    errors = schema_errors(path, method, status, body)
    assert not errors, (method, path, status, body, errors)


def assert_envelope_any(status: int, mimetype: str | None, body: Any) -> None:
    """An error answer in the envelope with a code documented for its status; never a 5xx."""
    assert status < 500, (status, body)
    assert mimetype == "application/json", (status, mimetype)
    assert isinstance(body, dict) and set(body) == {"status", "error", "message"}, body
    assert body["status"] == "error"
    assert body["error"] in ERROR_CODES
    assert body["error"] in ERROR_CODES_BY_STATUS[status], (status, body)
    assert isinstance(body["message"], str) and body["message"]
