"""The session API's part of an OpenAPI document, built from the routes' own data."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask_session_guard.openapi import (
    ERRORS,
    ErrorStatus,
    Operation,
    documented,
    openapi_document,
    openapi_path,
    success,
)
from jsonschema import Draft202012Validator

from .plain import MakeApp

INFO = {"title": "Plain", "version": "1"}


def document(app: Flask, **options: Any) -> dict[str, Any]:
    return openapi_document(app, info=INFO, tags=["session"], **options)


@pytest.fixture
def api_app(make_app: MakeApp) -> Flask:
    return make_app(
        SESSION_API_PREFIX="/auth",
        SESSION_COOKIE_NAME="sid",
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=True,
    )


def test_every_session_route_is_documented_under_its_prefix(api_app: Flask) -> None:
    doc = document(api_app)
    routed = {
        (openapi_path(r.rule), m)
        for r in api_app.url_map.iter_rules()
        if r.endpoint.startswith("session_api.")
        for m in (r.methods or set()) - {"HEAD", "OPTIONS"}
    }
    documented_ops = {(p, m.upper()) for p, item in doc["paths"].items() for m in item}
    assert documented_ops == routed
    assert "/auth/{public_id}" in doc["paths"]
    param = doc["paths"]["/auth/{public_id}"]["delete"]["parameters"][0]
    assert (param["name"], param["in"]) == ("public_id", "path")


def test_cookie_is_described_as_configured(api_app: Flask) -> None:
    scheme = document(api_app)["components"]["securitySchemes"]["sessionCookie"]
    assert scheme["name"] == "__Host-sid"
    assert "SameSite=Strict" in scheme["description"]
    assert "Secure" in scheme["description"]
    csrf = document(api_app)["components"]["parameters"]["CsrfToken"]["description"]
    assert "GET /auth/csrf-token" in csrf


def test_no_prefix_no_session_paths(app: Flask) -> None:
    assert document(app)["paths"] == {}


def test_unsafe_operations_list_the_refusals(api_app: Flask) -> None:
    extend = document(api_app)["paths"]["/auth/extend"]["post"]
    assert {"200", "400", "401", "403", "413", "500", "503"} == set(extend["responses"])
    assert {"$ref": "#/components/parameters/CsrfToken"} in extend["parameters"]
    assert extend["security"] == [{"sessionCookie": []}]


def test_an_app_documents_its_own_routes(api_app: Flask) -> None:
    @api_app.get("/api/hello")
    @documented(Operation("hello", "demo", "Say hello.", success("Hi.", {})))
    def hello() -> dict[str, Any]:
        return {"status": "success"}

    @api_app.get("/api/by-table")
    def by_table() -> dict[str, Any]:
        return {"status": "success"}

    table = {"by_table": Operation("byTable", "demo", "From a table.", success("Ok.", {}))}
    doc = document(api_app, operations=table)
    assert doc["paths"]["/api/hello"]["get"]["operationId"] == "hello"
    assert doc["paths"]["/api/by-table"]["get"]["operationId"] == "byTable"


def test_an_app_adds_error_codes(api_app: Flask) -> None:
    errors = {**ERRORS, 409: ErrorStatus(("conflict",), "Taken.", "Conflict")}
    doc = document(api_app, errors=errors)
    assert "conflict" in doc["components"]["schemas"]["Error"]["properties"]["error"]["enum"]
    assert "Conflict" in doc["components"]["responses"]


def test_schemas_are_valid(api_app: Flask) -> None:
    doc = document(api_app)
    assert doc["openapi"] == "3.1.0"
    for schema in doc["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_an_operation_id_used_twice_is_refused(api_app: Flask) -> None:
    op = Operation("same", "demo", "Twice.", success("Ok.", {}))
    api_app.get("/one")(documented(op)(lambda: "1"))
    api_app.add_url_rule("/two", "two", documented(op)(lambda: "2"))
    with pytest.raises(ValueError, match="ids once"):
        document(api_app)
