"""The dashboard's own endpoints: broker connect/status/disconnect and the watchlist."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from .apps import json_of
from .conftest import KITE, Visitor
from .test_session_api import assert_envelope


class TestConnect:
    # Each broker's sign-in is in test_broker_signin.py; these are the endpoint's own checks.
    def test_connect_needs_csrf(self, client: FlaskClient) -> None:
        response = client.post("/api/broker/connect", json={"broker": "kite", "credentials": KITE})
        assert_envelope(response, 403, "csrf_missing")

    @pytest.mark.parametrize(
        "body",
        [
            {"broker": "robinhood", "credentials": KITE},
            {"broker": 7, "credentials": KITE},
            {"credentials": KITE},
            {"broker": "kite"},
            {"broker": "kite", "credentials": "x"},
            {"broker": "kite", "credentials": {"client_id": "AB1234", "api_key": "k"}},
            {"broker": "kite", "credentials": {**KITE, "extra": "x"}},
            {"broker": "kite", "credentials": {**KITE, "api_secret": ""}},
            {"broker": "kite", "credentials": {**KITE, "api_secret": 5}},
            {"broker": "kite", "credentials": {**KITE, "api_secret": "x" * 600}},
            ["kite"],
        ],
    )
    def test_bad_connect_bodies_are_400(self, visitor: Visitor, body: Any) -> None:
        visitor.fetch_token()
        response = visitor.client.post("/api/broker/connect", json=body, headers=visitor.headers())
        assert_envelope(response, 400, "bad_request")

    def test_credentials_are_never_echoed_or_logged(
        self, visitor: Visitor, caplog: pytest.LogCaptureFixture
    ) -> None:
        secret = KITE["api_secret"]
        with caplog.at_level(logging.DEBUG):
            visitor.fetch_token()
            answers = [visitor.connect().get_data(as_text=True)]
            for path in ("/api/broker/status", "/api/session/info", "/api/watchlist", "/"):
                answers.append(visitor.client.get(path).get_data(as_text=True))
            bad = visitor.client.post(
                "/api/broker/connect",
                json={"broker": "kite", "credentials": {**KITE, "api_secret": 5, "x": secret}},
                headers=visitor.headers(),
            )
            answers.append(bad.get_data(as_text=True))
        assert all(secret not in a for a in answers)
        assert all(secret not in r.getMessage() for r in caplog.records)

    def test_disconnect_ends_the_session(self, connected: Visitor) -> None:
        response = connected.client.post("/api/broker/disconnect", headers=connected.headers())
        assert response.json == {"status": "success", "message": "Disconnected"}
        assert_envelope(connected.client.get("/api/broker/status"), 401, "session_required")

    def test_disconnect_needs_csrf(self, connected: Visitor) -> None:
        response = connected.client.post("/api/broker/disconnect")
        assert_envelope(response, 403, "csrf_missing")


class TestWatchlist:
    def test_add_list_remove(self, connected: Visitor) -> None:
        c, h = connected.client, connected.headers()
        assert json_of(c.get("/api/watchlist"))["watchlist"] == []
        for symbol in ("RELIANCE", "M&M", "BAJAJ-AUTO", "RELIANCE"):
            assert c.post("/api/watchlist", json={"symbol": symbol}, headers=h).status_code == 200
        assert json_of(c.get("/api/watchlist"))["watchlist"] == ["RELIANCE", "M&M", "BAJAJ-AUTO"]
        assert json_of(c.delete("/api/watchlist/M&M", headers=h))["watchlist"] == [
            "RELIANCE",
            "BAJAJ-AUTO",
        ]
        assert_envelope(c.delete("/api/watchlist/TCS", headers=h), 404, "not_found")

    @pytest.mark.parametrize(
        "symbol", ["", "A" * 21, "TCS;DROP", "../X", "RELI ANCE", 5, None, "ÉTAT", "STRAßE"]
    )
    def test_bad_symbols_are_400(self, connected: Visitor, symbol: Any) -> None:
        response = connected.client.post(
            "/api/watchlist", json={"symbol": symbol}, headers=connected.headers()
        )
        assert_envelope(response, 400, "bad_request")

    def test_bad_symbol_in_path_is_400(self, connected: Visitor) -> None:
        response = connected.client.delete("/api/watchlist/TC%20S", headers=connected.headers())
        assert_envelope(response, 400, "bad_request")

    def test_watchlist_needs_session_and_csrf(self, app: Flask, connected: Visitor) -> None:
        assert_envelope(app.test_client().get("/api/watchlist"), 401, "session_required")
        response = connected.client.post("/api/watchlist", json={"symbol": "TCS"})
        assert_envelope(response, 403, "csrf_missing")

    def test_not_json_is_400(self, connected: Visitor) -> None:
        response = connected.client.post(
            "/api/watchlist", data="symbol=TCS", headers=connected.headers()
        )
        assert_envelope(response, 400, "bad_request")

    def test_full_watchlist_is_refused(self, connected: Visitor) -> None:
        c, h = connected.client, connected.headers()
        for i in range(200):
            assert c.post("/api/watchlist", json={"symbol": f"S{i}"}, headers=h).status_code == 200
        assert_envelope(
            c.post("/api/watchlist", json={"symbol": "ONE"}, headers=h), 400, "bad_request"
        )
        assert len(json_of(c.get("/api/watchlist"))["watchlist"]) == 200
