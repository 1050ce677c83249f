"""The dashboard on PostgreSQL: settings, statements per request, outages and recovery.

Every test runs against a private PostgreSQL server the fixtures start (initdb into
a temporary directory, a free loopback port); none touches the machine's own.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_session_guard.clock import ManualClock
from flask_session_guard.stores.postgres import PostgresSessionStore
from tests.postgres_server import PostgresServer

from indian_dashboard import create_app
from indian_dashboard.config import ConfigError, config_from_env
from indian_dashboard.session_manager import get_session_manager, require_session

from .apps import json_of
from .conftest import KITE, Visitor
from .outages import assert_503
from .servers import SECRET

pytestmark = pytest.mark.postgres


@pytest.fixture
def make_app(clock: ManualClock, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build apps with the manual clock; their stores are closed at teardown."""
    made: list[Flask] = []

    def build(url: str, **extra: object) -> Flask:
        config = {
            "TESTING": True,
            "SECRET_KEY": SECRET,
            "SESSION_STORE_URL": url,
            "SESSION_TIMEOUT": 600,
            "SESSION_ABSOLUTE_TIMEOUT": 3600,
            **extra,
        }
        app = create_app(config, clock=clock, instance_path=str(tmp_path / "i"))
        made.append(app)
        return app

    yield build
    for app in made:
        app.extensions["session_manager"].store.close()


# -- settings ---------------------------------------------------------------------------


def test_postgres_settings_from_environment() -> None:
    config = config_from_env(
        {
            "SESSION_STORE_URL": "postgresql://app@db.internal/app?sslmode=verify-full",
            "SESSION_PG_POOL_SIZE": "4",
            "SESSION_PG_TIMEOUT": "0.5",
            "SESSION_PG_SCHEMA": "sessions",
            "SESSION_PG_TABLE_PREFIX": "",
            "SESSION_PG_UNLOGGED": "true",
        }
    )
    assert config == {
        "SESSION_STORE_URL": "postgresql://app@db.internal/app?sslmode=verify-full",
        "SESSION_PG_POOL_SIZE": 4,
        "SESSION_PG_TIMEOUT": 0.5,
        "SESSION_PG_SCHEMA": "sessions",
        "SESSION_PG_TABLE_PREFIX": "",
        "SESSION_PG_UNLOGGED": True,
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SESSION_PG_POOL_SIZE", "0"),
        ("SESSION_PG_POOL_SIZE", "many"),
        ("SESSION_PG_TIMEOUT", "-1"),
        ("SESSION_PG_UNLOGGED", "perhaps"),
    ],
)
def test_bad_postgres_variable_names_it(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        config_from_env({name: value})


def test_bad_schema_stops_start_up(make_app: Callable[..., Flask], postgres_url: str) -> None:
    with pytest.raises(ConfigError, match=r"^SESSION_PG_SCHEMA must be"):
        make_app(postgres_url, SESSION_PG_SCHEMA='x"; DROP TABLE y; --')


def test_settings_reach_the_store(
    make_app: Callable[..., Flask], postgres_url: str, postgres_server: PostgresServer
) -> None:
    app = make_app(
        postgres_url, SESSION_PG_SCHEMA="dash", SESSION_PG_TABLE_PREFIX="t_", SESSION_PG_POOL_SIZE=3
    )
    Visitor(app.test_client()).connect()
    with postgres_server.connect() as conn:
        (count,) = conn.execute("SELECT count(*) FROM dash.t_sessions").fetchone() or (0,)
    assert count == 1


# -- statements per request ---------------------------------------------------------------


@pytest.fixture
def logged_app(
    make_app: Callable[..., Flask], postgres_url: str, postgres_server: PostgresServer
) -> tuple[Flask, Callable[[], list[str]]]:
    """The dashboard whose store connections log each statement, and a reader of them."""
    name = f"app{uuid.uuid4().hex[:8]}"
    app = make_app(postgres_server.url(application_name=name, options="-c%20log_statement%3Dall"))
    seen = [0]

    def statements() -> list[str]:
        """First words of the statements sent since the last call."""
        every = postgres_server.statements(name)
        new, seen[0] = every[seen[0] :], len(every)
        return [" ".join(s.split()[:3]) for s in new]

    return app, statements


@pytest.fixture
def pv(logged_app: tuple[Flask, Callable[[], list[str]]]) -> Visitor:
    """A connected visitor of ``logged_app``, its statements so far read."""
    app, statements = logged_app
    visitor = Visitor(app.test_client())
    visitor.connect()
    statements()
    return visitor


READ = "WITH t AS"  # the read that records activity when due
PLAIN_READ = "SELECT s.id, s.created_at,"


def test_read_is_one_statement_and_writes_nothing(
    pv: Visitor, logged_app: tuple[Flask, Callable[[], list[str]]], clock: ManualClock
) -> None:
    _, statements = logged_app
    clock.advance(0.5)  # activity was recorded at connect: not due again yet
    assert pv.client.get("/api/watchlist").status_code == 200
    assert statements() == [READ]
    clock.advance(30)  # due: recorded by the same statement
    assert pv.client.get("/api/watchlist").status_code == 200
    assert statements() == [READ]
    assert pv.session_info().json["session"]["elapsed_seconds"] == 0


def test_passive_poll_is_one_plain_read(
    pv: Visitor, logged_app: tuple[Flask, Callable[[], list[str]]], clock: ManualClock
) -> None:
    _, statements = logged_app
    clock.advance(30)
    assert pv.session_info().status_code == 200
    assert statements() == [PLAIN_READ]


def test_extend_is_a_read_and_one_write(
    pv: Visitor, logged_app: tuple[Flask, Callable[[], list[str]]], clock: ManualClock
) -> None:
    _, statements = logged_app
    clock.advance(30)
    assert pv.extend().status_code == 200
    assert statements() == [PLAIN_READ, "WITH s AS"]


def test_watchlist_add_is_a_read_and_one_transaction(
    pv: Visitor, logged_app: tuple[Flask, Callable[[], list[str]]], clock: ManualClock
) -> None:
    _, statements = logged_app
    clock.advance(0.5)
    answer = pv.client.post("/api/watchlist", json={"symbol": "INFY"}, headers=pv.headers())
    assert answer.status_code == 200
    assert [s.split()[0] for s in statements()] == [
        "SELECT",  # the read (a POST records activity when it saves)
        "BEGIN",  # with the lock and the value read: one round trip
        "SELECT",
        "SELECT",
        "INSERT",  # with COMMIT: another
        "COMMIT",
    ]


def test_logout_is_a_read_and_one_delete(
    pv: Visitor, logged_app: tuple[Flask, Callable[[], list[str]]]
) -> None:
    _, statements = logged_app
    assert pv.logout().status_code == 200
    assert statements() == [PLAIN_READ, 'DELETE FROM "public"."guard_sessions"']


def test_request_without_session_costs_nothing(
    logged_app: tuple[Flask, Callable[[], list[str]]],
) -> None:
    app, statements = logged_app
    statements()
    assert app.test_client().get("/healthz").status_code == 200
    assert app.test_client().get("/api/watchlist").status_code == 401
    assert statements() == []


# -- outages: every path answers 503, never 500, and recovers -------------------------------


@pytest.fixture(scope="module")
def outage_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for this module's outage tests alone: they stop it."""
    with PostgresServer.running() as server:
        yield server


@pytest.fixture
def down_pg(outage_server: PostgresServer) -> Iterator[PostgresServer]:
    """The outage server, running and emptied at the start of each test."""
    if outage_server.process is None:
        outage_server.start()
    outage_server.empty()
    yield outage_server
    if outage_server.process is None:
        outage_server.start()


@pytest.fixture
def outage_app(
    down_pg: PostgresServer, make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> Flask:
    """The dashboard on the outage server, with views that stop it mid-request; its
    outages end at the first success (no quiet interval)."""
    monkeypatch.setattr("flask_session_guard.stores.base.OUTAGE_QUIET", 0.0)
    app = make_app(down_pg.url(), SESSION_PG_TIMEOUT=0.3)

    @app.post("/test/stop-then-write")
    @require_session
    def stop_then_write() -> dict[str, str]:
        down_pg.stop()
        get_session_manager().store_user_data("note", "written at save")
        return {"status": "ok"}

    @app.post("/test/stop-then-update")
    @require_session
    def stop_then_update() -> dict[str, str]:
        down_pg.stop()
        get_session_manager().update_user_data("count", lambda n: (n or 0) + 1)
        return {"status": "ok"}

    return app


def _connect(visitor: Visitor) -> Any:
    """POST /api/broker/connect (Kite), the first request that needs the store."""
    return visitor.client.post(
        "/api/broker/connect",
        json={"broker": "kite", "credentials": KITE},
        headers=visitor.headers(),
    )


def _until_served(client: FlaskClient, path: str, seconds: float = 10) -> int:
    """GET ``path`` until it is not 503; every answer before must be a clean 503."""
    deadline = time.monotonic() + seconds
    while True:
        answer = client.get(path)
        if answer.status_code != 503 or time.monotonic() > deadline:
            return answer.status_code
        assert_503(answer)


def test_outage_answers_503_then_recovers_without_a_restart(
    outage_app: Flask, down_pg: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    visitor = Visitor(outage_app.test_client())
    visitor.connect()
    added = visitor.client.post(
        "/api/watchlist", json={"symbol": "SBIN"}, headers=visitor.headers()
    )
    assert added.status_code == 200
    caplog.set_level(logging.INFO, logger="flask_session_guard")
    caplog.clear()
    down_pg.stop()
    assert_503(visitor.session_info())
    assert_503(visitor.client.get("/api/watchlist"))
    assert_503(visitor.extend())
    assert_503(
        visitor.client.post("/api/watchlist", json={"symbol": "TCS"}, headers=visitor.headers())
    )
    newcomer = Visitor(outage_app.test_client())
    newcomer.fetch_token()  # a pre-login token needs no store
    pre_login = newcomer.cookie()
    assert_503(_connect(newcomer))
    assert newcomer.cookie() == pre_login  # no session cookie was set
    assert outage_app.test_client().get("/healthz").status_code == 200
    down_pg.start()
    # The same app, the same cookie, the same data, once the pool has reconnected.
    assert _until_served(visitor.client, "/api/watchlist") == 200
    assert json_of(visitor.client.get("/api/watchlist"))["watchlist"] == ["SBIN"]
    assert visitor.extend().status_code == 200
    ours = [r for r in caplog.records if r.name.startswith("flask_session_guard")]
    warnings = [r.getMessage() for r in ours if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith("session store unavailable: postgres")
    assert [r for r in ours if "available again" in r.getMessage()]
    assert visitor.info["session_id"] not in caplog.text


@pytest.mark.parametrize("path", ["/test/stop-then-write", "/test/stop-then-update"])
def test_store_lost_mid_request_answers_503_and_keeps_nothing(
    outage_app: Flask, down_pg: PostgresServer, path: str
) -> None:
    visitor = Visitor(outage_app.test_client())
    visitor.connect()
    assert_503(visitor.client.post(path, headers=visitor.headers()))
    down_pg.start()
    assert _until_served(visitor.client, "/api/session/info") == 200
    store = outage_app.extensions["session_manager"].store
    assert isinstance(store, PostgresSessionStore)
    record = store.get(visitor.info["session_id"], 0)
    assert record is not None and "note" not in record.data and "count" not in record.data


def test_unreachable_server_at_start_up_is_not_fatal(
    make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL may come up after the app: requests answer 503 meanwhile, one warning."""
    from tests.processes import free_port

    caplog.set_level(logging.INFO, logger="flask_session_guard")
    app = make_app(f"postgresql://postgres@127.0.0.1:{free_port()}/x", SESSION_PG_TIMEOUT=0.3)
    visitor = Visitor(app.test_client())
    visitor.fetch_token()  # a pre-login token needs no store
    assert_503(_connect(visitor))
    ours = [r for r in caplog.records if r.name.startswith("flask_session_guard")]
    warnings = [r.getMessage() for r in ours if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "Connection refused" in warnings[0]
