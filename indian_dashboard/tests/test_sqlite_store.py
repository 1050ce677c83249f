"""What only the SQLite store promises: WAL, restarts, purging, the CLI, several processes."""

from __future__ import annotations

import contextlib
import multiprocessing
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask_session_guard.clock import ManualClock
from flask_session_guard.stores import sqlite as sqlite_store
from flask_session_guard.stores.sqlite import PURGE_BATCH, SQLiteSessionStore
from tests.test_stores import NOW, make_record

from indian_dashboard import create_app

from .apps import json_of
from .conftest import Visitor
from .servers import SECRET


@contextlib.contextmanager
def write_lock_held(path: Path) -> Iterator[sqlite3.Connection]:
    """Another connection holds SQLite's write lock until the block ends (or it commits)."""
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        yield blocker
    finally:
        if blocker.in_transaction:
            blocker.execute("ROLLBACK")
        blocker.close()


def test_wal_mode(tmp_path: Path) -> None:
    SQLiteSessionStore(tmp_path / "s.db")
    with sqlite3.connect(tmp_path / "s.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_records_survive_reopening(tmp_path: Path) -> None:
    first = SQLiteSessionStore(tmp_path / "s.db")
    first.create(make_record())
    first.close()
    second = SQLiteSessionStore(tmp_path / "s.db")
    assert second.get("k1", NOW) == make_record()


def test_session_survives_app_restart(tmp_path: Path, clock: ManualClock) -> None:
    config = {"SECRET_KEY": SECRET, "SESSION_STORE_URL": f"sqlite:///{tmp_path / 's.db'}"}
    visitor = Visitor(create_app(config, clock=clock, instance_path=str(tmp_path)).test_client())
    visitor.connect()
    cookie = visitor.cookie()
    restarted = Visitor(create_app(config, clock=clock, instance_path=str(tmp_path)).test_client())
    restarted.client.set_cookie("session", cookie or "")
    assert json_of(restarted.client.get("/api/broker/status"))["broker"]["name"] == "kite"


def test_expired_rows_are_removed_when_met(tmp_path: Path, clock: ManualClock) -> None:
    app = create_app(
        {"SECRET_KEY": SECRET, "SESSION_STORE_URL": "sqlite:///s.db", "SESSION_TIMEOUT": 60},
        clock=clock,
        instance_path=str(tmp_path),
    )
    visitor = Visitor(app.test_client())
    visitor.connect()
    store = app.extensions["session_manager"].store
    assert store.count() == 1
    clock.advance(61)
    assert visitor.session_info().status_code == 401
    assert store.count() == 0


def test_purge_removes_expired_in_batches(tmp_path: Path) -> None:
    store = SQLiteSessionStore(tmp_path / "s.db")
    total = PURGE_BATCH * 2 + 7
    for i in range(total):
        store.create(make_record(f"old{i}", idle=10))
    store.create(make_record("young", idle=1000))
    assert store.purge_expired(NOW + 20) == total
    assert store.count() == 1
    with sqlite3.connect(tmp_path / "s.db") as db:
        orphans = db.execute(
            "SELECT count(*) FROM session_data WHERE session_id != 'young'"
        ).fetchone()[0]
    assert orphans == 0


def test_purge_leaves_the_lock_free_between_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After each full batch the purge pauses, so waiting writers get the lock."""
    store = SQLiteSessionStore(tmp_path / "s.db")
    for i in range(PURGE_BATCH * 2 + 3):
        store.create(make_record(f"old{i}", idle=10))
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        # A request writes while the purge is paused: it is not kept waiting.
        other = SQLiteSessionStore(tmp_path / "s.db", busy_timeout=0)
        other.create(make_record(f"new{len(pauses)}", idle=1000))
        other.close()

    monkeypatch.setattr(sqlite_store, "_yield_lock", pause)
    assert store.purge_expired(NOW + 20) == PURGE_BATCH * 2 + 3
    assert len(pauses) == 2 and all(p >= 0 for p in pauses)
    assert store.count() == 2


def test_purge_expired_command(tmp_path: Path, clock: ManualClock) -> None:
    app = create_app(
        {"SECRET_KEY": SECRET, "SESSION_STORE_URL": "sqlite:///s.db", "SESSION_TIMEOUT": 60},
        clock=clock,
        instance_path=str(tmp_path),
    )
    for _ in range(3):
        Visitor(app.test_client()).connect()
    clock.advance(61)
    result: Result = app.test_cli_runner().invoke(args=["sessions", "purge-expired"])
    assert result.exit_code == 0, result.output
    assert "Removed 3 expired session(s)." in result.output
    help_text = app.test_cli_runner().invoke(args=["sessions", "purge-expired", "--help"])
    assert "expired" in help_text.output


def _increment(path: str, rounds: int) -> None:
    store = SQLiteSessionStore(path)
    for _ in range(rounds):
        store.update_value("k1", "n", NOW, lambda old: str(int(old or "0") + 1))


@pytest.mark.timeout(60)
def test_update_value_is_atomic_across_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "s.db")
    SQLiteSessionStore(path).create(make_record())
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_increment, args=(path, 50)) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=50)
        assert w.exitcode == 0
    record = SQLiteSessionStore(path).get("k1", NOW)
    assert record is not None
    assert record.data["n"] == str(1 + 4 * 50)


def test_locked_database_is_store_unavailable(tmp_path: Path) -> None:
    from flask_session_guard.stores import StoreUnavailable

    path = tmp_path / "s.db"
    store = SQLiteSessionStore(path, busy_timeout=0.05)
    store.create(make_record())
    with write_lock_held(path), pytest.raises(StoreUnavailable) as caught:
        store.update("k1", NOW, {"n": "2"})
    assert "k1" not in str(caught.value)


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda s: s.update("k1", NOW, {"n": "2"}), id="one-statement"),
        pytest.param(lambda s: s.update("k1", NOW, {"n": "2", "m": "3"}), id="transaction"),
        pytest.param(lambda s: s.delete("k1"), id="delete"),
    ],
)
def test_a_write_waits_for_a_short_lock_in_small_steps(tmp_path: Path, write: Any) -> None:
    """A lock held elsewhere for 30 ms delays each kind of write by about that, then it
    goes through (the busy timeout is 5 s)."""
    path = tmp_path / "s.db"
    store = SQLiteSessionStore(path, busy_timeout=5)
    store.create(make_record())
    with write_lock_held(path) as blocker:
        release = threading.Timer(0.03, lambda: blocker.execute("COMMIT"))
        started = time.monotonic()
        release.start()
        try:
            write(store)
        finally:
            release.join()
    assert 0.025 < time.monotonic() - started < 0.5


def test_busy_waits_start_small_and_stop_at_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flask_session_guard.stores import StoreUnavailable

    waits: list[float] = []
    monkeypatch.setattr("flask_session_guard.stores.sqlite.time.sleep", waits.append)
    ticks = iter(range(1000))
    monkeypatch.setattr(
        "flask_session_guard.stores.sqlite.time.monotonic", lambda: next(ticks) * 0.001
    )
    path = tmp_path / "s.db"
    store = SQLiteSessionStore(path, busy_timeout=0.02)
    store.create(make_record())
    with write_lock_held(path), pytest.raises(StoreUnavailable):
        store.update("k1", NOW, {"n": "2"})
    assert waits[0] == sqlite_store.BUSY_WAIT_FIRST < 0.001
    assert max(waits) == sqlite_store.BUSY_WAIT_MAX
    assert 10 <= len(waits) <= 25  # about 20 ticks of the fake clock


def test_a_commit_that_stays_busy_is_rolled_back(tmp_path: Path) -> None:
    """Outside WAL mode a reader blocks COMMIT: the write fails (503), releases the
    lock, and the next write on the same connection works."""
    from flask_session_guard.stores import StoreUnavailable

    path = tmp_path / "s.db"
    store = SQLiteSessionStore(path, busy_timeout=0.1)
    store.create(make_record())
    store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode=DELETE").fetchone()[0] == "delete"
    db.close()
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM sessions").fetchone()  # holds a shared lock
    try:
        with pytest.raises(StoreUnavailable):
            store.update("k1", NOW, {"n": "2", "m": "3"})  # a transaction: COMMIT is busy
    finally:
        reader.execute("COMMIT")
        reader.close()
    assert store.update("k1", NOW, {"n": "4", "m": "5"}) is True
    got = store.get("k1", NOW)
    assert got is not None and got.data["n"] == "4"


def test_locked_store_answers_503_with_retry_after(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "s.db"
    app = create_app(
        {"SECRET_KEY": SECRET, "SESSION_STORE_URL": f"sqlite:///{path}?timeout=0.05"},
        clock=clock,
        instance_path=str(tmp_path),
    )
    visitor = Visitor(app.test_client())
    visitor.connect()
    clock.advance(5)  # activity is due: a GET records it, a POST extends
    with write_lock_held(path):
        # A read needs no lock: it is served, its activity stamp waits for a later
        # request (a partial outage keeps reads working) ...
        read = visitor.client.get("/api/broker/status")
        assert read.status_code == 200
        # ... a write cannot be: 503.
        response = visitor.extend()
    assert response.status_code == 503
    assert response.json["error"] == "store_unavailable"
    assert response.headers["Retry-After"] == "5"
    assert visitor.client.get("/api/broker/status").status_code == 200  # data intact
    store = app.extensions["session_manager"].store
    record = store.get(visitor.info["session_id"], clock.now().timestamp())
    assert record is not None and record.last_activity == clock.now().timestamp()


def test_bad_sqlite_options_stop_start_up(tmp_path: Path) -> None:
    from indian_dashboard.config import ConfigError

    for url in ("sqlite:///s.db?timeout=x", "sqlite:///s.db?mode=ro", "sqlite:///"):
        with pytest.raises(ConfigError, match="SESSION_STORE_URL"):
            create_app(
                {"SECRET_KEY": SECRET, "SESSION_STORE_URL": url}, instance_path=str(tmp_path)
            )


def test_new_database_files_are_owner_only(tmp_path: Path) -> None:
    import stat

    store = SQLiteSessionStore(tmp_path / "s.db")
    store.create(make_record())
    for path in tmp_path.glob("s.db*"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
