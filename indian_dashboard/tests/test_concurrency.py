"""Concurrent requests in one session: per-key writes and atomic updates lose nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import Flask, jsonify

from indian_dashboard.session_manager import get_session_manager

from .apps import json_of
from .conftest import Visitor


def run_threads(count: int, work: Callable[[int], object]) -> None:
    """Run ``work(i)`` in ``count`` threads released together; re-raise any failure."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def target(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            work(i)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors


def tab(app: Flask, main: Visitor) -> Visitor:
    """Another client presenting the same session, as a second browser tab would."""
    other = Visitor(app.test_client())
    other.client.set_cookie("session", main.cookie() or "")
    other.token = main.token
    return other


def test_twenty_concurrent_watchlist_adds_are_all_kept(app: Flask, connected: Visitor) -> None:
    symbols = [f"SYM{i}" for i in range(20)]

    def add(i: int) -> None:
        response = tab(app, connected).client.post(
            "/api/watchlist", json={"symbol": symbols[i]}, headers=connected.headers()
        )
        assert response.status_code == 200, response.json

    run_threads(20, add)
    watchlist = json_of(connected.client.get("/api/watchlist"))["watchlist"]
    assert sorted(watchlist) == sorted(symbols)


def test_writes_to_different_keys_never_overwrite_each_other(app: Flask) -> None:
    """Every request loads all keys before any saves; each then changes only its own."""
    names = [f"key{i}" for i in range(16)]
    all_loaded = threading.Barrier(len(names))

    @app.post("/t/set/<name>")
    def set_key(name: str) -> Any:
        manager = get_session_manager()
        assert manager.get_user_data(name) == "initial"  # the whole session is loaded
        all_loaded.wait(timeout=10)
        manager.store_user_data(name, {"written_by": name})
        return jsonify(status="success")

    @app.post("/t/init")
    def init() -> Any:
        for name in names:
            get_session_manager().store_user_data(name, "initial")
        return jsonify(status="success")

    main = Visitor(app.test_client())
    main.connect()
    main.client.post("/t/init", headers=main.headers())
    run_threads(
        len(names),
        lambda i: tab(app, main).client.post(f"/t/set/{names[i]}", headers=main.headers()),
    )
    store = app.extensions["session_manager"].store
    record = store.get(main.info["session_id"], 0)
    assert record is not None
    manager_data = record.data
    for name in names:
        assert manager_data[name] == f'{{"written_by":"{name}"}}'
    assert manager_data["broker"] == '"kite"'


def test_update_user_data_loses_no_update_under_contention(app: Flask) -> None:
    @app.post("/t/incr")
    def incr() -> Any:
        return jsonify(n=get_session_manager().update_user_data("n", lambda v: (v or 0) + 1))

    main = Visitor(app.test_client())
    main.connect()

    def hammer(i: int) -> None:
        client = tab(app, main).client
        for _ in range(25):
            assert client.post("/t/incr", headers=main.headers()).status_code == 200

    run_threads(8, hammer)
    store = app.extensions["session_manager"].store
    record = store.get(main.info["session_id"], 0)
    assert record is not None
    assert record.data["n"] == "200"


def test_logout_racing_writers_brings_nothing_back(app: Flask) -> None:
    """Writers that loaded the session before a logout and save after it write nothing:
    the session stays gone, with none of their keys, and no writer gets a 5xx."""
    names = [f"late{i}" for i in range(8)]
    loaded = threading.Barrier(len(names) + 1)
    logged_out = threading.Event()

    @app.post("/t/late/<name>")
    def late(name: str) -> Any:
        manager = get_session_manager()
        assert manager.get_user_data("broker") == "kite"  # loaded while alive
        loaded.wait(timeout=10)
        assert logged_out.wait(timeout=10)
        if int(name.removeprefix("late")) % 2:
            manager.update_user_data(name, lambda v: (v or 0) + 1)  # atomic update
        else:
            manager.store_user_data(name, "written after logout")  # per-key save
        return jsonify(status="success")

    main = Visitor(app.test_client())
    main.connect()
    key = main.info["session_id"]
    statuses: list[int] = []

    def write(name: str) -> None:
        answer = tab(app, main).client.post(f"/t/late/{name}", headers=main.headers())
        statuses.append(answer.status_code)

    writers = [threading.Thread(target=write, args=(name,)) for name in names]
    for writer in writers:
        writer.start()
    loaded.wait(timeout=10)
    assert main.logout().status_code == 200
    logged_out.set()
    for writer in writers:
        writer.join(timeout=30)
    assert len(statuses) == len(names) and all(s < 500 for s in statuses), statuses
    store = app.extensions["session_manager"].store
    assert store.get(key, 0) is None
    replay = tab(app, main)
    assert replay.client.get("/api/session/info").status_code == 401
