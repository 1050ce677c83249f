"""``flask sessions ...`` on a plain app: the commands work on that app's own store."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_session_guard import ManualClock

from .plain import MakeApp, log_in


@pytest.fixture
def app(make_app: MakeApp, tmp_path: Path) -> Flask:
    """The plain app on its own SQLite file."""
    return make_app(SESSION_STORE_URL=f"sqlite:///{tmp_path / 'cli.sqlite3'}")


def run(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=["sessions", *args])
    assert result.exit_code == 0, result.output
    return result.output


def public_ids(app: Flask) -> list[str]:
    return [line.split()[0] for line in run(app, "list").splitlines()]


def test_stats_and_list_show_this_apps_sessions(app: Flask) -> None:
    log_in(app.test_client())
    log_in(app.test_client())
    stats = run(app, "stats")
    assert "store: sqlite" in stats
    assert "live sessions: 2" in stats
    assert "asha: 2" in stats
    assert len(public_ids(app)) == 2
    assert run(app, "list", "--account", "nobody") == "no live sessions\n"


def test_revoke_ends_one_session(app: Flask) -> None:
    client = log_in_client(app)
    (public_id,) = public_ids(app)
    assert run(app, "revoke", public_id) == f"Revoked session {public_id}.\n"
    assert client.get("/me").json == {
        "status": "error",
        "error": "session_revoked",
        "message": "This session was ended from another device; connect again.",
    }
    result = app.test_cli_runner().invoke(args=["sessions", "revoke", public_id])
    assert result.exit_code == 1
    assert "no live session has that id" in result.output


def test_revoke_account_ends_all_of_its_sessions(app: Flask) -> None:
    log_in(app.test_client())
    log_in(app.test_client())
    assert run(app, "revoke-account", "asha") == "Revoked 2 session(s) of asha.\n"
    assert run(app, "list") == "no live sessions\n"


def test_purge_expired(app: Flask, clock: ManualClock) -> None:
    log_in(app.test_client())
    clock.advance(app.config["SESSION_TIMEOUT"] + 1)
    assert run(app, "purge-expired") == "Removed 1 expired session(s).\n"


def test_two_apps_each_see_their_own_store(make_app: MakeApp, tmp_path: Path) -> None:
    first = make_app(SESSION_STORE_URL=f"sqlite:///{tmp_path / 'one.sqlite3'}")
    second = make_app(SESSION_STORE_URL=f"sqlite:///{tmp_path / 'two.sqlite3'}")
    log_in(first.test_client())
    assert "live sessions: 1" in run(first, "stats")
    assert "live sessions: 0" in run(second, "stats")


def log_in_client(app: Flask) -> FlaskClient:
    client = app.test_client()
    log_in(client)
    return client
