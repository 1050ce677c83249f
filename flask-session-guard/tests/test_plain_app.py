"""``SessionManager(app)`` on a plain ``Flask(__name__)`` app is complete and safe by itself."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask, Request
from flask.testing import FlaskClient
from flask_session_guard import ManualClock, SessionManager
from flask_session_guard.body_limit import GuardedRequest, GuardedRequestMixin
from werkzeug.test import EnvironBuilder

from .plain import SECRET, MakeApp, log_in, pre_login_token


def assert_envelope(response: Any, status: int, error: str) -> None:
    assert response.status_code == status, response.data
    assert response.mimetype == "application/json"
    assert response.json["status"] == "error"
    assert response.json["error"] == error, response.json
    assert response.json["message"]


class TestTheUsualFlow:
    def test_login_protected_route_logout(self, client: FlaskClient) -> None:
        assert_envelope(client.get("/me"), 401, "session_required")
        token = log_in(client)
        assert client.get("/me").json == {"user": "asha"}
        assert client.post("/logout", headers={"X-CSRF-Token": token}).status_code == 200
        assert_envelope(client.get("/me"), 401, "session_required")

    def test_login_without_a_token_is_refused(self, client: FlaskClient) -> None:
        assert_envelope(client.post("/login"), 403, "csrf_missing")

    def test_template_token_is_a_valid_pre_login_token(self, client: FlaskClient) -> None:
        token = pre_login_token(client)
        assert len(token) == 86
        assert client.post("/ping", headers={"X-CSRF-Token": token}).status_code == 200

    def test_template_token_of_a_session_is_that_sessions(self, client: FlaskClient) -> None:
        log_in(client)
        token = pre_login_token(client)  # the same form, now for the logged-in visitor
        assert client.post("/note", json={}, headers={"X-CSRF-Token": token}).json == {
            "saved": True
        }

    def test_javascript_client_is_served(self, app: Flask) -> None:
        with app.test_request_context():
            from flask import url_for

            url = url_for("session_guard.static", filename="session-manager.js")
        response = app.test_client().get(url)
        assert response.status_code == 200
        assert b"window.sessionManager" in response.data
        assert b"data-api-prefix" in response.data
        response.close()


class TestHostileBodies:
    """No input reaching the library's code ends in a 500."""

    def test_deeply_nested_json_is_400(self, client: FlaskClient) -> None:
        # The CSRF lookup parses a JSON body for its token, on any unsafe route.
        response = client.post("/ping", data=b"[" * 50_000, content_type="application/json")
        assert_envelope(response, 400, "bad_request")
        assert "nested too deeply" in response.json["message"]  # type: ignore[index]

    def test_deeply_nested_json_read_by_a_view_is_400(self, client: FlaskClient) -> None:
        token = log_in(client)
        response = client.post(
            "/note",
            data=b"[" * 50_000,
            content_type="application/json",
            headers={"X-CSRF-Token": token},
        )
        # The view reads with silent=True: a RecursionError would still escape it.
        assert response.json == {"saved": False}

    def test_invalid_utf8_is_400(self, client: FlaskClient) -> None:
        response = client.post(
            "/ping", data=b'{"csrf_token": "\xff\xfe"}', content_type="application/json"
        )
        assert_envelope(response, 400, "bad_request")

    @pytest.mark.parametrize("body", ["[]", "5", '"text"', "null", '["csrf_token"]'])
    def test_json_that_is_not_an_object_holds_no_token(
        self, client: FlaskClient, body: str
    ) -> None:
        response = client.post("/ping", data=body, content_type="application/json")
        assert_envelope(response, 403, "csrf_missing")

    def test_megabyte_token_in_a_header_is_refused(self, client: FlaskClient) -> None:
        log_in(client)
        response = client.post("/ping", headers={"X-CSRF-Token": "A" * 1_000_000})
        assert_envelope(response, 403, "csrf_invalid")

    def test_megabyte_token_in_a_body_is_413(self, client: FlaskClient) -> None:
        response = client.post("/ping", json={"csrf_token": "A" * 1_000_000})
        assert_envelope(response, 413, "payload_too_large")

    def test_body_a_view_never_reads_is_still_limited(self, client: FlaskClient) -> None:
        token = log_in(client)
        response = client.post("/ping", data=b"x" * 100_000, headers={"X-CSRF-Token": token})
        assert response.status_code == 413

    def test_body_limit_can_be_turned_off(self, make_app: MakeApp) -> None:
        client = make_app(SESSION_BODY_LIMIT=False).test_client()
        token = log_in(client)
        response = client.post("/ping", data=b"x" * 100_000, headers={"X-CSRF-Token": token})
        assert response.status_code == 200

    def test_chunked_body_over_the_limit_is_413(self, client: FlaskClient) -> None:
        token = log_in(client)
        body = b'{"note": "' + b"x" * 70_000 + b'"}'
        environ = EnvironBuilder(
            path="/note",
            method="POST",
            input_stream=io.BytesIO(body),
            content_type="application/json",
            headers=[("X-CSRF-Token", token)],
        ).get_environ()
        # A chunked body declares no length; the server marks the stream as ending.
        del environ["CONTENT_LENGTH"]
        environ["wsgi.input_terminated"] = True
        response = client.open(environ)
        assert_envelope(response, 413, "payload_too_large")


class TestRequestClass:
    def test_flask_request_becomes_the_guarded_one(self, app: Flask) -> None:
        assert app.request_class is GuardedRequest

    def test_an_apps_own_request_class_is_kept_and_guarded(self, clock: ManualClock) -> None:
        class MyRequest(Request):
            mine = True

        app = Flask(__name__)
        app.request_class = MyRequest
        app.config.update(SECRET_KEY=SECRET, SESSION_STORE_URL="memory://")
        SessionManager(app, clock=clock)
        assert issubclass(app.request_class, MyRequest)
        assert issubclass(app.request_class, GuardedRequestMixin)

        @app.post("/read")
        def read() -> dict[str, Any]:
            from flask import request

            return {"mine": getattr(request, "mine", False), "body": request.get_json()}

        response = app.test_client().post(
            "/read", data=b"[" * 50_000, content_type="application/json"
        )
        assert_envelope(response, 400, "bad_request")


class TestSecretKey:
    def test_missing_secret_key_is_named_at_the_first_request(self, clock: ManualClock) -> None:
        app = Flask(__name__)
        app.config.update(SESSION_STORE_URL="memory://", TESTING=True)  # propagate errors
        SessionManager(app, clock=clock)  # an app may still set it after init_app
        app.get("/")(lambda: "hello")
        with pytest.raises(RuntimeError, match="SECRET_KEY"):
            app.test_client().get("/")

    def test_secret_key_set_after_init_app_works(self, clock: ManualClock) -> None:
        app = Flask(__name__)
        app.config.update(SESSION_STORE_URL="memory://")
        SessionManager(app, clock=clock)
        app.config["SECRET_KEY"] = SECRET
        app.get("/")(lambda: "hello")
        assert app.test_client().get("/").status_code == 200
