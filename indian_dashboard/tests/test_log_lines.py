"""Forged log lines: request data reaches logs and the operator's terminal escaped.

A request path (percent-encoded), a header or a client id can carry CR, LF, NEL,
U+2028/U+2029, VT, FF or ESC. Written as they are, one security-log line looks
like two, and ``flask sessions list`` drives the operator's terminal.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from urllib.parse import quote

import pytest
from flask import Flask
from flask_session_guard import SessionRecord

from .conftest import Visitor
from .http_visitor import HttpVisitor
from .servers import start_server

#: Character -> how the log shows it. (A LF in a path matches no route: a 404, which
#: is not logged; the library's test_log_safety.py covers it with the rest.)
FORGERS = {
    "\r": "\\r",
    "\x0b": "\\x0b",
    "\x0c": "\\x0c",
    "\x1b": "\\x1b",
    "\x85": "\\x85",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
FAKE = "2026-01-01 00:00:00,000 INFO flask_session_guard.security: all is well"


@pytest.mark.server
def test_forged_path_stays_on_one_escaped_log_line(tmp_path: Path) -> None:
    """Over HTTP: a refused DELETE whose path carries each separator logs one line."""
    audit = tmp_path / "audit.jsonl"
    server = start_server(tmp_path, workers=1, env={"SESSION_AUDIT_LOG": str(audit)})
    visitor = HttpVisitor(server.url)
    try:
        visitor.connect()
        for char in FORGERS:
            path = "/api/watchlist/" + quote(f"SBIN{char}{FAKE}", safe="")
            # The session cookie, no token: refused and logged with the path.
            answer = visitor.http.delete(server.url + path, timeout=10)
            assert answer.status_code == 403, answer.text
        log = server.log_path.read_bytes().decode("utf-8")
    finally:
        visitor.close()
        server.stop()
    refusals = [line for line in log.split("\n") if "csrf refused" in line]
    assert len(refusals) == len(FORGERS)
    for line, (char, shown) in zip(refusals, FORGERS.items(), strict=True):
        assert char not in line
        assert f"SBIN{shown}{FAKE}" in line
    # Nothing else in the log starts with the forged text: no second line was made.
    assert not [line for line in log.split("\n") if line.startswith(FAKE[:10])]
    for char in FORGERS:
        assert char not in log.replace("\n", "")
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    paths = [r["path"] for r in records if r["event"] == "csrf_failure"]
    assert paths == [f"/api/watchlist/SBIN{char}{FAKE}" for char in FORGERS]
    for char in FORGERS:
        assert char not in audit.read_text(encoding="utf-8").replace("\n", "")


def test_refused_origin_header_is_escaped(
    app: Flask, connected: Visitor, caplog: pytest.LogCaptureFixture
) -> None:
    """A Sec-Fetch-Site value is text from the client too (here with NEL and ESC)."""
    with caplog.at_level(logging.INFO, logger="flask_session_guard.security"):
        answer = connected.client.post(
            "/api/session/extend",
            headers={**connected.headers(), "Sec-Fetch-Site": "cross-site\x85\x1b[2J"},
        )
    assert answer.status_code == 403
    (line,) = [r.getMessage() for r in caplog.records if "origin refused" in r.getMessage()]
    assert "cross-site\\x85\\x1b[2j" in line
    assert "\x85" not in line and "\x1b" not in line


def _planted(app: Flask) -> SessionRecord:
    """A live record whose client-chosen fields carry terminal control sequences."""
    store = app.extensions["session_manager"].store
    now = app.extensions["session_manager"].interface.now()
    record = SessionRecord(
        key="A" * 22,
        created_at=now,
        last_activity=now,
        absolute_at=now + 3600,
        expires_at=now + 600,
        csrf_secret="s",
        authenticated=True,
        account="kite:AB\x1b]0;owned\x07\nkite:ZZ9999",
        device="Chrome\x1b[2J on Linux",
        ip="10.0.0.1\r\u2028",
    )
    store.create(record)
    return record


def test_cli_list_and_stats_escape_what_clients_chose(app: Flask) -> None:
    _planted(app)
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["sessions", "list"]).output
    stats = runner.invoke(args=["sessions", "stats"]).output
    for output in (listing, stats):
        assert "\x1b" not in output and "\x07" not in output and "\r" not in output
        assert "\u2028" not in output
        assert "kite:AB\\x1b]0;owned\\x07\\nkite:ZZ9999" in output
    assert len(listing.splitlines()) == 1
    assert "Chrome\\x1b[2J on Linux" in listing and "10.0.0.1\\r\\u2028" in listing


def test_cli_revoke_account_escapes_the_account_it_echoes(app: Flask) -> None:
    record = _planted(app)
    assert record.account is not None
    output = app.test_cli_runner().invoke(args=["sessions", "revoke-account", record.account])
    assert output.exit_code == 0, output.output
    assert output.output == "Revoked 1 session(s) of kite:AB\\x1b]0;owned\\x07\\nkite:ZZ9999.\n"
