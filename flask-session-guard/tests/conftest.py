"""The library's tests: plain Flask apps and the stores, nothing of the dashboard."""

from __future__ import annotations

from .fixtures import (
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
