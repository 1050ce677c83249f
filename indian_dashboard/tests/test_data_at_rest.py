"""What the store holds: JSON values, no session ids, credentials sealed to their session;
a record tampered with or not decodable is no session (and no code run)."""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, jsonify
from flask_session_guard.clock import ManualClock

from indian_dashboard.session_manager import get_session_manager

from .apps import json_of, make_app
from .conftest import Visitor


@pytest.fixture
def sqlite_app(tmp_path: Path, clock: ManualClock) -> tuple[Flask, Path]:
    """The dashboard on a SQLite file the test reads and writes behind its back."""
    path = tmp_path / "raw.sqlite3"
    return make_app(tmp_path, clock, SESSION_STORE_URL=f"sqlite:///{path}"), path


def connected(app: Flask) -> Visitor:
    visitor = Visitor(app.test_client())
    visitor.connect()
    return visitor


def raw_bytes(path: Path) -> bytes:
    """The database file and its WAL and shared-memory files, as a copy of them would hold."""
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file())


def stored_credentials(path: Path) -> str:
    with sqlite3.connect(path) as db:
        (value,) = db.execute(
            "SELECT value FROM session_data WHERE name = 'credentials'"
        ).fetchone()
    result: str = value
    return result


def overwrite(path: Path, name: str, value: object) -> None:
    """Set every session's value ``name`` to ``value``, as someone with the file could."""
    with sqlite3.connect(path) as db:
        db.execute("UPDATE session_data SET value = ? WHERE name = ?", (value, name))


class TestStoredValues:
    def test_values_are_json_and_ids_are_not_stored(self, sqlite_app: tuple[Flask, Path]) -> None:
        app, path = sqlite_app
        visitor = connected(app)
        cookie = visitor.cookie()
        assert cookie is not None
        session_id = cookie.split(".")[0]
        with sqlite3.connect(path) as db:
            rows = db.execute("SELECT name, value FROM session_data").fetchall()
            ids = [r[0] for r in db.execute("SELECT id FROM sessions")]
            raw = b"".join(bytes(str(r), "utf-8") for r in db.execute("SELECT * FROM sessions"))
        assert dict(rows)["broker"] == '"kite"'
        assert ids == [visitor.info["session_id"]]
        assert session_id.encode() not in raw  # a copy of the store cannot log anyone in

    @pytest.mark.parametrize(
        ("value", "path"),
        [
            pytest.param("cos\nsystem\n(S'echo pwned'\ntR.", "/api/session/info", id="pickle"),
            pytest.param(os.urandom(64), "/api/broker/status", id="random-bytes"),
        ],
    )
    def test_undecodable_record_is_no_session(
        self,
        sqlite_app: tuple[Flask, Path],
        caplog: pytest.LogCaptureFixture,
        value: str | bytes,
        path: str,
    ) -> None:
        app, db_path = sqlite_app
        visitor = connected(app)
        overwrite(db_path, "broker", value)
        with caplog.at_level(logging.WARNING, logger="flask_session_guard.security"):
            assert visitor.client.get(path).status_code == 401
        assert any("does not decode" in r.getMessage() for r in caplog.records)


class TestEncryptionAtRest:
    def test_no_plaintext_credential_on_disk(self, sqlite_app: tuple[Flask, Path]) -> None:
        app, path = sqlite_app
        visitor = connected(app)
        raw = raw_bytes(path)
        assert b"kite-secret-value" not in raw
        assert b"kite-key" not in raw
        assert visitor.client.get("/api/broker/status").status_code == 200
        assert stored_credentials(path).startswith("!v1:")

    def test_sensitive_flag_seals_any_value(self, sqlite_app: tuple[Flask, Path]) -> None:
        app, path = sqlite_app

        @app.post("/t/pan")
        def pan() -> Any:
            get_session_manager().store_user_data("pan", "ABCDE1234F", sensitive=True)
            return jsonify(pan=get_session_manager().get_user_data("pan"))

        visitor = connected(app)
        answer = visitor.client.post("/t/pan", headers=visitor.headers())
        assert json_of(answer)["pan"] == "ABCDE1234F"
        assert b"ABCDE1234F" not in raw_bytes(path)

    def test_tampered_ciphertext_is_detected(
        self, sqlite_app: tuple[Flask, Path], caplog: pytest.LogCaptureFixture
    ) -> None:
        app, path = sqlite_app
        visitor = connected(app)
        value = stored_credentials(path)
        overwrite(path, "credentials", value[:-5] + ("A" if value[-5] != "A" else "B") + value[-4:])
        with caplog.at_level(logging.WARNING, logger="flask_session_guard.security"):
            assert visitor.client.get("/api/broker/status").status_code == 401
        assert "failed authentication" in caplog.text

    def test_ciphertext_cannot_move_between_sessions(self, sqlite_app: tuple[Flask, Path]) -> None:
        app, path = sqlite_app
        alice, bob = connected(app), Visitor(app.test_client())
        bob.connect("dhan", {"client_id": "D1", "access_token": "bob-token"})
        with sqlite3.connect(path) as db:
            db.execute(
                "UPDATE session_data SET value = (SELECT value FROM session_data"
                " WHERE session_id = ? AND name = 'credentials')"
                " WHERE session_id = ? AND name = 'credentials'",
                (alice.info["session_id"], bob.info["session_id"]),
            )
        assert bob.client.get("/api/broker/status").status_code == 401
