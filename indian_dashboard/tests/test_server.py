"""The real server: gunicorn with two workers sharing the SQLite file, over HTTP."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest
import requests

from .http_visitor import HttpVisitor
from .servers import LiveServer, start_server

pytestmark = pytest.mark.server


def test_full_session_over_http(live_server: LiveServer) -> None:
    visitor = HttpVisitor(live_server.url)
    assert visitor.get("/").status_code == 200
    visitor.connect()
    # Many requests: with two workers both serve this session.
    for _ in range(20):
        assert visitor.get("/api/session/info").json()["session"]["is_active"] is True
    assert visitor.post("/api/session/extend").json()["extended"] in (True, False)
    assert visitor.post("/api/watchlist", json={"symbol": "INFY"}).status_code == 200
    assert visitor.get("/api/watchlist").json()["watchlist"] == ["INFY"]
    assert visitor.post("/api/session/clear").json()["message"] == "Session cleared"
    assert visitor.get("/api/session/info").status_code == 401
    log = live_server.log()
    assert visitor.token is not None and visitor.token not in log
    assert all(value and value not in log for value in visitor.http.cookies.values())


def test_twenty_concurrent_adds_through_two_workers(live_server: LiveServer) -> None:
    visitor = HttpVisitor(live_server.url)
    visitor.connect()
    cookies = {"session": visitor.cookie()}
    token = visitor.token
    assert token is not None
    errors: list[str] = []

    def add(symbol: str) -> None:
        answer = requests.post(
            live_server.url + "/api/watchlist",
            json={"symbol": symbol},
            headers={"X-CSRF-Token": token},
            cookies=cookies,
            timeout=20,
        )
        if answer.status_code != 200:
            errors.append(answer.text)

    symbols = [f"NSE{i}" for i in range(20)]
    threads = [threading.Thread(target=add, args=(s,)) for s in symbols]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert sorted(visitor.get("/api/watchlist").json()["watchlist"]) == sorted(symbols)


def test_session_survives_server_restart(tmp_path: Path) -> None:
    server = start_server(tmp_path, name="first")
    try:
        visitor = HttpVisitor(server.url)
        visitor.connect()
        visitor.post("/api/watchlist", json={"symbol": "TCS"})
    finally:
        server.stop()
    again = start_server(tmp_path, name="second")
    try:
        visitor.base_url = again.url  # same cookie jar; cookies are not port-bound
        assert visitor.get("/api/watchlist").json()["watchlist"] == ["TCS"]
    finally:
        again.stop()


def test_generated_secret_key_is_kept_in_instance(tmp_path: Path) -> None:
    server = start_server(tmp_path, env={"FLASK_SECRET_KEY": "", "SESSION_STORE_URL": ""})
    try:
        visitor = HttpVisitor(server.url)
        visitor.connect()
        assert visitor.get("/api/session/info").status_code == 200
    finally:
        server.stop()
    key_file = tmp_path / "instance" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert (tmp_path / "instance" / "sessions.sqlite3").exists()
    log = server.log()
    assert log.count("Production must set FLASK_SECRET_KEY") == 1
    assert key_file.read_text().strip() not in log


def test_metrics_add_up_across_workers(tmp_path: Path) -> None:
    metrics_dir = tmp_path / "prom"
    metrics_dir.mkdir()
    server = start_server(
        tmp_path,
        env={"SESSION_METRICS": "1", "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
    )
    # Which worker accepts a connection is the kernel's choice: connect until both
    # have served (each writes its store timings to its own file), then a few more.
    connects = 0
    try:
        while len(list(metrics_dir.glob("histogram_*.db"))) < 2 or connects < 12:
            assert connects < 500, "one gunicorn worker served every request"
            HttpVisitor(server.url).connect()
            connects += 1
        text = requests.get(server.url + "/metrics", timeout=10).text
    finally:
        server.stop()
    line = next(
        x
        for x in text.splitlines()
        if x.startswith('dashboard_sessions_created_total{kind="login"}')
    )
    assert float(line.split()[-1]) == connects
