"""SESSION_REDIS_MIN_REPLICAS: a login, logout or data write waits for replicas (WAIT).

On a server without replicas every such write answers StoreUnavailable (a 503)
while reads and activity stamps do not wait; on the Sentinel deployment (two
replicas) and the Cluster (one replica per master) the writes are acknowledged,
and asking for more replicas than exist is refused again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask_session_guard.settings import RedisSettings
from flask_session_guard.stores import SessionRecord, StoreUnavailable, Touch, open_store
from flask_session_guard.stores.redis import RedisSessionStore

from .redis_server import RedisServer, recorded_commands
from .redis_topology import ClusterDeployment, SentinelDeployment

pytestmark = pytest.mark.redis


def _store(url: str, tmp_path: Path, replicas: int) -> RedisSessionStore:
    settings = RedisSettings.from_config(
        {"SESSION_REDIS_MIN_REPLICAS": replicas, "SESSION_REDIS_SOCKET_TIMEOUT": 0.4}
    )
    store = open_store(url, instance_path=str(tmp_path), redis=settings)
    assert isinstance(store, RedisSessionStore)
    return store


@pytest.fixture
def stores() -> Iterator[list[RedisSessionStore]]:
    made: list[RedisSessionStore] = []
    yield made
    for store in made:
        store.close()


def _record(key: str, account: str | None = "kite:AB1234") -> SessionRecord:
    now = time.time()
    return SessionRecord(key, now, now, now + 600, now + 60, "s", True, {"a": "1"}, account)


def _writes(store: RedisSessionStore) -> list[Callable[[], Any]]:
    now = time.time() + 1
    return [
        lambda: store.create(_record("fresh")),
        lambda: store.update("k", now, {"a": "2"}),
        lambda: store.update_value("k", "b", now, lambda old: "x"),
        lambda: store.revoke("k", now),
        lambda: store.delete("k"),
    ]


def test_without_replicas_every_acknowledged_write_is_refused(
    redis_url: str, tmp_path: Path, stores: list[RedisSessionStore]
) -> None:
    plain = _store(redis_url, tmp_path, 0)
    stores.append(plain)
    plain.create(_record("k"))
    waiting = _store(redis_url, tmp_path, 1)
    stores.append(waiting)
    # Reads and activity stamps do not wait.
    now = time.time() + 1
    assert waiting.get("k", now) is not None
    assert waiting.update("k", now, {}, Touch(now, now + 60)) is True
    for write in _writes(waiting):
        started = time.monotonic()
        # (The master has it; it is the replicas' acknowledgement that is missing.)
        with pytest.raises(StoreUnavailable, match="0 of 1 replicas acknowledged"):
            write()
        assert time.monotonic() - started < 0.4  # WAIT takes half the socket timeout


def test_wait_rides_in_the_same_round_trip(
    redis_server: RedisServer, redis_url: str, tmp_path: Path, stores: list[RedisSessionStore]
) -> None:
    waiting = _store(redis_url, tmp_path, 1)
    stores.append(waiting)
    waiting._min_replicas = 0  # write one without waiting, to have a session to end
    waiting.create(_record("k", None))
    waiting._min_replicas = 1
    with recorded_commands(redis_server) as seen, pytest.raises(StoreUnavailable):
        waiting.delete("k")
    assert [c.name for c in seen if not c.from_script] == ["del", "zrem", "wait"]


def test_sentinel_replicas_acknowledge(
    redis_sentinel: SentinelDeployment, tmp_path: Path, stores: list[RedisSessionStore]
) -> None:
    store = _store(redis_sentinel.url(db=5), tmp_path, 2)
    stores.append(store)
    store.create(_record("k"))
    for write in _writes(store)[1:]:
        write()
    assert store.get("k", time.time()) is None  # deleted, acknowledged by both replicas
    greedy = _store(redis_sentinel.url(db=5), tmp_path, 3)
    stores.append(greedy)
    with pytest.raises(StoreUnavailable, match="2 of 3 replicas"):
        greedy.create(_record("other"))


def test_cluster_replicas_acknowledge_on_each_slot_s_master(
    redis_cluster: ClusterDeployment, tmp_path: Path, stores: list[RedisSessionStore]
) -> None:
    store = _store(redis_cluster.url(), tmp_path, 1)
    stores.append(store)
    for n in range(6):  # sessions and the index on several masters
        store.create(_record(f"k{n}" if n else "k"))
    assert [r.key for r in store.list_sessions(time.time(), "kite:AB1234")]
    for write in _writes(store)[1:]:
        write()
    greedy = _store(redis_cluster.url(), tmp_path, 2)
    stores.append(greedy)
    with pytest.raises(StoreUnavailable, match="1 of 2 replicas"):
        greedy.create(_record("other"))
