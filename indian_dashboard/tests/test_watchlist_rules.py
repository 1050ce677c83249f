"""The NSE symbol rule: one rule for the API and the page, and messages a trader can act on."""

from __future__ import annotations

from typing import Any

import pytest
from flask_session_guard import BadRequest

from indian_dashboard.api.watchlist import ALLOWED, check_symbol

from .conftest import Visitor


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Type an NSE symbol, for example RELIANCE."),
        (None, "Type the NSE symbol as text, for example RELIANCE."),
        ("A" * 21, "An NSE symbol has at most 20 characters; this one has 21."),
        (
            "STRAßE",
            "An NSE symbol cannot contain “ß”: " + ALLOWED,
        ),
        (
            "TCS\x07",
            "An NSE symbol cannot contain U+0007: " + ALLOWED,
        ),
        (" TCS", "Remove the space at the start or end: an NSE symbol has no spaces."),
        ("TCS ", "Remove the space at the start or end: an NSE symbol has no spaces."),
        ("RELI ANCE", "Remove the space inside it: an NSE symbol has no spaces."),
        (
            "ÉTAT",
            "An NSE symbol cannot contain “É”: " + ALLOWED,
        ),
    ],
)
def test_bad_symbols_say_what_is_wrong(typed: Any, message: str) -> None:
    with pytest.raises(BadRequest) as raised:
        check_symbol(typed)
    assert raised.value.description == message


@pytest.mark.parametrize(
    ("typed", "kept"),
    [("RELIANCE", "RELIANCE"), ("tcs", "TCS"), ("m&m", "M&M"), ("Bajaj-Auto", "BAJAJ-AUTO")],
)
def test_letters_are_kept_in_capitals_and_nothing_else_changes(typed: str, kept: str) -> None:
    assert check_symbol(typed) == kept
    assert check_symbol("A" * 20) == "A" * 20


def test_api_answers_with_the_rule_s_message(connected: Visitor) -> None:
    answer = connected.client.post(
        "/api/watchlist", json={"symbol": "A" * 21}, headers=connected.headers()
    )
    assert answer.status_code == 400
    assert answer.json == {
        "status": "error",
        "error": "bad_request",
        "message": "An NSE symbol has at most 20 characters; this one has 21.",
    }
    added = connected.client.post(
        "/api/watchlist", json={"symbol": "infy"}, headers=connected.headers()
    )
    assert added.json["watchlist"] == ["INFY"]  # type: ignore[index]
    removed = connected.client.delete("/api/watchlist/infy", headers=connected.headers())
    assert removed.json["watchlist"] == []  # type: ignore[index]
