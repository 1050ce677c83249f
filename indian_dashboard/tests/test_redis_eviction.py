"""Redis that evicts keys when full (``maxmemory`` with an evicting policy).

A real redis-server of each test's own, started with ``--maxmemory 2mb`` and the
policy under test: the start-up check names the setting, and "sign out
everywhere" still reaches every session when evictions emptied an account index.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_session_guard import ManualClock
from flask_session_guard.stores.redis import RedisSessionStore
from tests.redis_server import RedisServer

from indian_dashboard import create_app

from .apps import json_of
from .conftest import Visitor
from .servers import SECRET

pytestmark = pytest.mark.redis


def _server(tmp_path: Path, policy: str) -> RedisServer:
    server = RedisServer(
        tmp_path / f"redis-{policy}",
        extra_args=["--maxmemory", "2mb", "--maxmemory-policy", policy],
    )
    server.start()
    return server


@pytest.fixture
def lru_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A private Redis of 2 MB that evicts any key (allkeys-lru)."""
    server = _server(tmp_path, "allkeys-lru")
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("policy", ["allkeys-lru", "volatile-lru", "allkeys-random"])
def test_an_evicting_policy_is_named_loudly_at_start_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, policy: str
) -> None:
    server = _server(tmp_path, policy)
    try:
        caplog.set_level(logging.INFO, logger="flask_session_guard")
        RedisSessionStore.from_url(server.url, instance_path=str(tmp_path)).close()
    finally:
        server.stop()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert f"maxmemory-policy is {policy}" in warnings[0]
    assert "set maxmemory-policy noeviction" in warnings[0]


def test_noeviction_starts_quietly(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    server = _server(tmp_path, "noeviction")
    try:
        caplog.set_level(logging.INFO, logger="flask_session_guard")
        RedisSessionStore.from_url(server.url, instance_path=str(tmp_path)).close()
    finally:
        server.stop()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_refused_config_get_is_one_line_not_a_failure(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A managed Redis that hides CONFIG (renamed away): start-up goes on and says so."""
    server = RedisServer(tmp_path / "redis", extra_args=["--rename-command", "CONFIG", ""])
    server.start()
    try:
        caplog.set_level(logging.INFO, logger="flask_session_guard")
        store = RedisSessionStore.from_url(server.url, instance_path=str(tmp_path))
        assert store.get("k", 1.0) is None
        store.close()
    finally:
        server.stop()
    assert "cannot read Redis maxmemory-policy" in caplog.text


def _fill_until_evicted(server: RedisServer) -> None:
    """Write filler keys until Redis has evicted at least one key (its own choice)."""
    admin = server.client()
    n = 0
    while int(admin.info("stats")["evicted_keys"]) == 0:
        with admin.pipeline(transaction=False) as pipe:
            for _ in range(100):
                n += 1
                pipe.set(f"filler:{n}", "x" * 1000)
            pipe.execute()
        assert n < 100_000, "Redis never evicted"
    # Room again, so that nothing more is evicted while the test looks.
    for start in range(1, n + 1, 1000):
        admin.delete(*(f"filler:{i}" for i in range(start, min(start + 1000, n + 1))))


def test_sign_out_everywhere_reaches_sessions_missing_from_the_index(
    lru_redis: RedisServer, tmp_path: Path
) -> None:
    app: Flask = create_app(
        {"TESTING": True, "SECRET_KEY": SECRET, "SESSION_STORE_URL": lru_redis.url},
        clock=ManualClock(),
        instance_path=str(tmp_path / "instance"),
    )
    visitors = [Visitor(app.test_client()) for _ in range(8)]
    for visitor in visitors:
        visitor.connect()  # the same Kite account: one index
    _fill_until_evicted(lru_redis)
    admin = lru_redis.client()
    # Which keys LRU picks is Redis's choice; remove the index as an eviction would.
    admin.delete("session:account:{kite:AB1234}")
    # Which sessions survive is Redis's choice too: the one who signs out the others is
    # any survivor.
    alive = [v for v in visitors if admin.exists("session:{" + v.info["session_id"] + "}")]
    assert len(alive) >= 2, "the filler evicted nearly every session: nothing left to test"
    me, survivors = alive[0], alive[1:]
    assert me.session_info().status_code == 200
    answer = me.client.post("/api/session/revoke-others", headers=me.headers())
    assert answer.status_code == 200
    assert json_of(answer)["revoked"] == len(survivors)
    for visitor in visitors:
        if visitor is not me:
            assert visitor.session_info().status_code == 401
    assert me.session_info().status_code == 200
    app.extensions["session_manager"].store.close()
