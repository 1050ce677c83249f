"""The dashboard page's account card: what the broker confirmed, shown when it is there."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, request
from flask_session_guard import get_session_manager

from indian_dashboard.account import account_summary

from .conftest import Visitor


@pytest.fixture
def store_user_data(app: Flask) -> Callable[[Visitor, dict[str, Any]], None]:
    """Store user data in a visitor's session (as the broker sign-in does)."""

    @app.post("/test/user-data")
    def put() -> dict[str, Any]:
        manager = get_session_manager()
        for key, value in (request.get_json() or {}).items():
            manager.store_user_data(key, value)
        return {"status": "success", "account": account_summary()}

    def store(visitor: Visitor, data: dict[str, Any]) -> None:
        answer = visitor.client.post("/test/user-data", json=data, headers=visitor.headers())
        assert answer.status_code == 200, answer.json

    return store


def page(visitor: Visitor) -> str:
    answer = visitor.client.get("/")
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def test_card_shows_the_confirmed_account_and_token_expiry(
    visitor: Visitor, store_user_data: Any
) -> None:
    visitor.connect()
    store_user_data(visitor, {"user_name": "Asha Rao", "token_expires_at": 1767225600})
    html = page(visitor)
    assert '<dd id="broker-name">Zerodha Kite</dd>' in html
    assert '<span id="user-name">Asha Rao</span> · <span id="client-id">AB1234</span>' in html
    assert 'datetime="2026-01-01T00:00:00+00:00"' in html
    assert "Broker access token expires" in html


def test_card_leaves_out_what_the_session_lacks(visitor: Visitor, store_user_data: Any) -> None:
    visitor.connect()
    store_user_data(visitor, {"token_expires_at": "not a time", "user_name": "  "})
    html = page(visitor)
    assert 'id="user-name"' not in html
    assert "Broker access token expires" not in html
    assert '<span id="client-id">AB1234</span>' in html


def test_token_expiry_as_iso_text_and_account_key(visitor: Visitor, store_user_data: Any) -> None:
    visitor.connect()
    store_user_data(
        visitor,
        {"token_expires_at": "2026-03-01T06:00:00+05:30", "client_id": None, "account": "kite:ZX9"},
    )
    html = page(visitor)
    assert 'datetime="2026-03-01T00:30:00+00:00"' in html
    assert '<span id="client-id">ZX9</span>' in html


def test_connect_page_gets_no_account(client: Any) -> None:
    html = client.get("/").get_data(as_text=True)
    assert "Skip to main content" in html
    assert 'id="client-id"' not in html
