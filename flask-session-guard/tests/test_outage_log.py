"""A store outage is logged once when it starts and once when it is over.

It is over only after a quiet interval without a failure, so a partial outage
(some calls failing, others fine) is one outage, not a change of state per call.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

import pytest
from flask_session_guard.stores import StoreUnavailable
from flask_session_guard.stores.base import (
    OUTAGE_CALLS_WAITING,
    OUTAGE_QUIET,
    OutageLog,
    SessionRecord,
    StoreGuard,
)
from flask_session_guard.stores.sqlite import SQLiteSessionStore

NOW = 1_700_000_000.0


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records]


def test_one_line_per_change_of_state_with_the_failure_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="test.outages")
    ticks = Ticks()
    outages = OutageLog(logging.getLogger("test.outages"), quiet=10, clock=ticks)
    outages.succeeded()
    for _ in range(3):
        outages.failed("timeout")
        ticks.now += 1
    outages.succeeded()  # 1 s after the last failure: not over yet
    ticks.now += 9
    outages.succeeded()  # 10 s quiet: over
    outages.succeeded()
    outages.failed("refused")
    assert _lines(caplog) == [
        ("WARNING", "session store unavailable: timeout; answering 503 until it is back"),
        ("INFO", "session store available again (3 failed calls over 2.0 s)"),
        ("WARNING", "session store unavailable: refused; answering 503 until it is back"),
    ]


def test_interleaved_failures_and_successes_are_one_outage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="test.outages")
    ticks = Ticks()
    outages = OutageLog(logging.getLogger("test.outages"), quiet=10, clock=ticks)
    for _ in range(1000):
        outages.failed("disk full")
        outages.succeeded()
        ticks.now += 0.05  # 50 s of a partial outage
    assert [level for level, _ in _lines(caplog)] == ["WARNING"]
    ticks.now += 10
    outages.succeeded()
    assert _lines(caplog)[-1] == (
        "INFO",
        "session store available again (1000 failed calls over 50.0 s)",
    )


def _record(key: str) -> SessionRecord:
    return SessionRecord(key, NOW, NOW, NOW + 3600, NOW + 600, "s", True, {"n": "1"})


def test_sqlite_partial_outage_reads_fine_writes_failing_logs_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Another process holds the write lock: every write fails, every read works."""
    path = tmp_path / "s.sqlite3"
    ticks = Ticks()
    store = SQLiteSessionStore(path, busy_timeout=0, outage_clock=ticks)
    store.create(_record("k"))
    caplog.set_level(logging.INFO, logger="flask_session_guard")
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        for _ in range(200):
            assert store.get("k", NOW) is not None
            with pytest.raises(StoreUnavailable):
                store.update("k", NOW, {"n": "2"})
            ticks.now += 0.1
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert store.update("k", NOW, {"n": "3"})  # within the quiet interval: still the outage
    assert [level for level, _ in _lines(caplog)] == ["WARNING"]
    ticks.now += OUTAGE_QUIET
    assert store.get("k", NOW) is not None
    store.close()
    assert _lines(caplog)[1:] == [
        ("INFO", "session store available again (200 failed calls over 19.9 s)")
    ]


def test_sqlite_store_logs_one_warning_for_a_broken_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "s.sqlite3"
    store = SQLiteSessionStore(path)
    store.close()
    path.write_bytes(b"this is not a database" * 100)
    for name in ("s.sqlite3-wal", "s.sqlite3-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    caplog.set_level(logging.INFO, logger="flask_session_guard")
    for _ in range(3):
        with pytest.raises(StoreUnavailable):
            store.get("k", 1.0)
    store.close()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].getMessage().startswith("session store unavailable: sqlite")


def test_during_an_outage_only_a_few_calls_wait_on_the_store() -> None:
    """A bulkhead: calls beyond OUTAGE_CALLS_WAITING answer at once instead of
    holding every thread of a worker on a stalled store."""
    outages = OutageLog(logging.getLogger("test.outages"), quiet=10, clock=Ticks())
    guard = StoreGuard(outages, lambda err: None)
    release = threading.Event()
    inside = threading.Barrier(OUTAGE_CALLS_WAITING + 1)

    def stalled_call() -> None:
        with guard:
            inside.wait(5)
            release.wait(5)

    # All is well: no limit.
    with guard, guard:
        pass
    outages.failed("timeout")
    threads = [threading.Thread(target=stalled_call) for _ in range(OUTAGE_CALLS_WAITING)]
    for thread in threads:
        thread.start()
    inside.wait(5)
    with pytest.raises(StoreUnavailable, match="already waiting"), guard:
        pass
    release.set()
    for thread in threads:
        thread.join(5)
    assert outages.waiting.count == 0
    with guard:  # room again
        pass
