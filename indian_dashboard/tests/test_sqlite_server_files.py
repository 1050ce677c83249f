"""The SQLite store under real gunicorn (2 workers) when its folder is removed:
no write is acknowledged into a deleted file, the log says so loudly, and the
files made again are owner-only."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest

from .http_visitor import HttpVisitor
from .servers import start_server

pytestmark = pytest.mark.server


def test_removed_database_folder_acknowledges_no_lost_write(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    server = start_server(tmp_path, env={"SESSION_STORE_URL": f"sqlite:///{folder}/s.sqlite3"})
    visitors = [HttpVisitor(server.url) for _ in range(4)]
    try:
        for visitor in visitors:
            visitor.connect()
            added = visitor.post("/api/watchlist", json={"symbol": "SBIN"})
            assert added.status_code == 200
        shutil.rmtree(folder)
        acknowledged: dict[int, list[str]] = {n: [] for n in range(len(visitors))}
        statuses = set()
        for round_ in range(10):
            for n, visitor in enumerate(visitors):
                symbol = f"S{n}R{round_}"
                answer = visitor.post("/api/watchlist", json={"symbol": symbol})
                statuses.add(answer.status_code)
                assert answer.status_code < 500 or answer.status_code == 503, answer.text
                if answer.status_code == 200:
                    acknowledged[n].append(symbol)
        # The sessions lived in the removed file: after the refused writes they are gone
        # (401), and nothing was acknowledged into the deleted file.
        assert 503 in statuses
        assert not any(acknowledged.values()), acknowledged
        fresh = HttpVisitor(server.url)
        fresh.connect()  # the path was made again: new logins work
        assert fresh.post("/api/watchlist", json={"symbol": "TCS"}).status_code == 200
        assert fresh.get("/api/watchlist").json()["watchlist"] == ["TCS"]
        fresh.close()
        for name in ("s.sqlite3", "s.sqlite3-wal", "s.sqlite3-shm"):
            assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name
        log = server.log()
        assert "ERROR" in log and "was removed or replaced while in use" in log
        assert "Traceback" not in log
    finally:
        for visitor in visitors:
            visitor.close()
        server.stop()
