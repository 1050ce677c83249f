"""Fixtures shared by the unit, integration, server and browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from indian_dashboard import create_app
from indian_dashboard.clock import ManualClock
from indian_dashboard.stores import SessionStore
from indian_dashboard.stores.memory import MemorySessionStore
from indian_dashboard.stores.sqlite import SQLiteSessionStore

from .redis_server import RedisServer

SECRET = "test-secret-key-that-is-long-enough-0123456789"
KITE = {"client_id": "AB1234", "api_key": "kite-key", "api_secret": "kite-secret-value"}


@pytest.fixture
def clock() -> ManualClock:
    """A clock that moves only when the test says so."""
    return ManualClock()


#: Every store; Redis ones are marked so that ``-m "not redis"`` leaves them out.
STORE_PARAMS = ["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)]


@pytest.fixture(params=STORE_PARAMS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of every store; Redis is a private server emptied for each test."""
    if request.param == "memory":
        return "memory://"
    if request.param == "redis":
        url: str = request.getfixturevalue("redis_url")
        return url
    return f"sqlite:///{tmp_path / 'sessions.sqlite3'}"


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


@pytest.fixture(params=STORE_PARAMS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SessionStore]:
    """Each store, empty, for the store contract tests."""
    made: SessionStore
    if request.param == "memory":
        made = MemorySessionStore()
    elif request.param == "redis":
        from indian_dashboard.stores.redis import RedisSessionStore

        made = RedisSessionStore.from_url(
            request.getfixturevalue("redis_url"), instance_path=str(tmp_path)
        )
    else:
        made = SQLiteSessionStore(tmp_path / "contract.sqlite3")
    yield made
    made.close()


# -- a private Redis ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the whole run, on its own port (never the shared 6379)."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """The private Redis, emptied (FLUSHDB on that server only) for this test."""
    redis_server.client().flushdb()
    yield redis_server.url
    redis_server.close_clients()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test alone, with an append-only file: free to pause or stop."""
    server = RedisServer(tmp_path / "redis", appendonly=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# -- a real server in a subprocess --------------------------------------------------------


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    """The dashboard under gunicorn in a subprocess."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_server(
    tmp_path: Path, *, workers: int = 2, env: dict[str, str] | None = None, name: str = "server"
) -> LiveServer:
    """Start ``python -m indian_dashboard`` on a free port and wait until it answers."""
    import urllib.error
    import urllib.request

    port = free_port()
    log_path = tmp_path / f"{name}.log"
    full_env = {
        **os.environ,
        "FLASK_SECRET_KEY": SECRET,
        "SESSION_STORE_URL": f"sqlite:///{tmp_path / 'live.sqlite3'}",
        **(env or {}),
    }
    # A value of "" in ``env`` removes the variable (e.g. to test the generated key).
    full_env = {k: v for k, v in full_env.items() if v != ""}
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "indian_dashboard",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--instance",
                str(tmp_path / "instance"),
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=full_env,
            cwd=tmp_path,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log()}")
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server did not answer within 20 s:\n{server.log()}")


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """The dashboard under gunicorn (2 workers) on SQLite, on a free loopback port."""
    server = start_server(tmp_path)
    try:
        yield server
    finally:
        server.stop()
