"""Integration tests of the session API (the guide's tests/test_session_api.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_session_guard.clock import ManualClock

from .apps import json_of
from .conftest import Visitor

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")


def assert_envelope(response: Any, status: int, error: str) -> None:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert response.json["status"] == "error"
    assert response.json["error"] == error
    assert isinstance(response.json["message"], str) and response.json["message"]


class TestInfo:
    def test_info_shape(self, connected: Visitor) -> None:
        response = connected.session_info()
        assert response.status_code == 200
        body = response.json
        assert body["status"] == "success"
        s = body["session"]
        for key in ("created_at", "last_activity", "expires_at", "absolute_expires_at"):
            assert ISO_UTC.fullmatch(s[key]), s[key]
        assert s["is_active"] is True
        assert isinstance(s["session_id"], str) and len(s["session_id"]) >= 16
        assert (s["elapsed_seconds"], s["remaining_seconds"]) == (0, 600)

    def test_info_without_session_is_401(self, client: FlaskClient) -> None:
        assert_envelope(client.get("/api/session/info"), 401, "session_required")

    def test_pre_login_visitor_has_no_session_info(self, visitor: Visitor) -> None:
        visitor.fetch_token()
        response = visitor.session_info()
        assert response.status_code == 401
        assert response.json["error"] == "session_required"

    def test_elapsed_and_remaining(self, connected: Visitor, clock: ManualClock) -> None:
        clock.advance(125)
        s = connected.session_info().json["session"]
        assert (s["elapsed_seconds"], s["remaining_seconds"]) == (125, 475)


class TestCsrfToken:
    def test_gives_pre_login_session(self, client: FlaskClient) -> None:
        response = client.get("/api/session/csrf-token")
        assert response.status_code == 200
        assert json_of(response)["status"] == "success"
        assert len(json_of(response)["csrf_token"]) >= 43
        assert client.get_cookie("session") is not None

    def test_token_persists_for_the_session(self, visitor: Visitor) -> None:
        first = visitor.fetch_token()
        second = visitor.fetch_token()
        assert first != second  # masked afresh
        for token in (first, second):
            body = visitor.client.post(
                "/api/session/validate-csrf", json={"csrf_token": token}
            ).json
            assert body == {"status": "success", "valid": True}


class TestExtendAndClear:
    def test_extend(self, connected: Visitor, clock: ManualClock) -> None:
        clock.advance(300)
        response = connected.extend()
        assert response.status_code == 200
        body = response.json
        assert body["status"] == "success"
        assert body["message"] == "Session extended"
        assert body["extended"] is True
        assert body["session"]["remaining_seconds"] == 600

    def test_extend_needs_csrf(self, connected: Visitor) -> None:
        assert_envelope(connected.client.post("/api/session/extend"), 403, "csrf_missing")
        assert_envelope(
            connected.client.post("/api/session/extend", headers={"X-CSRF-Token": "nope"}),
            403,
            "csrf_invalid",
        )

    def test_extend_needs_session(self, client: FlaskClient) -> None:
        assert_envelope(client.post("/api/session/extend"), 401, "session_required")

    def test_clear_then_old_cookie_gets_401(self, connected: Visitor) -> None:
        cookie = connected.cookie()
        response = connected.logout()
        assert response.status_code == 200
        assert response.json == {"status": "success", "message": "Session cleared"}
        assert "session=;" in response.headers["Set-Cookie"]
        for path in ("/api/session/info", "/api/broker/status", "/api/watchlist"):
            connected.client.set_cookie("session", cookie or "")
            response = connected.client.get(path)
            assert_envelope(response, 401, "session_expired")
            # The dead cookie is removed, so the browser stops sending it.
            assert "session=;" in response.headers["Set-Cookie"]

    def test_clear_needs_csrf(self, connected: Visitor) -> None:
        assert_envelope(connected.client.post("/api/session/clear"), 403, "csrf_missing")
        assert connected.session_info().status_code == 200


class TestValidateCsrf:
    def test_valid_and_invalid(self, visitor: Visitor) -> None:
        token = visitor.fetch_token()
        post = visitor.client.post
        assert json_of(post("/api/session/validate-csrf", json={"csrf_token": token}))["valid"]
        assert not json_of(post("/api/session/validate-csrf", json={"csrf_token": "x"}))["valid"]

    def test_other_sessions_token_is_invalid(self, app: Flask) -> None:
        alice, mallory = Visitor(app.test_client()), Visitor(app.test_client())
        alice.connect()
        mallory.connect()
        body = json_of(
            alice.client.post("/api/session/validate-csrf", json={"csrf_token": mallory.token})
        )
        assert body["valid"] is False
        response = alice.client.post("/api/session/extend", headers=mallory.headers())
        assert_envelope(response, 403, "csrf_invalid")

    @pytest.mark.parametrize("body", [{"csrf_token": 5}, {"csrf_token": None}, {}, [1], "x"])
    def test_bad_bodies_are_400(self, visitor: Visitor, body: Any) -> None:
        visitor.fetch_token()
        response = visitor.client.post("/api/session/validate-csrf", json=body)
        assert_envelope(response, 400, "bad_request")

    def test_malformed_json_is_400(self, client: FlaskClient) -> None:
        response = client.post(
            "/api/session/validate-csrf", data="{nope", content_type="application/json"
        )
        assert_envelope(response, 400, "bad_request")


class TestEnvelopeAndHeaders:
    def test_unknown_api_path_is_json_404(self, client: FlaskClient) -> None:
        assert_envelope(client.get("/api/nothing/here"), 404, "not_found")

    def test_wrong_method_is_json_405(self, client: FlaskClient) -> None:
        response = client.delete("/api/session/info")
        assert_envelope(response, 405, "method_not_allowed")
        assert "GET" in response.headers["Allow"]

    def test_body_over_limit_is_413(self, connected: Visitor) -> None:
        response = connected.client.post(
            "/api/watchlist",
            data='{"symbol": "' + "A" * 70_000 + '"}',
            content_type="application/json",
            headers=connected.headers(),
        )
        assert_envelope(response, 413, "payload_too_large")

    def test_non_string_json_token_is_400(self, connected: Visitor) -> None:
        response = connected.client.post("/api/session/extend", json={"csrf_token": 12})
        assert_envelope(response, 400, "bad_request")

    def test_session_api_is_not_cached(self, connected: Visitor) -> None:
        for response in (
            connected.session_info(),
            connected.client.get("/api/session/csrf-token"),
            connected.extend(),
            connected.client.get("/api/nope"),
        ):
            assert response.headers["Cache-Control"] == "no-store"

    def test_responses_that_read_the_session_vary_on_cookie(self, connected: Visitor) -> None:
        assert "Cookie" in connected.session_info().headers["Vary"]
        assert "Cookie" in connected.client.get("/").headers["Vary"]

    def test_vary_on_cookie_joins_a_views_own_vary(self, app: Flask, visitor: Visitor) -> None:
        @app.get("/negotiated")
        def negotiated() -> Any:
            from flask import jsonify, session

            response = jsonify(broker=session.get("broker"))
            response.headers["vary"] = "Accept-Encoding"
            return response

        visitor.connect()
        headers = visitor.client.get("/negotiated").headers
        assert headers.getlist("Vary") == ["Accept-Encoding, Cookie"]
        assert visitor.session_info().headers.getlist("Vary") == ["Cookie"]

    def test_pages_outside_api_keep_html_errors(self, client: FlaskClient) -> None:
        response = client.get("/no-such-page")
        assert response.status_code == 404
        assert response.mimetype == "text/html"

    def test_crash_under_api_is_json_500_without_traceback(self, app: Flask) -> None:
        @app.get("/api/boom")
        def boom() -> Any:
            raise RuntimeError("internal detail")

        app.config["PROPAGATE_EXCEPTIONS"] = False
        response = app.test_client().get("/api/boom")
        assert_envelope(response, 500, "internal_error")
        assert b"internal detail" not in response.data
        assert b"Traceback" not in response.data


class TestLifecycle:
    def test_connect_info_extend_clear(self, visitor: Visitor, clock: ManualClock) -> None:
        visitor.connect()
        assert json_of(visitor.client.get("/api/broker/status"))["broker"]["name"] == "kite"
        clock.advance(100)
        assert visitor.extend().json["session"]["remaining_seconds"] == 600
        assert visitor.logout().status_code == 200
        assert_envelope(visitor.session_info(), 401, "session_required")
