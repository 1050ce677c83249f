"""Metrics: an opt-in blueprint with a registry per app (no process-wide one)."""

from __future__ import annotations

import sys

import pytest
from flask import Flask
from flask_session_guard import ConfigError
from prometheus_client import REGISTRY

from .plain import MakeApp, log_in


def sample(app: Flask, name: str) -> float | None:
    text = app.test_client().get("/metrics").get_data(as_text=True)
    line = next((x for x in text.splitlines() if x.startswith(name + " ")), None)
    return float(line.split()[-1]) if line else None


def test_off_by_default(app: Flask) -> None:
    assert app.test_client().get("/metrics").status_code == 404
    assert "session_metrics" not in app.blueprints


def test_counts_this_apps_events(make_app: MakeApp) -> None:
    app = make_app(SESSION_METRICS=True)
    assert "session_metrics" in app.blueprints
    client = app.test_client()
    token = log_in(client)
    client.post("/ping", headers={"X-CSRF-Token": "forged"})
    client.post("/logout", headers={"X-CSRF-Token": token})
    assert sample(app, 'session_guard_sessions_created_total{kind="login"}') == 1
    assert sample(app, 'session_guard_csrf_refusals_total{reason="invalid"}') == 1
    assert sample(app, "session_guard_sessions_cleared_total") == 1
    assert sample(app, "session_guard_sessions_live") == 0
    response = app.test_client().get("/metrics")
    assert response.mimetype == "text/plain"
    assert "session_guard_store_seconds_bucket" in response.get_data(as_text=True)


def test_two_apps_in_one_process_keep_apart(make_app: MakeApp) -> None:
    first = make_app(SESSION_METRICS=True)
    second = make_app(SESSION_METRICS=True)
    log_in(first.test_client())
    log_in(first.test_client())
    assert sample(first, 'session_guard_sessions_created_total{kind="login"}') == 2
    assert sample(second, 'session_guard_sessions_created_total{kind="login"}') is None
    assert sample(first, "session_guard_sessions_live") == 2
    assert sample(second, "session_guard_sessions_live") == 0


def test_nothing_lands_in_the_global_registry(make_app: MakeApp) -> None:
    make_app(SESSION_METRICS=True, SESSION_METRICS_NAMESPACE="mine")
    assert REGISTRY.get_sample_value("mine_sessions_cleared_total") is None


def test_namespace(make_app: MakeApp) -> None:
    app = make_app(SESSION_METRICS=True, SESSION_METRICS_NAMESPACE="shop")
    log_in(app.test_client())
    assert sample(app, 'shop_sessions_created_total{kind="login"}') == 1


def test_bad_namespace_stops_start_up(make_app: MakeApp) -> None:
    with pytest.raises(ConfigError, match="SESSION_METRICS_NAMESPACE"):
        make_app(SESSION_METRICS=True, SESSION_METRICS_NAMESPACE="no spaces")


def test_missing_library_stops_start_up(make_app: MakeApp, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    with pytest.raises(ConfigError, match=r"flask-session-guard\[metrics\]"):
        make_app(SESSION_METRICS=True)
