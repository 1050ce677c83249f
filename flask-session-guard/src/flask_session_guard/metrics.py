"""``GET /metrics`` in the Prometheus text format (optional extra ``metrics``).

Enabled by ``SESSION_METRICS=1``: the ``session_metrics`` blueprint, and one
registry per app (no process-wide one). Counters follow the audit events; store calls
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

from flask import Blueprint, Flask, Response, current_app

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
    """The counters, histogram and live-session gauge of one app, in its own registry.

    Each app gets a fresh :class:`prometheus_client.CollectorRegistry`, so several
    apps in one process (tests, a dispatcher) never share or clash over names.
    Names start with ``namespace`` (``SESSION_METRICS_NAMESPACE``).
    """

    def __init__(
        self, store: SessionStore, now: Callable[[], float], namespace: str = "session_guard"
    ) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry()
        self._multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        n, reg = namespace, self.registry

        def counter(name: str, text: str, labels: tuple[str, ...] = ()) -> Counter:
            return Counter(f"{n}_{name}", text, labels, registry=reg)

        self.created = counter("sessions_created_total", "Sessions created", ("kind",))
        self.expired = counter("sessions_expired_total", "Sessions found expired", ("kind",))
        self.revoked = counter("sessions_revoked_total", "Sessions revoked", ("by",))
        self.cleared = counter("sessions_cleared_total", "Sessions cleared (logout)")
        self.rotated = counter("sessions_rotated_total", "Session ids rotated")
        self.csrf_refusals = counter(
            "csrf_refusals_total", "Requests refused for their CSRF token", ("reason",)
        )
        self.origin_refusals = counter(
            "origin_refusals_total", "Unsafe requests refused for their origin"
        )
        self.cookie_refusals = counter(
            "cookie_refusals_total", "Session cookies refused", ("reason",)
        )
        self.store_errors = counter("store_errors_total", "Store calls that failed", ("operation",))
        self.latency = Histogram(
            f"{n}_store_seconds",
            "Store call latency",
            ["operation"],
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1.0),
            registry=reg,
        )
        self._live = _LiveSessions(f"{n}_sessions_live", store, now)
        reg.register(self._live)

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
        """The text a scrape answers: the counters (every worker's) plus the live gauge."""
        from prometheus_client import CollectorRegistry, generate_latest

        if not self._multiprocess:
            return generate_latest(self.registry)
        # Each worker writes its values to files in PROMETHEUS_MULTIPROC_DIR; the
        # collector adds them up, whichever worker answers the scrape.
        from prometheus_client import multiprocess

        scrape = CollectorRegistry()
        multiprocess.MultiProcessCollector(scrape)  # type: ignore[no-untyped-call]
        scrape.register(self._live)
        return generate_latest(scrape)


class _LiveSessions:
    """The gauge of live sessions, counted in the store at scrape time."""

    def __init__(self, name: str, store: SessionStore, now: Callable[[], float]) -> None:
        self._name, self._store, self._now = name, store, now

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        live = self._store.count_live(self._now())
        yield GaugeMetricFamily(self._name, "Live sessions in the store", live)


#: Serves ``GET /metrics``; ``init_app`` registers it when ``SESSION_METRICS`` is on.
bp = Blueprint("session_metrics", __name__)
METRICS_KEY = "session_metrics"


@bp.get("/metrics")
def prometheus_metrics() -> Response:
    """The Prometheus exposition of this app (keep this path private in production)."""
    from prometheus_client import CONTENT_TYPE_LATEST

    metrics: Metrics = current_app.extensions[METRICS_KEY]
    return Response(metrics.exposition(), mimetype=CONTENT_TYPE_LATEST.split(";")[0])


def instrument(
    app: Flask, store: SessionStore, now: Callable[[], float]
) -> tuple[SessionStore, Metrics | None]:
    """With ``SESSION_METRICS`` on: serve ``/metrics`` and return the store wrapped for timing.

    Otherwise the store comes back untouched. A missing library stops start-up.
    The app's :class:`Metrics` is ``app.extensions["session_metrics"]``.
    """
    if not app.config.get("SESSION_METRICS"):
        return store, None
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        raise ConfigError(
            "SESSION_METRICS=1 needs prometheus_client: pip install 'flask-session-guard[metrics]'"
        ) from None
    namespace = app.config.get("SESSION_METRICS_NAMESPACE") or "session_guard"
    if not isinstance(namespace, str) or not namespace.isidentifier():
        raise ConfigError(
            f"SESSION_METRICS_NAMESPACE must be a Prometheus name like myapp, got {namespace!r}"
        )
    metrics = Metrics(store, now, namespace)
    app.extensions[METRICS_KEY] = metrics
    app.register_blueprint(bp)
    return InstrumentedStore(store, metrics), metrics
