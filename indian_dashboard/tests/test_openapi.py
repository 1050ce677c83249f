"""The OpenAPI document at /api/openapi.json stays true to the app."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from flask_session_guard import errors
from jsonschema import Draft202012Validator

from indian_dashboard.api.broker import BROKERS
from indian_dashboard.api.openapi import ERROR_CODES, ERROR_CODES_BY_STATUS, NOT_BLANK

from .conftest import DHAN, KITE, Visitor
from .contract import DOC, assert_documented, documented_operations, openapi_path, schema_errors

_IGNORED_METHODS = {"HEAD", "OPTIONS"}


def api_operations(app: Flask) -> set[tuple[str, str]]:
    """``(path template, METHOD)`` of every rule under /api in the app."""
    return {
        (openapi_path(rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in (rule.methods or set()) - _IGNORED_METHODS
    }


class TestDocument:
    def test_served_document_is_the_documented_one(self, client: FlaskClient) -> None:
        response = client.get("/api/openapi.json")
        assert response.status_code == 200
        assert response.mimetype == "application/json"
        assert response.json == DOC
        assert response.json["openapi"] == "3.1.0"

    def test_every_api_route_is_documented(self, app: Flask) -> None:
        missing = api_operations(app) - documented_operations()
        assert not missing, f"routes missing from the OpenAPI document: {sorted(missing)}"

    def test_every_documented_operation_exists(self, app: Flask) -> None:
        extra = documented_operations() - api_operations(app)
        assert not extra, f"documented but not routed: {sorted(extra)}"

    def test_a_new_route_is_caught(self, app: Flask) -> None:
        @app.route("/api/session/undocumented", methods=["PATCH"])
        def undocumented() -> Any:  # pragma: no cover - never called
            return {}

        assert ("/api/session/undocumented", "PATCH") in api_operations(app) - (
            documented_operations()
        )

    def test_document_is_valid_openapi_3_1(self) -> None:
        schemathesis.openapi.from_dict(DOC).validate()
        for schema in DOC["components"]["schemas"].values():
            Draft202012Validator.check_schema(schema)

    def test_every_operation_documents_the_errors_it_can_meet(self) -> None:
        for path, method in documented_operations():
            statuses = set(DOC["paths"][path][method.lower()]["responses"])
            if path == "/api/broker/{name}/callback":
                # A browser's landing: a redirect, or the connect page (HTML) with the reason.
                assert {"303", "default", "500", "503"} <= statuses
                continue
            # Only the document itself reads no session, so only it cannot meet a 503.
            always = {"200", "500"} if path == "/api/openapi.json" else {"200", "500", "503"}
            assert always <= statuses, (method, path)
            if method != "GET" and path != "/api/session/validate-csrf":
                assert {"400", "401", "403", "413"} <= statuses, (method, path)

    def test_every_error_code_of_the_code_is_in_the_enum(self) -> None:
        def subclasses(cls: type[errors.ApiError]) -> list[type[errors.ApiError]]:
            return [cls, *(s for sub in cls.__subclasses__() for s in subclasses(sub))]

        raised = {cls.error: cls.code for cls in subclasses(errors.ApiError)}
        for code, status in raised.items():
            assert code in ERROR_CODES_BY_STATUS[status], (code, status)
        enum = DOC["components"]["schemas"]["Error"]["properties"]["error"]["enum"]
        assert enum == list(ERROR_CODES)
        assert {"method_not_allowed", "payload_too_large", "not_found"} <= set(enum)

    def test_security_scheme_and_csrf_header(self) -> None:
        scheme = DOC["components"]["securitySchemes"]["sessionCookie"]
        assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "cookie", "session")
        header = DOC["components"]["parameters"]["CsrfToken"]
        assert (header["in"], header["name"]) == ("header", "X-CSRF-Token")
        csrf_ref = {"$ref": "#/components/parameters/CsrfToken"}
        for path, method in documented_operations():
            operation = DOC["paths"][path][method.lower()]
            csrf_exempt = path == "/api/session/validate-csrf"
            if method != "GET" and not csrf_exempt:
                assert csrf_ref in operation["parameters"], (method, path)

    def test_documented_broker_credentials_follow_the_code(self) -> None:
        variants = DOC["paths"]["/api/broker/connect"]["post"]["requestBody"]["content"][
            "application/json"
        ]["schema"]["oneOf"]
        assert [v["properties"]["broker"]["const"] for v in variants] == list(BROKERS)
        for broker, variants in BROKERS.items():
            schema = DOC["components"]["schemas"][f"{broker.capitalize()}Credentials"]
            documented = [v["required"] for v in schema.get("oneOf", [schema])]
            assert documented == variants, broker

    def test_not_blank_means_what_str_strip_means(self) -> None:
        # Every character str.isspace() knows is in the Basic Multilingual Plane.
        pattern = re.compile(NOT_BLANK)
        for code in range(0x10000):
            char = chr(code)
            assert (pattern.fullmatch(char) is None) == char.isspace(), hex(code)

    def test_schemas_reject_what_they_should(self) -> None:
        # The checker itself must be able to fail, or the flow test proves nothing.
        path, method = "/api/session/info", "GET"
        assert schema_errors(path, method, 200, {"status": "success"})
        assert schema_errors(path, method, 418, {})
        bad_code = {"status": "error", "error": "csrf_missing", "message": "x"}
        assert schema_errors(path, method, 401, bad_code)
        assert not schema_errors(path, method, 401, {**bad_code, "error": "session_required"})


@dataclass
class RecordingVisitor(Visitor):
    """A visitor that checks every answer against the document as it goes."""

    #: ``(path template, METHOD, status)`` of every answer.
    seen: set[tuple[str, str, int]] = field(default_factory=set)

    def call(self, method: str, path: str, template: str | None = None, **kwargs: Any) -> Any:
        response = self.client.open(path, method=method, **kwargs)
        template = template or path
        assert_documented(template, method, response.status_code, response.mimetype, response.json)
        self.seen.add((template, method, response.status_code))
        return response


class TestRealSessionFlow:
    def test_every_answer_of_a_session_validates(self, client: FlaskClient) -> None:
        v = RecordingVisitor(client)
        csrf = "/api/session/csrf-token"
        # Before connecting.
        v.call("GET", "/api/openapi.json")
        v.call("GET", "/api/session/info")  # 401
        v.call("GET", "/api/broker/status")  # 401
        v.call("GET", "/api/watchlist")  # 401
        v.call("POST", "/api/session/extend")  # 401
        v.token = v.call("GET", csrf).json["csrf_token"]
        v.call("GET", "/api/session/info")  # pre-login: 200, not active
        v.call("POST", "/api/session/validate-csrf", json={"csrf_token": v.token})
        v.call("POST", "/api/session/validate-csrf", json={"csrf_token": 5})  # 400
        v.call("POST", "/api/broker/connect", json={"broker": "kite", "credentials": KITE})  # 403
        redirect = v.call(
            "POST",
            "/api/broker/connect",
            json={"broker": "kite", "credentials": KITE},
            headers=v.headers(),
        )
        assert redirect.json["status"] == "redirect"
        connect = v.call(
            "POST",
            "/api/broker/connect",
            json={"broker": "dhan", "credentials": DHAN},
            headers=v.headers(),
        )
        v.token = connect.json["csrf_token"]
        # Connected.
        v.call("GET", "/api/session/info")
        v.call("GET", "/api/broker/status")
        # The same account on another device: listed, then ended from here.
        other = RecordingVisitor(client.application.test_client())
        other.connect("dhan", DHAN)
        sessions = v.call("GET", "/api/session/list").json["sessions"]
        assert len(sessions) == 2
        (other_id,) = [s["session_id"] for s in sessions if not s["current"]]
        one = "/api/session/{public_id}"
        v.call("DELETE", f"/api/session/{other_id}", one, headers=v.headers())
        v.call("DELETE", f"/api/session/{other_id}", one, headers=v.headers())  # 404
        other.call("GET", "/api/session/info")  # 401 session_revoked
        v.call("POST", "/api/session/revoke-others", headers=v.headers())
        v.call("POST", "/api/session/extend", headers=v.headers())
        v.call("POST", "/api/session/extend", headers={"X-CSRF-Token": "forged"})  # 403
        v.call("POST", "/api/watchlist", json={"symbol": "TCS"}, headers=v.headers())
        v.call("POST", "/api/watchlist", json={"symbol": "tcs"}, headers=v.headers())  # 400
        v.call(
            "POST",
            "/api/watchlist",
            data="x" * 70_000,
            content_type="application/json",
            headers=v.headers(),
        )  # 413
        v.call("GET", "/api/watchlist")
        item = "/api/watchlist/{symbol}"
        v.call("DELETE", "/api/watchlist/TCS", item, headers=v.headers())
        v.call("DELETE", "/api/watchlist/TCS", item, headers=v.headers())  # 404
        v.call("POST", "/api/broker/disconnect", headers=v.headers())
        v.call("GET", "/api/broker/status")  # 401 session_required after logout
        v.token = None
        v.connect()
        old = v.token
        v.call("POST", "/api/session/clear", headers=v.headers())
        v.call("POST", "/api/session/clear", headers={"X-CSRF-Token": old or ""})  # 401

        ok = {(path, method) for path, method, status in v.seen if status == 200}
        # The broker callback is a browser's landing (a redirect or an HTML page), not a
        # JSON answer: test_broker_signin.py covers it.
        json_operations = documented_operations() - {("/api/broker/{name}/callback", "GET")}
        assert ok == json_operations, "every operation answered 200 at least once"
        statuses = {status for _, _, status in v.seen}
        assert {200, 400, 401, 403, 404, 413} <= statuses
