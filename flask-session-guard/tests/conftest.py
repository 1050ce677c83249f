"""The library's tests: plain Flask apps and the stores, nothing of the dashboard."""

from __future__ import annotations

from .fixtures import clock, own_redis, redis_server, redis_url, store, store_url

__all__ = ["clock", "own_redis", "redis_server", "redis_url", "store", "store_url"]
