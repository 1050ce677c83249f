"""Several app servers (gunicorn, 2 workers each) sharing one Redis; Redis going away.

Real processes throughout: gunicorn on loopback ports and a redis-server started
by the fixtures. Waits are real but bounded by a few seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.redis_server import RedisServer

from .conftest import KITE
from .http_visitor import HttpVisitor
from .servers import LiveServer, serving, start_server

pytestmark = [pytest.mark.server, pytest.mark.redis]

SOCKET_TIMEOUT = 0.5


def _redis_env(url: str) -> dict[str, str]:
    return {
        "SESSION_STORE_URL": url,
        "SESSION_REDIS_SOCKET_TIMEOUT": str(SOCKET_TIMEOUT),
        "SESSION_REDIS_CONNECT_TIMEOUT": str(SOCKET_TIMEOUT),
    }


@pytest.fixture
def two_servers(tmp_path: Path, redis_url: str) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two gunicorn servers, 2 workers each, on two ports, sharing the private Redis."""
    first = start_server(tmp_path, env=_redis_env(redis_url), name="first")
    try:
        second = start_server(tmp_path, env=_redis_env(redis_url), name="second")
        try:
            yield first, second
        finally:
            second.stop()
    finally:
        first.stop()


def _new(made: list[HttpVisitor], base_url: str) -> HttpVisitor:
    one = HttpVisitor(base_url)
    made.append(one)
    return one


# -- two servers, one Redis ------------------------------------------------------------------


@pytest.fixture
def alice(
    two_servers: tuple[LiveServer, LiveServer], http_visitors: list[HttpVisitor]
) -> HttpVisitor:
    """Connected through the first of the two servers."""
    alice = _new(http_visitors, two_servers[0].url)
    alice.connect()
    return alice


def test_session_made_on_one_server_works_on_the_other(
    two_servers: tuple[LiveServer, LiveServer], alice: HttpVisitor
) -> None:
    second = two_servers[1]
    on_second = alice.get("/api/session/info", base_url=second.url)
    assert on_second.status_code == 200
    assert on_second.json()["session"]["session_id"] == alice.info["session_id"]
    status = alice.get("/api/broker/status", base_url=second.url)
    assert status.status_code == 200, status.text
    added = alice.post("/api/watchlist", json={"symbol": "TCS"}, base_url=second.url)
    assert added.status_code == 200
    assert alice.get("/api/watchlist").json()["watchlist"] == ["TCS"]


def test_logout_on_one_server_is_401_on_the_other_at_once(
    two_servers: tuple[LiveServer, LiveServer], alice: HttpVisitor, http_visitors: list[HttpVisitor]
) -> None:
    second = two_servers[1]
    other_tab = alice.clone(second.url)
    http_visitors.append(other_tab)
    assert other_tab.get("/api/watchlist").status_code == 200
    assert alice.post("/api/session/clear").status_code == 200
    answer = other_tab.get("/api/watchlist")
    assert answer.status_code == 401
    assert answer.json()["error"] == "session_expired"
    assert other_tab.post("/api/session/extend").status_code == 401


def test_extension_on_one_server_is_seen_by_the_other(
    two_servers: tuple[LiveServer, LiveServer], alice: HttpVisitor
) -> None:
    second = two_servers[1]
    time.sleep(1.1)  # timestamps are reported to the second
    extended = alice.post("/api/session/extend")
    assert extended.status_code == 200
    new_expiry = extended.json()["session"]["expires_at"]
    assert new_expiry > alice.info["expires_at"]
    seen = alice.get("/api/session/info", base_url=second.url).json()["session"]
    assert seen["expires_at"] == new_expiry
    assert seen["last_activity"] == extended.json()["session"]["last_activity"]


def test_twenty_concurrent_adds_through_two_servers_are_all_kept(
    two_servers: tuple[LiveServer, LiveServer], alice: HttpVisitor, http_visitors: list[HttpVisitor]
) -> None:
    first, second = two_servers
    symbols = [f"NSE{i}" for i in range(20)]
    tabs = [alice.clone((first, second)[i % 2].url) for i in range(20)]
    http_visitors.extend(tabs)
    barrier = threading.Barrier(len(tabs))
    statuses: list[int] = []

    def add(tab: HttpVisitor, symbol: str) -> None:
        barrier.wait()
        statuses.append(tab.post("/api/watchlist", json={"symbol": symbol}).status_code)

    threads = [threading.Thread(target=add, args=pair) for pair in zip(tabs, symbols, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 20
    kept = alice.get("/api/watchlist", base_url=second.url).json()["watchlist"]
    assert sorted(kept) == sorted(symbols)


# -- fail closed when Redis is away ----------------------------------------------------------


@pytest.fixture
def server_on_own_redis(tmp_path: Path, own_redis: RedisServer) -> Iterator[LiveServer]:
    """One gunicorn server (2 workers) on a Redis this test may pause, stop and restart."""
    yield from serving(tmp_path, env=_redis_env(own_redis.url), name="outage")


def _assert_503(answer: object, *, started: float) -> None:
    import requests

    assert isinstance(answer, requests.Response)
    assert answer.status_code == 503, answer.text
    if answer.request.path_url == "/":
        # A page stays a page: the outage page, not the JSON envelope.
        assert answer.headers["Content-Type"].startswith("text/html")
        assert "unavailable" in answer.text
    else:
        assert answer.json()["error"] == "store_unavailable"
    assert answer.headers["Retry-After"] == "5"
    assert "Set-Cookie" not in answer.headers
    # One socket timeout, plus the time a busy worker may take to pick it up.
    assert time.monotonic() - started < SOCKET_TIMEOUT * 2 + 1.0


def _connected_with_data(made: list[HttpVisitor], server: LiveServer) -> HttpVisitor:
    alice = _new(made, server.url)
    alice.connect()
    for symbol in ("RELIANCE", "INFY"):
        assert alice.post("/api/watchlist", json={"symbol": symbol}).status_code == 200
    return alice


def _requests_needing_a_session(alice: HttpVisitor) -> None:
    for method, path in [
        ("GET", "/api/watchlist"),
        ("GET", "/api/session/info"),
        ("POST", "/api/session/extend"),
        ("POST", "/api/watchlist"),
        ("GET", "/"),
    ]:
        started = time.monotonic()
        answer = alice.request(method, path, json={"symbol": "TCS"} if method == "POST" else None)
        _assert_503(answer, started=started)


def test_paused_redis_answers_503_then_the_same_cookie_works(
    server_on_own_redis: LiveServer, own_redis: RedisServer, http_visitors: list[HttpVisitor]
) -> None:
    alice = _connected_with_data(http_visitors, server_on_own_redis)
    own_redis.pause()
    try:
        _requests_needing_a_session(alice)
        newcomer = _new(http_visitors, server_on_own_redis.url)
        # A pre-login token costs the store nothing: it is there at once.
        token = newcomer.get("/api/session/csrf-token")
        assert token.status_code == 200
        newcomer.token = token.json()["csrf_token"]
        started = time.monotonic()
        login = {"broker": "kite", "credentials": KITE}
        _assert_503(newcomer.post("/api/broker/connect", json=login), started=started)
        assert len(newcomer.http.cookies) == 1  # the pre-login cookie, no session
        assert newcomer.get("/healthz").status_code == 200
    finally:
        own_redis.resume()
    answer = alice.get("/api/watchlist")
    assert answer.status_code == 200
    assert answer.json()["watchlist"] == ["RELIANCE", "INFY"]
    assert alice.post("/api/session/extend").status_code == 200
    log = server_on_own_redis.log()
    assert "Traceback" not in log
    warnings = log.count("WARNING flask_session_guard.stores.redis: session store unavailable")
    recoveries = log.count("session store available again")
    # One warning per worker process that saw the outage (2 workers), not one per
    # request; a recovery line only after a quiet interval (test_outage_log.py), so
    # none yet from requests made right after the resume.
    assert 1 <= warnings <= 2
    assert recoveries == 0


def test_redis_restarted_with_its_data_keeps_sessions(
    server_on_own_redis: LiveServer, own_redis: RedisServer, http_visitors: list[HttpVisitor]
) -> None:
    alice = _connected_with_data(http_visitors, server_on_own_redis)
    own_redis.stop()
    _requests_needing_a_session(alice)
    assert alice.get("/healthz").status_code == 200
    own_redis.start()  # same port, same append-only file
    answer = alice.get("/api/watchlist")
    assert answer.status_code == 200, answer.text
    assert answer.json()["watchlist"] == ["RELIANCE", "INFY"]
    assert alice.post("/api/watchlist", json={"symbol": "SBIN"}).status_code == 200
    assert "Traceback" not in server_on_own_redis.log()


def test_redis_restarted_empty_ends_sessions_cleanly(
    server_on_own_redis: LiveServer, own_redis: RedisServer, http_visitors: list[HttpVisitor]
) -> None:
    alice = _connected_with_data(http_visitors, server_on_own_redis)
    own_redis.stop()
    own_redis.wipe()
    own_redis.start()
    for method, path in [
        ("GET", "/api/watchlist"),
        ("GET", "/api/session/info"),
        ("POST", "/api/session/extend"),
        ("POST", "/api/watchlist"),
    ]:
        answer = alice.request(method, path, json={"symbol": "TCS"} if method == "POST" else None)
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"] in ("session_expired", "session_required")
    # A fresh connect works on the empty Redis.
    alice.connect()
    assert alice.get("/api/watchlist").status_code == 200
    assert "Traceback" not in server_on_own_redis.log()
