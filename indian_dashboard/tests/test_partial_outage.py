"""A partial outage (writes failing, reads fine) is one outage in the log and in
the audit trail, however many requests meet it, and ends after a quiet interval."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import pytest
from flask_session_guard import ManualClock
from flask_session_guard.stores.base import OUTAGE_QUIET

from indian_dashboard import create_app

from .conftest import SECRET, Visitor


def test_partial_outage_is_one_state_change_each_way(
    tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    db, audit = tmp_path / "s.db", tmp_path / "audit.jsonl"
    app = create_app(
        {
            "SECRET_KEY": SECRET,
            "SESSION_STORE_URL": f"sqlite:///{db}?timeout=0.01",
            "SESSION_AUDIT_LOG": str(audit),
        },
        clock=clock,
        instance_path=str(tmp_path),
    )
    visitor = Visitor(app.test_client())
    visitor.connect()
    caplog.set_level(logging.INFO, logger="flask_session_guard")
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        for _ in range(30):
            assert visitor.client.get("/api/watchlist").status_code == 200
            added = visitor.client.post(
                "/api/watchlist", json={"symbol": "SBIN"}, headers=visitor.headers()
            )
            assert added.status_code == 503
            clock.advance(0.5)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert visitor.client.get("/api/watchlist").status_code == 200

    def events() -> list[dict[str, object]]:
        return [json.loads(line) for line in audit.read_text().splitlines()]

    kinds = [e["event"] for e in events()]
    assert kinds.count("store_unavailable") == 1
    assert kinds.count("store_recovered") == 0
    clock.advance(OUTAGE_QUIET)
    added = visitor.client.post("/api/watchlist", json={"symbol": "TCS"}, headers=visitor.headers())
    assert added.status_code == 200
    recovered = [e for e in events() if e["event"] == "store_recovered"]
    assert len(recovered) == 1 and recovered[0]["failures"] == 30
    store_lines = [r for r in caplog.records if r.name.startswith("flask_session_guard.stores")]
    assert [r.levelname for r in store_lines] == ["WARNING"]  # its recovery: real seconds
    app.extensions["session_manager"].store.close()
