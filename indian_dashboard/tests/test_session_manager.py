"""Unit tests of SessionManager and its decorators (the guide's tests/test_session_manager.py)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, jsonify
from flask_session_guard.clock import ManualClock

from indian_dashboard import SessionManager, require_csrf, require_session
from indian_dashboard.config import ConfigError
from indian_dashboard.session_manager import get_session_manager

from .apps import json_of
from .conftest import Visitor
from .servers import SECRET


def manager(app: Flask) -> SessionManager:
    with app.app_context():
        return get_session_manager()


class TestCreation:
    def test_create_session_returns_active_info(self, app: Flask) -> None:
        with app.test_request_context("/", method="POST"):
            info = manager(app).create_session(user_data={"broker": "kite"})
            assert info["is_active"] is True
            assert info["remaining_seconds"] == 600
            assert info["elapsed_seconds"] == 0
            assert info["created_at"].endswith("+00:00")
            assert manager(app).get_user_data("broker") == "kite"

    def test_session_id_in_info_is_not_the_cookie_secret(self, visitor: Visitor) -> None:
        visitor.connect()
        cookie = visitor.cookie()
        assert cookie is not None
        public = visitor.info["session_id"]
        assert public not in cookie
        assert cookie.split(".")[0] != public

    def test_create_session_gives_new_id_and_token(self, connected: Visitor) -> None:
        old_cookie, old_token, old_id = connected.cookie(), connected.token, connected.info
        connected.connect()
        assert connected.cookie() != old_cookie
        assert connected.token != old_token
        assert connected.info["session_id"] != old_id["session_id"]

    def test_no_session_means_no_info(self, app: Flask) -> None:
        with app.test_request_context("/"):
            assert manager(app).get_session_info() is None
            assert manager(app).session_state() == "none"

    def test_user_data_must_be_json(self, app: Flask) -> None:
        with app.test_request_context("/", method="POST"):
            with pytest.raises(TypeError):
                manager(app).create_session(user_data={"when": object()})
            manager(app).create_session()
            with pytest.raises(TypeError):
                manager(app).store_user_data("bad", {1, 2})
            with pytest.raises(TypeError):
                manager(app).store_user_data("nan", float("nan"))


class TestUserData:
    @pytest.fixture
    def routes(self, app: Flask) -> None:
        """Views that use the manager; requested before any request is made."""

        @app.post("/t/store")
        def store_view() -> Any:
            manager(app).store_user_data("theme", {"dark": True})
            return jsonify(ok=True)

        @app.get("/t/get")
        def get_view() -> Any:
            return jsonify(
                theme=manager(app).get_user_data("theme"),
                missing=manager(app).get_user_data("missing", "fallback"),
            )

        @app.post("/t/count")
        def count() -> Any:
            return jsonify(n=manager(app).update_user_data("n", lambda v: (v or 0) + 1))

    def test_store_and_get_user_data_across_requests(
        self, routes: None, connected: Visitor
    ) -> None:
        assert connected.client.post("/t/store", headers=connected.headers()).status_code == 200
        got = connected.client.get("/t/get").json
        assert got == {"theme": {"dark": True}, "missing": "fallback"}

    def test_update_user_data_returns_new_value(self, routes: None, connected: Visitor) -> None:
        assert [
            json_of(connected.client.post("/t/count", headers=connected.headers()))["n"]
            for _ in range(3)
        ] == [1, 2, 3]


class TestTimeouts:
    def test_idle_timeout_expires_session(self, connected: Visitor, clock: ManualClock) -> None:
        clock.advance(599)
        assert connected.session_info().status_code == 200
        clock.advance(1)
        response = connected.session_info()
        assert response.status_code == 401
        assert response.json["error"] == "session_expired"

    def test_activity_resets_idle_timer(self, connected: Visitor, clock: ManualClock) -> None:
        for _ in range(5):
            clock.advance(500)
            assert connected.client.get("/api/broker/status").status_code == 200
        info = connected.session_info().json["session"]
        assert info["remaining_seconds"] == 600
        assert info["elapsed_seconds"] == 0

    def test_polling_info_never_extends(self, connected: Visitor, clock: ManualClock) -> None:
        for _ in range(59):
            clock.advance(10)
            assert connected.session_info().status_code == 200
            assert connected.client.get("/api/session/csrf-token").status_code == 200
        info = connected.session_info().json["session"]
        assert info["remaining_seconds"] == 10
        assert info["elapsed_seconds"] == 590
        clock.advance(10)
        assert connected.session_info().status_code == 401

    def test_absolute_lifetime_holds_against_extends(
        self, connected: Visitor, clock: ManualClock
    ) -> None:
        for _ in range(10):
            clock.advance(300)
            assert connected.extend().json["extended"] is True
        clock.advance(300)  # 3300 s: idle would reach past the absolute end at 3600
        assert connected.extend().json["extended"] is False
        clock.advance(300)  # 3600 s after creation: the absolute end
        response = connected.extend()
        assert response.status_code == 401
        assert response.json["error"] == "session_expired"

    def test_extend_reports_refusal_at_absolute_limit(
        self, connected: Visitor, clock: ManualClock
    ) -> None:
        for _ in range(31):  # stay active up to 3100 s: 500 s left of the absolute lifetime
            clock.advance(100)
            assert connected.client.get("/api/broker/status").status_code == 200
        response = connected.extend()
        assert response.status_code == 200
        assert response.json["extended"] is False
        assert response.json["session"]["remaining_seconds"] == 500

    def test_activity_writes_are_coalesced_within_the_interval(
        self, connected: Visitor, clock: ManualClock
    ) -> None:
        clock.advance(0.5)
        connected.client.get("/api/broker/status")
        info = connected.session_info().json["session"]
        assert info["last_activity"] == connected.info["last_activity"]
        clock.advance(1)
        connected.client.get("/api/broker/status")
        info = connected.session_info().json["session"]
        assert info["last_activity"] != connected.info["last_activity"]

    def test_expired_cookie_never_works_again(self, connected: Visitor, clock: ManualClock) -> None:
        cookie = connected.cookie()
        clock.advance(601)
        assert connected.session_info().status_code == 401
        connected.client.set_cookie("session", cookie or "")
        clock.advance(-600)  # even if the clock is turned back, the record is gone
        assert connected.session_info().status_code == 401
        assert connected.extend().status_code == 401


class TestCsrf:
    def test_tokens_differ_per_call_and_all_validate(self, app: Flask) -> None:
        with app.test_request_context("/"):
            m = manager(app)
            tokens = {m.get_csrf_token() for _ in range(5)}
            assert len(tokens) == 5
            assert all(m.validate_csrf_token(t) for t in tokens)

    @pytest.mark.parametrize("bad", [None, "", 123, ["x"], "x" * 86, "é" * 86, "a.b", "x" * 10**6])
    def test_bad_tokens_are_invalid(self, app: Flask, bad: Any) -> None:
        with app.test_request_context("/"):
            m = manager(app)
            m.get_csrf_token()
            assert m.validate_csrf_token(bad) is False

    def test_no_session_validates_nothing(self, app: Flask) -> None:
        with app.test_request_context("/"):
            assert manager(app).validate_csrf_token("anything") is False


class TestDecorators:
    @pytest.fixture
    def guarded(self, app: Flask) -> Flask:
        @app.post("/t/both")
        @require_csrf
        @require_session
        def both() -> Any:
            return jsonify(status="success")

        @app.get("/t/session")
        @require_session
        def session_only() -> Any:
            return jsonify(status="success")

        @app.post("/t/csrf")
        @require_csrf
        def csrf_only() -> Any:
            return jsonify(status="success")

        return app

    def test_require_session_refuses_without_session(self, guarded: Flask) -> None:
        response = guarded.test_client().get("/t/session")
        assert response.status_code == 401
        assert json_of(response)["error"] == "session_required"

    def test_require_session_refuses_pre_login_session(self, guarded: Flask) -> None:
        visitor = Visitor(guarded.test_client())
        visitor.fetch_token()
        response = visitor.client.get("/t/session")
        assert response.status_code == 401
        assert json_of(response)["error"] == "session_required"

    def test_require_session_accepts_active(self, guarded: Flask) -> None:
        visitor = Visitor(guarded.test_client())
        visitor.connect()
        assert visitor.client.get("/t/session").status_code == 200

    def test_require_csrf_header_form_json(self, guarded: Flask) -> None:
        visitor = Visitor(guarded.test_client())
        visitor.connect()
        c, token = visitor.client, visitor.token
        assert c.post("/t/both", headers={"X-CSRF-Token": token}).status_code == 200
        assert c.post("/t/both", data={"csrf_token": token}).status_code == 200
        assert c.post("/t/both", json={"csrf_token": token}).status_code == 200

    def test_header_wins_over_body(self, guarded: Flask) -> None:
        visitor = Visitor(guarded.test_client())
        visitor.connect()
        response = visitor.client.post(
            "/t/both", headers={"X-CSRF-Token": "wrong"}, json={"csrf_token": visitor.token}
        )
        assert response.status_code == 403
        assert json_of(response)["error"] == "csrf_invalid"

    def test_query_string_token_is_ignored(self, guarded: Flask) -> None:
        visitor = Visitor(guarded.test_client())
        visitor.connect()
        response = visitor.client.post(f"/t/both?csrf_token={visitor.token}")
        assert response.status_code == 403
        assert json_of(response)["error"] == "csrf_missing"

    def test_json_token_needs_json_content_type(self, guarded: Flask) -> None:
        visitor = Visitor(guarded.test_client())
        visitor.connect()
        response = visitor.client.post(
            "/t/both",
            data=f'{{"csrf_token": "{visitor.token}"}}',
            content_type="text/plain",
        )
        assert response.status_code == 403
        assert json_of(response)["error"] == "csrf_missing"

    def test_pre_login_token_protects_a_login_form(self, guarded: Flask) -> None:
        visitor = Visitor(guarded.test_client())
        visitor.fetch_token()
        assert visitor.client.post("/t/csrf", headers=visitor.headers()).status_code == 200
        assert visitor.client.post("/t/csrf").status_code == 403

    def test_decorators_keep_the_view_name(self) -> None:
        @require_csrf
        @require_session
        def my_view() -> str:
            """Doc."""
            return "x"

        assert my_view.__name__ == "my_view"
        assert my_view.__doc__ == "Doc."


class TestExtension:
    def test_init_app_pattern_and_extension_state(self, tmp_path: Any) -> None:
        sm = SessionManager(session_timeout=120)
        app = Flask(__name__, instance_path=str(tmp_path))
        app.config.update(SECRET_KEY=SECRET, SESSION_STORE_URL="memory://")
        sm.init_app(app)
        assert app.extensions["session_manager"].manager is sm
        assert app.config["SESSION_TIMEOUT"] == 120
        assert app.extensions["session_manager"].settings.idle_timeout == 120

    def test_config_wins_over_constructor_timeout(self, tmp_path: Any) -> None:
        app = Flask(__name__, instance_path=str(tmp_path))
        app.config.update(SECRET_KEY=SECRET, SESSION_STORE_URL="memory://", SESSION_TIMEOUT=30)
        SessionManager(app, session_timeout=3600)
        assert app.extensions["session_manager"].settings.idle_timeout == 30

    @pytest.mark.parametrize(
        ("key", "value"),
        [
            ("SESSION_TIMEOUT", -5),
            ("SESSION_TIMEOUT", 0),
            ("SESSION_TIMEOUT", "soon"),
            ("SESSION_ABSOLUTE_TIMEOUT", 10),  # shorter than the idle timeout
            ("SESSION_STORE_URL", "ftp://x"),
            ("SESSION_STORE_URL", "nonsense"),
        ],
    )
    def test_bad_settings_stop_start_up(self, tmp_path: Any, key: str, value: Any) -> None:
        app = Flask(__name__, instance_path=str(tmp_path))
        app.config.update(SECRET_KEY=SECRET, SESSION_STORE_URL="memory://", SESSION_TIMEOUT=60)
        app.config[key] = value
        with pytest.raises(ConfigError, match=key):
            SessionManager(app)
