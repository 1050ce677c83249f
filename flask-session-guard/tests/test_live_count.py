"""The live gauge's cost: ``count_live`` never reads every session (the /metrics scrape).

The contract tests (test_stores.py::TestLiveCount) show the count is exact; these show,
store by store, that a count with many live sessions and none newly expired reads none
of them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from flask_session_guard import MemorySessionStore, SQLiteSessionStore
from flask_session_guard.stores import SessionRecord, Touch

from .redis_server import RedisServer, recorded_commands

NOW = 1_700_000_000.0
MANY = 2000


def _record(i: int) -> SessionRecord:
    return SessionRecord(
        key=f"{i:022d}",
        created_at=NOW,
        last_activity=NOW,
        absolute_at=NOW + 7200,
        expires_at=NOW + 3600,
        csrf_secret="s",
        authenticated=True,
        account=f"kite:{i % 50}",
    )


def test_memory_count_looks_at_no_live_record(monkeypatch: pytest.MonkeyPatch) -> None:
    store = MemorySessionStore()
    for i in range(MANY):
        store.create(_record(i))
    looked = 0
    original = SessionRecord.live

    def counting(self: SessionRecord, now: float) -> bool:
        nonlocal looked
        looked += 1
        return original(self, now)

    monkeypatch.setattr(SessionRecord, "live", counting)
    assert store.count_live(NOW + 10) == MANY
    assert looked == 0
    # Once they expire, each is looked at once, then never again.
    assert store.count_live(NOW + 3601) == 0
    assert looked == MANY
    assert store.count_live(NOW + 3602) == 0
    assert looked == MANY


def test_sqlite_count_scans_no_table(tmp_path: Path) -> None:
    from flask_session_guard.stores.sqlite import _COUNT_LIVE

    path = tmp_path / "count.sqlite3"
    store = SQLiteSessionStore(path)
    store.create(_record(1))
    conn = sqlite3.connect(path)
    try:
        plan = [row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {_COUNT_LIVE}", (NOW,))]
    finally:
        conn.close()
    store.close()
    # The counter row is read by its key; expired rows through the expiry index.
    assert not [step for step in plan if step.startswith("SCAN") and "CONSTANT" not in step], plan
    assert any("sessions_by_expiry" in step for step in plan), plan


@pytest.mark.redis
def test_redis_count_reads_no_live_session(redis_server: RedisServer, redis_url: str) -> None:
    from flask_session_guard import RedisSessionStore

    store = RedisSessionStore.from_url(redis_url, instance_path="")
    try:
        for i in range(MANY):
            store.create(_record(i))
        store.update(f"{1:022d}", NOW + 1, {}, Touch(NOW + 1, NOW + 3700))
        with recorded_commands(redis_server) as commands:
            assert store.count_live(NOW + 10) == MANY
        names = [c.name for c in commands]
        assert names == ["zrange", "zcard"], names
        # After the first expiry, only the touched session is read again (and kept).
        with recorded_commands(redis_server) as commands:
            assert store.count_live(NOW + 3650) == 1
        reads = [c.name for c in commands if c.name in ("hmget", "hgetall", "scan")]
        assert reads.count("hmget") == MANY and "scan" not in reads and "hgetall" not in reads
        with recorded_commands(redis_server) as commands:
            assert store.count_live(NOW + 3660) == 1
        assert [c.name for c in commands] == ["zrange", "zcard"]
    finally:
        store.close()
