"""The session API end to end on every store (memory, SQLite, Redis)."""

from __future__ import annotations

import threading

from flask import Flask
from flask_session_guard.clock import ManualClock

from .apps import json_of
from .conftest import Visitor


def test_connect_then_info_and_watchlist(connected: Visitor) -> None:
    info = connected.session_info()
    assert info.status_code == 200 and info.json["session"]["is_active"] is True
    added = connected.client.post(
        "/api/watchlist", json={"symbol": "RELIANCE"}, headers=connected.headers()
    )
    assert added.status_code == 200 and json_of(added)["watchlist"] == ["RELIANCE"]
    assert json_of(connected.client.get("/api/watchlist"))["watchlist"] == ["RELIANCE"]
    removed = connected.client.delete("/api/watchlist/RELIANCE", headers=connected.headers())
    assert removed.status_code == 200 and json_of(removed)["watchlist"] == []


def test_logout_ends_the_session_for_good(connected: Visitor, app: Flask) -> None:
    cookie = connected.cookie()
    assert connected.logout().status_code == 200
    replay = app.test_client()
    replay.set_cookie("session", cookie or "")
    answer = replay.get("/api/session/info")
    assert answer.status_code == 401 and json_of(answer)["error"] == "session_expired"


def test_idle_session_expires(connected: Visitor, clock: ManualClock) -> None:
    clock.advance(601)
    answer = connected.session_info()
    assert answer.status_code == 401 and answer.json["error"] == "session_expired"


def test_polling_info_does_not_extend(connected: Visitor, clock: ManualClock) -> None:
    for _ in range(3):
        clock.advance(250)
        connected.session_info()
    assert connected.session_info().status_code == 401


def test_activity_extends_and_absolute_lifetime_holds(
    connected: Visitor, clock: ManualClock
) -> None:
    for _ in range(6):
        clock.advance(550)
        assert connected.client.get("/api/watchlist").status_code == 200
    clock.advance(550)
    assert connected.client.get("/api/watchlist").status_code == 401


def test_late_write_after_logout_does_not_resurrect(connected: Visitor, app: Flask) -> None:
    other = app.test_client()
    other.set_cookie("session", connected.cookie() or "")
    assert connected.logout().status_code == 200
    late = other.post("/api/session/extend", headers=connected.headers())
    assert late.status_code == 401
    assert other.get("/api/session/info").status_code == 401


def test_twenty_concurrent_watchlist_adds_are_all_kept(connected: Visitor, app: Flask) -> None:
    symbols = [f"SYM{i}" for i in range(20)]
    barrier = threading.Barrier(len(symbols))
    statuses: list[int] = []

    def add(symbol: str) -> None:
        client = app.test_client()
        client.set_cookie("session", connected.cookie() or "")
        barrier.wait()
        answer = client.post("/api/watchlist", json={"symbol": symbol}, headers=connected.headers())
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=add, args=(s,)) for s in symbols]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 20
    assert sorted(json_of(connected.client.get("/api/watchlist"))["watchlist"]) == sorted(symbols)
