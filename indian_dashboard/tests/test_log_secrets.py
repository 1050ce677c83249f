"""No secret reaches the logs: not a session id, cookie, CSRF token or broker credential,
whatever happens in a session's life (the escaping of log lines: test_log_lines.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from .apps import make_app
from .conftest import KITE, Visitor


class TestNoSecretsInLogs:
    def test_full_session_life_logs_no_secret(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        app = make_app(tmp_path)
        secrets_seen: list[str] = []
        with caplog.at_level(logging.DEBUG):
            visitor = Visitor(app.test_client())
            secrets_seen.append(visitor.fetch_token())
            secrets_seen.append(visitor.cookie() or "")
            visitor.connect()
            secrets_seen += [visitor.token or "", visitor.cookie() or ""]
            visitor.extend()
            visitor.client.post("/api/watchlist", json={"symbol": "TCS"})  # no token
            visitor.client.post("/api/session/extend", headers={"X-CSRF-Token": "forged"})
            visitor.client.post(
                "/api/session/extend", headers={"X-CSRF-Token": visitor.token, "Origin": "null"}
            )
            cookie = visitor.cookie() or ""
            visitor.client.set_cookie("session", cookie[:-1] + "x")  # tampered
            visitor.client.get("/api/broker/status")
            visitor.client.set_cookie("session", cookie)
            visitor.logout()
            visitor.client.set_cookie("session", cookie)
            visitor.client.get("/api/broker/status")  # expired cookie
        secrets_seen += [s.split(".")[0] for s in secrets_seen if "." in s]
        secrets_seen += list(KITE.values())[1:]
        text = caplog.text
        assert "csrf refused" in text and "session cookie refused" in text
        for secret in filter(None, secrets_seen):
            assert secret not in text
