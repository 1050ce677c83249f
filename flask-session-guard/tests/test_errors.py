"""The library's refusals: the envelope to JSON and API clients, a page to browsers."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_session_guard import ConfigError, CsrfMissing, SessionRequired, get_session_manager
from flask_session_guard.errors import preferred_format

from .plain import BROWSER_ACCEPT, MakeApp, SwitchableStore, log_in
from .test_plain_app import assert_envelope

PAGE = {"Accept": BROWSER_ACCEPT}


def assert_page(response: Any, status: int, text: str) -> None:
    assert response.status_code == status, response.data
    assert response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    assert body.startswith("<!doctype html>")
    assert f"<title>{status} " in body
    assert text in body


class TestNegotiation:
    @pytest.mark.parametrize(
        ("path", "headers", "expected"),
        [
            ("/me", {}, None),
            ("/me", {"Accept": "*/*"}, None),
            ("/me", PAGE, "html"),
            ("/me", {"Accept": "application/json"}, "json"),
            ("/me", {"Accept": "text/html;q=0.5, application/json"}, "json"),
            ("/me", {**PAGE, "Content-Type": "application/json"}, "json"),
            ("/api/anything", PAGE, "json"),
            ("/api", PAGE, "json"),
            ("/apix", PAGE, "html"),
        ],
    )
    def test_preferred_format(
        self, app: Flask, path: str, headers: dict[str, str], expected: str | None
    ) -> None:
        with app.test_request_context(path, headers=headers):
            assert preferred_format() == expected

    @pytest.mark.parametrize("bad", [5, ["api"], [None]])
    def test_bad_json_prefixes_stop_start_up(self, make_app: MakeApp, bad: object) -> None:
        with pytest.raises(ConfigError, match="SESSION_JSON_PREFIXES"):
            make_app(SESSION_JSON_PREFIXES=bad)

    def test_json_prefixes_are_configurable(self, make_app: MakeApp) -> None:
        app = make_app(SESSION_JSON_PREFIXES=("/v1/",), SESSION_API_PREFIX="/auth")
        for path, expected in [("/v1/x", "json"), ("/auth/info", "json"), ("/api/x", "html")]:
            with app.test_request_context(path, headers=PAGE):
                assert preferred_format() == expected, path


class TestRefusals:
    def test_401_is_the_envelope_to_api_clients(self, client: FlaskClient) -> None:
        assert_envelope(client.get("/me"), 401, "session_required")
        assert_envelope(client.get("/me", headers={"Accept": "*/*"}), 401, "session_required")

    def test_401_is_a_page_to_a_browser(self, client: FlaskClient) -> None:
        response = client.get("/me", headers=PAGE)
        assert_page(response, 401, "An active session is required.")
        assert response.headers["Cache-Control"] == "no-store"

    def test_403_is_a_page_to_a_browser_form(self, client: FlaskClient) -> None:
        response = client.post("/ping", data={"csrf_token": "forged"}, headers=PAGE)
        assert_page(response, 403, "The CSRF token is not valid")

    def test_403_stays_json_for_fetch(self, client: FlaskClient) -> None:
        assert_envelope(client.post("/ping", json={}), 403, "csrf_missing")

    def test_page_escapes_the_message(self, app: Flask) -> None:
        @app.get("/odd")
        def odd() -> Any:
            raise SessionRequired("<script>alert(1)</script>")

        body = app.test_client().get("/odd", headers=PAGE).get_data(as_text=True)
        assert "<script>" not in body
        assert "&lt;script&gt;" in body


class TestStoreOutage:
    @pytest.fixture
    def store(self) -> SwitchableStore:
        return SwitchableStore()

    def test_outage_in_a_view_is_503_with_retry_after(
        self, make_app: MakeApp, store: SwitchableStore
    ) -> None:
        app = make_app(store=store, SESSION_STORE_RETRY_AFTER=7)

        @app.get("/accounts/<name>")
        def accounts(name: str) -> Any:
            return {"sessions": get_session_manager().list_sessions(name)}

        client = app.test_client()
        store.down = True
        response = client.get("/accounts/asha")
        assert_envelope(response, 503, "store_unavailable")
        assert response.headers["Retry-After"] == "7"
        page = client.get("/accounts/asha", headers=PAGE)
        assert_page(page, 503, "The session store is unavailable")
        assert page.headers["Retry-After"] == "7"

    def test_outage_while_loading_the_session_is_503(
        self, make_app: MakeApp, store: SwitchableStore
    ) -> None:
        client = make_app(store=store).test_client()
        log_in(client)
        store.down = True
        assert_envelope(client.get("/devices"), 503, "store_unavailable")
        assert_envelope(client.get("/me"), 503, "store_unavailable")


class TestOverrides:
    def test_an_apps_status_handler_wins(self, app: Flask) -> None:
        @app.errorhandler(401)
        def login_page(exc: Exception) -> Any:
            return "please log in", 401

        response = app.test_client().get("/me", headers=PAGE)
        assert (response.status_code, response.get_data(as_text=True)) == (401, "please log in")

    def test_an_apps_class_handler_wins(self, app: Flask) -> None:
        @app.errorhandler(CsrfMissing)
        def no_token(exc: CsrfMissing) -> Any:
            return {"mine": exc.error}, 403

        response = app.test_client().post("/ping")
        assert response.json == {"mine": "csrf_missing"}

    def test_an_apps_503_handler_sees_store_outages(self, make_app: MakeApp) -> None:
        store = SwitchableStore()
        app = make_app(store=store)

        @app.errorhandler(503)
        def busy(exc: Exception) -> Any:
            return "maintenance", 503, {"Retry-After": "60"}

        client = app.test_client()
        log_in(client)
        store.down = True
        response = client.get("/me")
        assert response.get_data(as_text=True) == "maintenance"
        assert response.headers["Retry-After"] == "60"


class TestStockErrors:
    def test_404_and_405_under_api_are_the_envelope(self, client: FlaskClient) -> None:
        assert_envelope(client.get("/api/nothing", headers=PAGE), 404, "not_found")
        response = client.put("/me", headers={"Accept": "application/json"})
        assert_envelope(response, 405, "method_not_allowed")
        assert "GET" in response.headers["Allow"]

    def test_page_paths_keep_werkzeugs_pages(self, client: FlaskClient) -> None:
        for headers in ({}, PAGE):
            response = client.get("/nothing", headers=headers)
            assert (response.status_code, response.mimetype) == (404, "text/html")

    def test_413_to_a_json_body_is_the_envelope(self, client: FlaskClient) -> None:
        response = client.post("/ping", data=b"x" * 70_000, content_type="application/json")
        assert_envelope(response, 413, "payload_too_large")

    def test_crash_under_api_is_json_without_detail(self, app: Flask) -> None:
        @app.get("/api/boom")
        def boom() -> Any:
            raise RuntimeError("internal detail")

        response = app.test_client().get("/api/boom")
        assert_envelope(response, 500, "internal_error")
        assert b"internal detail" not in response.data
