"""A request that fails (5xx) persists nothing: no session change and no new session."""

from __future__ import annotations

from typing import Any

from flask import Flask
from tests.counting import CountingStore

from indian_dashboard.session_manager import get_session_manager

from .apps import json_of
from .conftest import Visitor


class TestFailedRequests:
    def test_5xx_does_not_persist_session_changes(self, app: Flask) -> None:
        @app.post("/t/fail")
        def fail() -> Any:
            get_session_manager().store_user_data("broker", "changed")
            raise RuntimeError("boom")

        app.config["PROPAGATE_EXCEPTIONS"] = False
        visitor = Visitor(app.test_client())
        visitor.connect()
        assert visitor.client.post("/t/fail", headers=visitor.headers()).status_code == 500
        status = json_of(visitor.client.get("/api/broker/status"))
        assert status["broker"]["name"] == "kite"

    def test_5xx_does_not_create_a_session(self, app: Flask, counting: CountingStore) -> None:
        @app.post("/t/fail-create")
        def fail_create() -> Any:
            get_session_manager().create_session({"broker": "kite"})
            raise RuntimeError("boom")

        app.config["PROPAGATE_EXCEPTIONS"] = False
        visitor = Visitor(app.test_client())
        visitor.fetch_token()
        created_before = counting.calls["create"]
        response = visitor.client.post("/t/fail-create", headers=visitor.headers())
        assert response.status_code == 500
        assert "Set-Cookie" not in response.headers
        assert counting.calls["create"] == created_before
