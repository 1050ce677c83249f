"""``GET /metrics`` in the Prometheus text format (optional extra ``metrics``).

Enabled by ``SESSION_METRICS=1``. Counters follow the audit events; store calls
are timed by wrapping the store. With several gunicorn workers set
``PROMETHEUS_MULTIPROC_DIR`` to an empty directory, and every scrape reports the
figures of all workers together (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask, Response

from .settings import ConfigError
from .stores.base import SessionStore, StoreError

#: Store methods whose latency is recorded.
_TIMED = ("get", "create", "update", "update_value", "delete", "revoke", "list_sessions")


class InstrumentedStore:
    """Wraps a store: times each call and counts store errors."""

    def __init__(self, inner: SessionStore, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in _TIMED:
            return attr

        @functools.wraps(attr)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return attr(*args, **kwargs)
            except StoreError:
                self._metrics.store_errors.labels(operation=name).inc()
                raise
            finally:
                self._metrics.latency.labels(operation=name).observe(time.perf_counter() - started)

        return timed


class Metrics:
    """The counters, histogram and live-session gauge of one app."""

    def __init__(self, store: SessionStore, now: Callable[[], float]) -> None:
        from prometheus_client import Counter, Histogram

        self._store = store
        self._now = now
        self.created = Counter("dashboard_sessions_created_total", "Sessions created", ["kind"])
        self.expired = Counter(
            "dashboard_sessions_expired_total", "Sessions found expired", ["kind"]
        )
        self.revoked = Counter("dashboard_sessions_revoked_total", "Sessions revoked", ["by"])
        self.cleared = Counter("dashboard_sessions_cleared_total", "Sessions cleared (logout)")
        self.rotated = Counter("dashboard_sessions_rotated_total", "Session ids rotated")
        self.csrf_refusals = Counter(
            "dashboard_csrf_refusals_total", "Requests refused for their CSRF token", ["reason"]
        )
        self.origin_refusals = Counter(
            "dashboard_origin_refusals_total", "Unsafe requests refused for their origin"
        )
        self.cookie_refusals = Counter(
            "dashboard_cookie_refusals_total", "Session cookies refused", ["reason"]
        )
        self.store_errors = Counter(
            "dashboard_store_errors_total", "Store calls that failed", ["operation"]
        )
        self.latency = Histogram(
            "dashboard_store_seconds",
            "Store call latency",
            ["operation"],
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1.0),
        )

    def on_event(self, event: str, record: dict[str, Any]) -> None:
        """Audit listener: one event, one counter step."""
        if event == "session_created":
            self.created.labels(kind=record.get("kind", "login")).inc()
        elif event == "session_rotated":
            self.rotated.inc()
        elif event == "session_expired":
            self.expired.labels(kind=record.get("kind", "idle")).inc()
        elif event == "session_revoked":
            self.revoked.labels(by=record.get("by", "user")).inc()
        elif event == "session_cleared":
            self.cleared.inc()
        elif event == "csrf_failure":
            self.csrf_refusals.labels(reason=record.get("reason", "invalid")).inc()
        elif event == "origin_refused":
            self.origin_refusals.inc()
        elif event == "cookie_refused":
            self.cookie_refusals.labels(reason=record.get("reason", "")).inc()

    def exposition(self) -> bytes:
        """The text a scrape answers: every worker's counters plus the live gauge."""
        from prometheus_client import CollectorRegistry, generate_latest
        from prometheus_client.core import GaugeMetricFamily
        from prometheus_client.registry import REGISTRY, Collector

        store, now = self._store, self._now

        class _Live(Collector):
            def collect(self) -> Iterator[GaugeMetricFamily]:
                yield GaugeMetricFamily(
                    "dashboard_sessions_live", "Live sessions in the store", store.count_live(now())
                )

        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        else:
            registry = CollectorRegistry()
            for collector in list(REGISTRY._collector_to_names):
                registry.register(collector)
        registry.register(_Live())
        return generate_latest(registry)


def instrument(
    app: Flask, store: SessionStore, now: Callable[[], float]
) -> tuple[SessionStore, Metrics | None]:
    """With ``SESSION_METRICS`` on: serve ``/metrics`` and return the store wrapped for timing.

    Otherwise the store comes back untouched. A missing library stops start-up.
    """
    if not app.config.get("SESSION_METRICS"):
        return store, None
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        raise ConfigError(
            "SESSION_METRICS=1 needs prometheus_client: pip install 'indian-dashboard[metrics]'"
        ) from None
    metrics = _metrics_for(store, now)

    @app.get("/metrics")
    def prometheus_metrics() -> Response:
        """The Prometheus exposition (keep this path private in production)."""
        from prometheus_client import CONTENT_TYPE_LATEST

        return Response(metrics.exposition(), mimetype=CONTENT_TYPE_LATEST.split(";")[0])

    return InstrumentedStore(store, metrics), metrics


_METRICS: Metrics | None = None


def _metrics_for(store: SessionStore, now: Callable[[], float]) -> Metrics:
    # prometheus_client registers metric names once per process; several apps in
    # one process (tests) share the counters and point the gauge at the newest store.
    global _METRICS
    if _METRICS is None:
        _METRICS = Metrics(store, now)
    else:
        _METRICS._store, _METRICS._now = store, now
    return _METRICS
