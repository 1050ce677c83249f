"""The library's tests: plain Flask apps and the stores, nothing of the dashboard."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_session_guard import ManualClock

from .fixtures import (
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
from .plain import MakeApp, SwitchableStore, build_plain_app

__all__ = [
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


@pytest.fixture
def make_app(clock: ManualClock) -> MakeApp:
    """``make_app(**config)``: a plain app (tests/plain.py) on the test's clock."""

    def make(*, store: SwitchableStore | None = None, **config: Any) -> Flask:
        return build_plain_app(clock, store, **config)

    return make


@pytest.fixture
def app(make_app: MakeApp) -> Flask:
    """The plain app with the library's defaults."""
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of :func:`app`."""
    return app.test_client()
