"""Store outages are logged once when they start and once when they end."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask_session_guard.stores import StoreUnavailable
from flask_session_guard.stores.base import OutageLog
from flask_session_guard.stores.sqlite import SQLiteSessionStore


def test_only_changes_of_state_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="test.outages")
    outages = OutageLog(logging.getLogger("test.outages"))
    outages.succeeded()
    for _ in range(3):
        outages.failed("timeout")
    for _ in range(3):
        outages.succeeded()
    outages.failed("refused")
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "session store unavailable: timeout; answering 503 until it is back"),
        ("INFO", "session store available again"),
        ("WARNING", "session store unavailable: refused; answering 503 until it is back"),
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
