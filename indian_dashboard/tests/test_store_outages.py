"""Store outages: stalls, and partial outages in the log and the audit trail.

A store that stops answering (Redis SIGSTOPped, SQLite's lock held by a stopped
process) under real gunicorn: session requests answer 503 within the store timeout,
never hang, and /healthz and static files keep answering meanwhile. A partial outage
(writes failing, reads fine) is one outage in the log and in the audit trail, however
many requests meet it, and ends after a quiet interval.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask_session_guard import ManualClock
from flask_session_guard.stores.base import OUTAGE_QUIET
from tests.redis_server import RedisServer

from indian_dashboard import create_app

from .conftest import Visitor
from .http_visitor import HttpVisitor
from .servers import SECRET, LiveServer, start_server

TIMEOUT = 1.0
#: Concurrent http_visitors during the stall (as in the issue): more than the threads of
#: both workers (2 x 8).
CLIENTS = 24
#: Liveness and static files answer within this while the store stalls.
QUICK = 0.5
#: Every visitor connects the same Kite account: room for all of their sessions.
ROOM = {"SESSION_MAX_PER_ACCOUNT": str(CLIENTS)}


def _stalled_traffic(
    server: LiveServer, http_visitors: list[HttpVisitor], seconds: float
) -> dict[str, list[float]]:
    """Run session requests from every visitor for ``seconds`` while probing /healthz
    and a static file (after the first store timeout); the latencies of each, by kind
    ('503', 'other', 'health', 'static')."""
    seen: dict[str, list[float]] = {"503": [], "other": [], "health": [], "static": []}
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def note(kind: str, started: float) -> None:
        with lock:
            seen[kind].append(time.monotonic() - started)

    def visit(visitor: HttpVisitor) -> None:
        while time.monotonic() < stop_at:
            started = time.monotonic()
            answer = visitor.post("/api/watchlist", json={"symbol": "SBIN"})
            note("503" if answer.status_code == 503 else "other", started)
            time.sleep(0.05)  # a client waits a little before trying again

    def probe() -> None:
        # From one store timeout into the stall: the first calls wait out the timeout
        # before any worker knows the store is away.
        time.sleep(TIMEOUT + 0.5)
        probe_http = requests.Session()
        while time.monotonic() < stop_at:
            for kind, path in (("health", "/healthz"), ("static", "/static/css/dashboard.css")):
                started = time.monotonic()
                answer = probe_http.get(server.url + path, timeout=5)
                assert answer.status_code == 200, (path, answer.status_code)
                note(kind, started)
            time.sleep(0.05)
        probe_http.close()

    with ThreadPoolExecutor(len(http_visitors) + 1) as pool:
        futures = [pool.submit(visit, v) for v in http_visitors] + [pool.submit(probe)]
        for future in futures:
            future.result(timeout=seconds + 10)
    return seen


def _check(seen: dict[str, list[float]], server: LiveServer) -> None:
    # Throughput does not collapse: calls beyond a few per worker answer 503 at once
    # (each client, pausing 50 ms, gets several answers a second).
    assert len(seen["503"]) >= 4 * CLIENTS, len(seen["503"])
    assert not seen["other"], "a session request got something other than 503"
    # Bounded by the store timeout (plus the request's own work), never a hang.
    assert max(seen["503"]) < TIMEOUT * 2 + 0.5, max(seen["503"])
    assert seen["health"] and max(seen["health"]) < QUICK, max(seen["health"])
    assert seen["static"] and max(seen["static"]) < QUICK, max(seen["static"])
    # Not silent: the outage is in the log, once per worker.
    assert 1 <= server.log().count("session store unavailable") <= 2
    assert "Traceback" not in server.log()


@pytest.mark.server
@pytest.mark.redis
def test_paused_redis_is_503_while_healthz_and_static_answer(
    tmp_path: Path, own_redis: RedisServer, http_visitors: list[HttpVisitor]
) -> None:
    server = start_server(
        tmp_path,
        env={
            **ROOM,
            "SESSION_STORE_URL": own_redis.url,
            "SESSION_REDIS_SOCKET_TIMEOUT": str(TIMEOUT),
            "SESSION_REDIS_CONNECT_TIMEOUT": str(TIMEOUT),
        },
    )
    try:
        for _ in range(CLIENTS):
            http_visitors.append(HttpVisitor(server.url))
            http_visitors[-1].connect()
        own_redis.pause()
        try:
            seen = _stalled_traffic(server, http_visitors, 3.0)
        finally:
            own_redis.resume()
        _check(seen, server)
        for visitor in http_visitors:  # Redis back: the same sessions work
            assert visitor.post("/api/watchlist", json={"symbol": "TCS"}).status_code == 200
    finally:
        server.stop()


_HOLD_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
"""


@pytest.mark.server
def test_sqlite_lock_held_by_a_stopped_process_is_503_while_healthz_answers(
    tmp_path: Path, http_visitors: list[HttpVisitor]
) -> None:
    db = tmp_path / "live.sqlite3"
    server = start_server(
        tmp_path, env={**ROOM, "SESSION_STORE_URL": f"sqlite:///{db}?timeout={TIMEOUT}"}
    )
    holder: subprocess.Popen[str] | None = None
    try:
        for _ in range(CLIENTS):
            http_visitors.append(HttpVisitor(server.url))
            http_visitors[-1].connect()
        holder = subprocess.Popen(
            [sys.executable, "-c", _HOLD_LOCK, str(db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        os.kill(holder.pid, signal.SIGSTOP)  # a process stopped while holding the lock
        seen = _stalled_traffic(server, http_visitors, 3.0)
        _check(seen, server)
    finally:
        if holder is not None:
            os.kill(holder.pid, signal.SIGCONT)
            holder.kill()
            holder.wait(timeout=5)
            for pipe in (holder.stdin, holder.stdout):
                if pipe is not None:
                    pipe.close()
        server.stop()
    sqlite3.connect(db).close()


# -- a partial outage: SQLite's write lock held, in-process ------------------------------


def audited_sqlite_app(tmp_path: Path, clock: ManualClock, lock_timeout: float) -> Flask:
    """The dashboard on ``s.db`` with an audit trail in ``audit.jsonl``, both in ``tmp_path``."""
    return create_app(
        {
            "SECRET_KEY": SECRET,
            "SESSION_STORE_URL": f"sqlite:///{tmp_path / 's.db'}?timeout={lock_timeout}",
            "SESSION_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
        },
        clock=clock,
        instance_path=str(tmp_path),
    )


@contextlib.contextmanager
def write_lock_held(db: Path) -> Iterator[None]:
    """Another process holds the write lock: reads go on, writes time out."""
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


def audit_events(tmp_path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]


def test_partial_outage_is_one_state_change_each_way(
    tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    app = audited_sqlite_app(tmp_path, clock, 0.01)
    visitor = Visitor(app.test_client())
    visitor.connect()
    caplog.set_level(logging.INFO, logger="flask_session_guard")
    with write_lock_held(tmp_path / "s.db"):
        for _ in range(30):
            assert visitor.client.get("/api/watchlist").status_code == 200
            added = visitor.client.post(
                "/api/watchlist", json={"symbol": "SBIN"}, headers=visitor.headers()
            )
            assert added.status_code == 503
            clock.advance(0.5)
    assert visitor.client.get("/api/watchlist").status_code == 200
    kinds = [e["event"] for e in audit_events(tmp_path)]
    assert kinds.count("store_unavailable") == 1
    assert kinds.count("store_recovered") == 0
    clock.advance(OUTAGE_QUIET)
    added = visitor.client.post("/api/watchlist", json={"symbol": "TCS"}, headers=visitor.headers())
    assert added.status_code == 200
    recovered = [e for e in audit_events(tmp_path) if e["event"] == "store_recovered"]
    assert len(recovered) == 1 and recovered[0]["failures"] == 30
    store_lines = [r for r in caplog.records if r.name.startswith("flask_session_guard.stores")]
    assert [r.levelname for r in store_lines] == ["WARNING"]  # its recovery: real seconds
    app.extensions["session_manager"].store.close()


def test_store_outage_is_logged_once_and_recovery_once(tmp_path: Path, clock: ManualClock) -> None:
    app = audited_sqlite_app(tmp_path, clock, 0.02)
    visitor = Visitor(app.test_client())
    visitor.connect()
    with write_lock_held(tmp_path / "s.db"):
        for _ in range(3):
            assert visitor.extend().status_code == 503
    assert visitor.extend().status_code == 200
    # Over only after a quiet interval (a partial outage is one outage).
    clock.advance(OUTAGE_QUIET)
    for _ in range(3):
        assert visitor.extend().status_code == 200
    records = audit_events(tmp_path)
    events = [r["event"] for r in records]
    assert events.count("store_unavailable") == 1
    assert events.count("store_recovered") == 1
    recovered = next(r for r in records if r["event"] == "store_recovered")
    assert recovered["failures"] == 3
