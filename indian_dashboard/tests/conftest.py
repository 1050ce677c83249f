"""Fixtures shared by the unit, integration, server and browser tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_session_guard import ManualClock
from tests.fixtures import (
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

from .servers import SECRET, LiveServer, start_server

# Shared with the library's tests (store contract, private redis-server and PostgreSQL).
__all__ = [
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

KITE = {"client_id": "AB1234", "api_key": "kite-key", "api_secret": "kite-secret-value"}


@pytest.fixture
def app(clock: ManualClock, tmp_path: Path, store_url: str) -> Iterator[Flask]:
    """The dashboard on each store, with the manual clock and short timeouts."""
    made = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": SECRET,
            "SESSION_STORE_URL": store_url,
            "SESSION_TIMEOUT": 600,
            "SESSION_ABSOLUTE_TIMEOUT": 3600,
        },
        clock=clock,
        instance_path=str(tmp_path / "instance"),
    )
    yield made
    made.extensions["session_manager"].store.close()


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

    def connect(self, broker: str = "kite", credentials: dict[str, str] | None = None) -> Any:
        """Connect a broker (fetching a pre-login token first) and keep the new token."""
        if self.token is None:
            self.fetch_token()
        response = self.client.post(
            "/api/broker/connect",
            json={"broker": broker, "credentials": credentials or KITE},
            headers=self.headers(),
        )
        assert response.status_code == 200, response.json
        self.token = response.json["csrf_token"]
        self.info = response.json["session"]
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
    server = start_server(tmp_path)
    try:
        yield server
    finally:
        server.stop()


# -- browser tests --------------------------------------------------------------------------

#: Environment of the servers the browser tests use: exact activity figures.
BROWSER_ENV = {"SESSION_ACTIVITY_INTERVAL": "0", "SESSION_ABSOLUTE_TIMEOUT": "3600"}


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's headless Chromium (never a downloaded build), shared by the browser tests."""
    if not Path("/usr/bin/chromium").exists():
        pytest.fail("Debian's chromium is missing: run `make system-deps`")
    from playwright.sync_api import sync_playwright

    from .browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


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
