"""``/readyz`` answers for the store, ``/healthz`` for the process; pages stay pages
while the store is down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_session_guard import ManualClock, MemorySessionStore
from tests.redis_server import RedisServer

from indian_dashboard import create_app

from .apps import json_of
from .conftest import Visitor
from .servers import SECRET


@pytest.fixture
def memory_app(tmp_path: Path, clock: ManualClock) -> Iterator[Flask]:
    app = create_app(
        {"TESTING": True, "SECRET_KEY": SECRET, "SESSION_STORE_URL": "memory://"},
        clock=clock,
        instance_path=str(tmp_path / "instance"),
    )
    yield app


def test_readyz_answers_ok_and_makes_no_session(memory_app: Flask) -> None:
    store = memory_app.extensions["session_manager"].store
    assert isinstance(store, MemorySessionStore)
    visitor = Visitor(memory_app.test_client())
    visitor.connect()
    before = len(store)
    for client in (memory_app.test_client(), visitor.client):
        answer = client.get("/readyz")
        assert answer.status_code == 200 and answer.json == {"status": "ok", "store": "ok"}
        assert "Set-Cookie" not in answer.headers
    assert len(store) == before


@pytest.fixture
def redis_app(own_redis: RedisServer, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": SECRET,
            "SESSION_STORE_URL": own_redis.url,
            "SESSION_REDIS_SOCKET_TIMEOUT": 0.5,
            "SESSION_REDIS_CONNECT_TIMEOUT": 0.5,
        },
        instance_path=str(tmp_path / "instance"),
    )
    yield app
    app.extensions["session_manager"].store.close()


@pytest.mark.redis
def test_readyz_says_store_unavailable_while_redis_is_down(
    redis_app: Flask, own_redis: RedisServer
) -> None:
    client = redis_app.test_client()
    assert client.get("/readyz").status_code == 200
    own_redis.stop()
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert json_of(answer)["error"] == "store_unavailable"
    assert answer.headers["Retry-After"] == "5"
    assert client.get("/healthz").status_code == 200  # liveness never asks the store
    own_redis.start()
    assert client.get("/readyz").status_code == 200


@pytest.mark.redis
def test_the_page_is_a_page_while_the_store_is_down(
    redis_app: Flask, own_redis: RedisServer
) -> None:
    visitor = Visitor(redis_app.test_client())
    visitor.connect()
    assert visitor.client.get("/").status_code == 200
    own_redis.pause()
    try:
        answer = visitor.client.get("/", headers={"Accept": "text/html"})
    finally:
        own_redis.resume()
    assert answer.status_code == 503
    assert answer.mimetype == "text/html"
    assert answer.headers["Retry-After"] == "5"
    assert answer.headers["Cache-Control"] == "no-store"
    page = answer.get_data(as_text=True)
    assert "<h1" in page and "unavailable" in page and "reload this page in 5 seconds" in page
    assert "session-manager.js" not in page  # nothing on it polls the store
    assert visitor.client.get("/").status_code == 200  # and the session is still there
