"""Fixtures both test suites use: a clock, each store, a private redis-server and
PostgreSQL server, Chromium.

The library's conftest and the dashboard's import them by name.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask_session_guard import ManualClock, MemorySessionStore, SessionStore, SQLiteSessionStore

from .postgres_server import PostgresServer
from .redis_server import RedisServer
from .redis_topology import ClusterDeployment, SentinelDeployment

#: Every store; Redis and PostgreSQL ones are marked so that ``-m "not redis"`` or
#: ``-m "not postgres"`` leaves them out.
STORE_PARAMS = [
    "memory",
    "sqlite",
    pytest.param("redis", marks=pytest.mark.redis),
    pytest.param("postgres", marks=pytest.mark.postgres),
]
#: The store contract also runs on the master a Sentinel names and on a Redis Cluster.
CONTRACT_STORE_PARAMS = [
    *STORE_PARAMS,
    pytest.param("redis-sentinel", marks=pytest.mark.redis),
    pytest.param("redis-cluster", marks=pytest.mark.redis),
]


@pytest.fixture
def clock() -> ManualClock:
    """A clock that moves only when the test says so."""
    return ManualClock()


@pytest.fixture(params=STORE_PARAMS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of every store; Redis and PostgreSQL are private servers emptied for each test."""
    if request.param == "memory":
        return "memory://"
    if request.param in ("redis", "postgres"):
        url: str = request.getfixturevalue(f"{request.param}_url")
        return url
    return f"sqlite:///{tmp_path / 'sessions.sqlite3'}"


@pytest.fixture(params=CONTRACT_STORE_PARAMS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SessionStore]:
    """Each store, empty, for the store contract tests."""
    made: SessionStore
    if request.param == "memory":
        made = MemorySessionStore()
    elif request.param.startswith("redis"):
        from flask_session_guard import RedisSessionStore

        if request.param == "redis":
            url = request.getfixturevalue("redis_url")
        else:
            deployment = request.getfixturevalue(request.param.replace("-", "_"))
            for server in deployment.masters().values():
                server.client().flushall()
                server.close_clients()
            url = deployment.url()
        made = RedisSessionStore.from_url(url, instance_path=str(tmp_path))
    elif request.param == "postgres":
        from flask_session_guard import PostgresSessionStore

        made = PostgresSessionStore.from_url(
            request.getfixturevalue("postgres_url"), instance_path=str(tmp_path)
        )
    else:
        made = SQLiteSessionStore(tmp_path / "contract.sqlite3")
    yield made
    made.close()


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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole run, from its own initdb, on its own port."""
    with PostgresServer.running() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The private PostgreSQL, every table emptied for this test."""
    postgres_server.empty()
    return postgres_server.url()


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test alone: free to stop and start again."""
    with PostgresServer.running() as server:
        yield server


#: Debian's Chromium (never a downloaded build) and the flags every browser test uses.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


#: The one Playwright of this process and its Chromium, with how many fixtures use them.
_SHARED: dict[str, Any] = {}


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Headless Chromium through Playwright, one for the whole run.

    One process may run only one Playwright. Both suites' conftests register this
    fixture, which pytest treats as two, so they share one instance through
    ``_SHARED`` (the last one to finish closes it). Launch another browser with
    ``chromium.browser_type.launch``.
    """
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: run `make system-deps`")
    if not _SHARED:
        from playwright.sync_api import sync_playwright

        playwright = sync_playwright().start()
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        _SHARED.update(playwright=playwright, browser=browser, users=0)
    _SHARED["users"] += 1
    try:
        yield _SHARED["browser"]
    finally:
        _SHARED["users"] -= 1
        if not _SHARED["users"]:
            _SHARED["browser"].close()
            _SHARED["playwright"].stop()
            _SHARED.clear()


@pytest.fixture(scope="session")
def redis_sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelDeployment]:
    """A master, two replicas and three Sentinels for the whole run (never failed over)."""
    deployment = SentinelDeployment(tmp_path_factory.mktemp("sentinel"))
    deployment.start()
    try:
        yield deployment
    finally:
        deployment.stop()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterDeployment]:
    """Three masters with a replica each for the whole run (never failed over)."""
    deployment = ClusterDeployment(tmp_path_factory.mktemp("cluster"))
    deployment.start()
    try:
        yield deployment
    finally:
        deployment.stop()
