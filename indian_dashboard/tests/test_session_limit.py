"""SESSION_MAX_PER_ACCOUNT and the paginated session list.

The policy at the limit: a new login always succeeds and the account's oldest
session ends; its holder is told 401 ``session_limit``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_session_guard import ManualClock

from indian_dashboard import create_app
from indian_dashboard.config import ConfigError

from .apps import json_of
from .conftest import Visitor
from .http_visitor import HttpVisitor
from .servers import SECRET, start_server
from .test_session_api import assert_envelope


@pytest.fixture
def limited(clock: ManualClock, tmp_path: Path, store_url: str) -> Any:
    """The dashboard on each store with SESSION_MAX_PER_ACCOUNT=3."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": SECRET,
            "SESSION_STORE_URL": store_url,
            "SESSION_MAX_PER_ACCOUNT": 3,
        },
        clock=clock,
        instance_path=str(tmp_path / "instance"),
    )
    yield app
    app.extensions["session_manager"].store.close()


def devices(app: Flask, clock: ManualClock, count: int) -> list[Visitor]:
    """``count`` browsers connecting Kite AB1234 one second apart, oldest first."""
    made = []
    for _ in range(count):
        visitor = Visitor(app.test_client())
        visitor.connect()
        made.append(visitor)
        clock.advance(1)
    return made


class TestLimit:
    def test_the_oldest_ends_and_its_holder_is_told_session_limit(
        self, limited: Flask, clock: ManualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        first, second, third = devices(limited, clock, 3)
        with caplog.at_level(logging.INFO, logger="flask_session_guard.audit"):
            (fourth,) = devices(limited, clock, 1)
        # A write is refused too (before any token check), and says why.
        refused = first.client.post(
            "/api/watchlist", json={"symbol": "TCS"}, headers=first.headers()
        )
        assert_envelope(refused, 401, "session_limit")
        for kept in (second, third, fourth):
            assert kept.session_info().status_code == 200
        sessions = json_of(fourth.client.get("/api/session/list"))["sessions"]
        assert len(sessions) == 3
        assert first.info["session_id"] not in {s["session_id"] for s in sessions}
        records = [json.loads(r.getMessage()) for r in caplog.records if r.name.endswith("audit")]
        revoked = [r for r in records if r["event"] == "session_revoked"]
        assert [r["by"] for r in revoked] == ["session_limit"]

    def test_the_account_never_holds_more_than_the_limit(
        self, limited: Flask, clock: ManualClock
    ) -> None:
        visitors = devices(limited, clock, 8)
        answers = [v.session_info() for v in visitors]
        assert [a.status_code for a in answers] == [401] * 5 + [200] * 3
        assert {a.json["error"] for a in answers[:5]} == {"session_limit"}

    def test_reconnecting_in_the_same_browser_ends_nobody_else(
        self, limited: Flask, clock: ManualClock
    ) -> None:
        first, second, third = devices(limited, clock, 3)
        third.token = None
        third.connect()  # replaces its own session: still three
        assert first.session_info().status_code == 200
        assert second.session_info().status_code == 200

    def test_other_accounts_are_not_counted(self, limited: Flask, clock: ManualClock) -> None:
        first, _, _ = devices(limited, clock, 3)
        other = Visitor(limited.test_client())
        other.connect("dhan", {"client_id": "ZZ9", "access_token": "t"})
        assert first.session_info().status_code == 200

    def test_default_is_ten(self, app: Flask) -> None:
        assert app.extensions["session_manager"].settings.max_per_account == 10

    @pytest.mark.parametrize("value", [0, -1, "ten", 2.5])
    def test_bad_limit_stops_start_up(self, tmp_path: Path, value: object) -> None:
        with pytest.raises(ConfigError, match="SESSION_MAX_PER_ACCOUNT"):
            create_app(
                {
                    "SECRET_KEY": SECRET,
                    "SESSION_STORE_URL": "memory://",
                    "SESSION_MAX_PER_ACCOUNT": value,
                },
                instance_path=str(tmp_path),
            )


class TestPagination:
    def test_pages_cover_every_session_once(self, app: Flask, clock: ManualClock) -> None:
        visitors = devices(app, clock, 7)
        me = visitors[-1]
        seen: list[str] = []
        offset: int | None = 0
        pages = 0
        while offset is not None:
            body = json_of(me.client.get(f"/api/session/list?limit=3&offset={offset}"))
            assert body["total"] == 7 and body["limit"] == 3 and body["offset"] == offset
            assert len(body["sessions"]) <= 3
            seen += [s["session_id"] for s in body["sessions"]]
            offset = body["next_offset"]
            pages += 1
        assert pages == 3
        assert seen == [v.info["session_id"] for v in reversed(visitors)]  # newest first

    def test_default_page_and_past_the_end(self, app: Flask, clock: ManualClock) -> None:
        me = devices(app, clock, 2)[-1]
        body = json_of(me.client.get("/api/session/list"))
        assert (body["limit"], body["offset"], body["next_offset"], body["total"]) == (
            20,
            0,
            None,
            2,
        )
        past = json_of(me.client.get("/api/session/list?offset=50"))
        assert past["sessions"] == [] and past["next_offset"] is None

    @pytest.mark.parametrize(
        "query",
        [
            "limit=0",
            "limit=101",
            "limit=x",
            "offset=-1",
            "limit=1e3",
            "limit=%D9%A3",
            "offset=9999999999",
        ],
    )
    def test_bad_parameters_are_a_400(self, connected: Visitor, query: str) -> None:
        assert_envelope(connected.client.get(f"/api/session/list?{query}"), 400, "bad_request")


@pytest.mark.server
def test_limit_and_pages_over_http(tmp_path: Path) -> None:
    """gunicorn, two workers, the SQLite file: the oldest of three ends at the fourth login."""
    server = start_server(tmp_path, env={"SESSION_MAX_PER_ACCOUNT": "3"})
    visitors = [HttpVisitor(server.url) for _ in range(4)]
    try:
        for visitor in visitors:
            visitor.connect()
        answer = visitors[0].get("/api/session/info")
        assert answer.status_code == 401 and answer.json()["error"] == "session_limit"
        for visitor in visitors[1:]:
            assert visitor.get("/api/session/info").status_code == 200
        page = visitors[3].get("/api/session/list?limit=2").json()
        assert page["total"] == 3 and len(page["sessions"]) == 2 and page["next_offset"] == 2
        rest = visitors[3].get("/api/session/list?limit=2&offset=2").json()
        assert len(rest["sessions"]) == 1 and rest["next_offset"] is None
    finally:
        for visitor in visitors:
            visitor.close()
        server.stop()


def test_a_login_that_fails_afterwards_ends_nobody(limited: Flask, clock: ManualClock) -> None:
    """The oldest ends only once the new login's answer succeeds."""
    from flask import jsonify

    from indian_dashboard.session_manager import csrf_exempt, get_session_manager

    @limited.post("/_login_then_fail")
    @csrf_exempt
    def login_then_fail() -> Any:
        get_session_manager().create_session({"broker": "kite"}, account="kite:AB1234")
        return jsonify(status="error", error="internal_error", message="broke"), 500

    first, _, _ = devices(limited, clock, 3)
    assert limited.test_client().post("/_login_then_fail").status_code == 500
    assert first.session_info().status_code == 200
