"""Fixtures shared by the unit, integration, server and browser tests."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_session_guard import ManualClock
from tests.counting import CountingStore
from tests.fixtures import (
    chromium,
    clock,
    own_postgres,
    own_redis,
    postgres_server,
    postgres_url,
    redis_cluster,
    redis_sentinel,
    redis_server,
    redis_url,
    store,
    store_url,
)

from indian_dashboard import create_app

from .apps import app_config, json_of
from .emulated import DHAN, PASSWORD, emulator, kite_credentials, path_of, sign_in
from .http_visitor import HttpVisitor
from .servers import SECRET, LiveServer, serving, start_server

# Shared with the library's tests (store contract, private redis-server and PostgreSQL,
# Chromium).
__all__ = [
    "DHAN",
    "chromium",
    "clock",
    "own_postgres",
    "own_redis",
    "postgres_server",
    "postgres_url",
    "redis_cluster",
    "redis_sentinel",
    "redis_server",
    "redis_url",
    "store",
    "store_url",
]

#: The test client's Kite app at the emulator, and the trader who signs in with it.
KITE = kite_credentials()
KITE_USER = "AB1234"


@pytest.fixture
def app(clock: ManualClock, tmp_path: Path, store_url: str) -> Iterator[Flask]:
    """The dashboard on each store, with the manual clock and short timeouts."""
    made = create_app(app_config(store_url), clock=clock, instance_path=str(tmp_path / "instance"))
    yield made
    made.extensions["session_manager"].store.close()


@pytest.fixture
def counting(app: Flask) -> CountingStore:
    """The app's store, wrapped so that tests can count round trips."""
    interface = app.extensions["session_manager"].interface
    interface.store = CountingStore(interface.store)
    store: CountingStore = interface.store
    return store


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """One app for a module's examples (memory store); each example makes its own visitor."""
    return create_app(
        {"TESTING": True, "SECRET_KEY": SECRET, "SESSION_STORE_URL": "memory://"},
        instance_path=str(tmp_path_factory.mktemp("fuzz") / "instance"),
    )


@pytest.fixture(scope="session", autouse=True)
def _brokers_are_the_emulator() -> Iterator[None]:
    """Every app and test server of the run talks to the emulator, never a real broker.

    Through the environment (as ``make demo`` does), so apps a test builds itself
    and servers in subprocesses follow too.
    """
    saved = {k: os.environ.get(k) for k in emulator().settings()}
    os.environ.update(emulator().settings())
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(autouse=True)
def _emulator_faults_off() -> Iterator[None]:
    """Every test starts and ends with a well-behaved emulator on the wall clock."""
    state = emulator().state
    yield
    state.faults.clear()
    state.clock = time.time


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client with its own cookie jar."""
    return app.test_client()


@dataclass
class Visitor:
    """A browser-like client: keeps its cookie and its latest CSRF token."""

    client: FlaskClient
    token: str | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def fetch_token(self) -> str:
        """GET /api/session/csrf-token and keep the token."""
        response = self.client.get("/api/session/csrf-token")
        assert response.status_code == 200, response.json
        self.token = response.json["csrf_token"]  # type: ignore[index]
        return self.token

    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.token} if self.token else {}

    def connect(
        self,
        broker: str = "kite",
        credentials: dict[str, str] | None = None,
        *,
        user: str = KITE_USER,
        password: str = PASSWORD,
    ) -> Any:
        """Sign in with a broker at the emulator and keep the new token and session info.

        A redirect broker's login page is filled in as ``user``; the answer is the
        callback's (a redirect to ``/``). A direct broker's answer is the connect one.
        """
        if self.token is None:
            self.fetch_token()
        response = self.client.post(
            "/api/broker/connect",
            json={"broker": broker, "credentials": credentials or KITE},
            headers=self.headers(),
        )
        assert response.status_code == 200, response.json
        if json_of(response)["status"] == "redirect":
            callback = sign_in(json_of(response)["redirect_url"], user, password)
            response = self.client.get(path_of(callback))
            assert response.status_code == 303, response.get_data(as_text=True)
            self.fetch_token()
            self.info = json_of(self.client.get("/api/session/info"))["session"]
            return response
        self.token = json_of(response)["csrf_token"]
        self.info = json_of(response)["session"]
        return response

    def extend(self) -> Any:
        return self.client.post("/api/session/extend", headers=self.headers())

    def logout(self) -> Any:
        return self.client.post("/api/session/clear", headers=self.headers())

    def session_info(self) -> Any:
        return self.client.get("/api/session/info")

    def cookie(self) -> str | None:
        cookie = self.client.get_cookie("session")
        return None if cookie is None else cookie.value


@pytest.fixture
def visitor(client: FlaskClient) -> Visitor:
    """A visitor with no session yet."""
    return Visitor(client)


@pytest.fixture
def connected(visitor: Visitor) -> Visitor:
    """A visitor connected to Kite: an active session and its token."""
    visitor.connect()
    return visitor


# -- a real server in a subprocess: see servers.py ---------------------------------------


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """The dashboard under gunicorn (2 workers) on SQLite, on a free loopback port."""
    yield from serving(tmp_path)


@pytest.fixture
def http_visitors() -> Iterator[list[HttpVisitor]]:
    """Collects the test's HTTP visitors and closes them at teardown."""
    made: list[HttpVisitor] = []
    yield made
    for one in made:
        one.close()


# -- browser tests --------------------------------------------------------------------------

#: Environment of the servers the browser tests use: exact activity figures.
BROWSER_ENV = {"SESSION_ACTIVITY_INTERVAL": "0", "SESSION_ABSOLUTE_TIMEOUT": "3600"}


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """``servers(SESSION_TIMEOUT="4")``: a live server with that environment, shared by tests.

    Each test uses its own browser context, so its own session; servers with the
    same settings are reused to keep the suite quick.
    """
    started: dict[tuple[tuple[str, str], ...], LiveServer] = {}

    def get(**env: str) -> LiveServer:
        full = {**BROWSER_ENV, **env}
        key = tuple(sorted(full.items()))
        if key not in started:
            started[key] = start_server(tmp_path_factory.mktemp("browser-server"), env=full)
        return started[key]

    yield get
    for server in started.values():
        server.stop()


@pytest.fixture
def people(chromium: Any) -> Iterator[Any]:
    """``people(server, config)`` opens a new browser context; all are closed afterwards."""
    from .browser import Person

    made: list[Person] = []

    def make(server: LiveServer, config: dict[str, Any] | None = None, **options: Any) -> Person:
        person = Person.start(chromium, server.url, config, **options)
        made.append(person)
        return person

    yield make
    for person in made:
        person.close()


# -- the number of generated cases, for the record -----------------------------------------


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print how many generated requests hypothesis and schemathesis tried, and the 5xx seen."""
    from .contract import TRIED

    if not TRIED:
        return
    terminalreporter.write_sep("-", "generated cases tried")
    for name, count in sorted(TRIED.items()):
        if name != "5xx":
            terminalreporter.write_line(f"{name}: {count}")
    terminalreporter.write_line(f"5xx answers: {TRIED['5xx']}")
