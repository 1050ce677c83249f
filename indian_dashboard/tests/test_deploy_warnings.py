"""Misconfigurations fail loudly: each produces one message that names its fix."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_session_guard import ManualClock
from flask_session_guard.deployment import BURST_COUNT, describe_settings
from flask_session_guard.session_ids import CookieSigner, new_session_id

from indian_dashboard import create_app

from .apps import json_of
from .conftest import DHAN
from .servers import SECRET

LOGGER = "flask_session_guard.deployment"
#: Behind a proxy the public origin is configuration (start-up stops without it).
ORIGIN = "https://dash.example.com"
Make = Callable[..., Flask]


@pytest.fixture
def make(tmp_path: Path, clock: ManualClock) -> Iterator[Make]:
    """``make(**config)``: the dashboard on the memory store with these settings."""
    made: list[Flask] = []

    def build(**config: Any) -> Flask:
        app = create_app(
            {"TESTING": True, "SECRET_KEY": SECRET, "SESSION_STORE_URL": "memory://", **config},
            clock=clock,
            instance_path=str(tmp_path / f"instance{len(made)}"),
        )
        made.append(app)
        return app

    yield build
    for app in made:
        app.extensions["session_manager"].store.close()


def _warnings(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == LOGGER and r.levelno == logging.WARNING and text in r.getMessage()
    ]


def test_https_through_a_proxy_without_secure_cookie_warns_once(
    make: Make, caplog: pytest.LogCaptureFixture
) -> None:
    client = make(SESSION_TRUSTED_PROXIES=1, SESSION_PUBLIC_ORIGIN=ORIGIN).test_client()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        client.get("/healthz")  # plain http: nothing to say
        assert _warnings(caplog, "SESSION_COOKIE_SECURE") == []
        for _ in range(3):
            client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    found = _warnings(caplog, "SESSION_COOKIE_SECURE")
    assert len(found) == 1
    assert "through a trusted proxy" in found[0] and "SESSION_COOKIE_SECURE=true" in found[0]


def test_https_with_secure_cookie_says_nothing(
    make: Make, caplog: pytest.LogCaptureFixture
) -> None:
    client = make(
        SESSION_TRUSTED_PROXIES=1, SESSION_PUBLIC_ORIGIN=ORIGIN, SESSION_COOKIE_SECURE=True
    ).test_client()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert _warnings(caplog, "") == []


def test_forwarded_for_without_trusted_proxies_warns_once(
    make: Make, caplog: pytest.LogCaptureFixture
) -> None:
    client = make().test_client()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        for _ in range(3):
            client.get("/healthz", headers={"X-Forwarded-For": "203.0.113.9"})
    found = _warnings(caplog, "X-Forwarded-For")
    assert len(found) == 1 and "SESSION_TRUSTED_PROXIES=1" in found[0]


def test_forwarded_for_with_trusted_proxies_says_nothing(
    make: Make, caplog: pytest.LogCaptureFixture
) -> None:
    client = make(SESSION_TRUSTED_PROXIES=1, SESSION_PUBLIC_ORIGIN=ORIGIN).test_client()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        client.get("/healthz", headers={"X-Forwarded-For": "203.0.113.9"})
    assert _warnings(caplog, "") == []


def _foreign_cookie() -> str:
    return CookieSigner("the-key-of-another-server-0123456789abcdef").sign(new_session_id())


def test_a_burst_of_bad_signatures_names_the_secret_key(
    make: Make, caplog: pytest.LogCaptureFixture
) -> None:
    client = make().test_client()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        for _ in range(BURST_COUNT * 2):
            client.set_cookie("session", _foreign_cookie())
            assert client.get("/api/session/info").status_code == 401
    found = _warnings(caplog, "FLASK_SECRET_KEY")
    assert len(found) == 1
    assert "must be equal on every server" in found[0]


def test_bad_signatures_spread_out_are_no_burst(
    make: Make, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    client = make().test_client()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        for _ in range(BURST_COUNT * 2):
            client.set_cookie("session", _foreign_cookie())
            client.get("/api/session/info")
            clock.advance(20)  # one stale browser now and then is not a key mismatch
    assert _warnings(caplog, "FLASK_SECRET_KEY") == []


def _connect(client: Any, token: str, **headers: str) -> Any:
    return client.post(
        "/api/broker/connect",
        json={"broker": "dhan", "credentials": DHAN},
        headers={"X-CSRF-Token": token, **headers},
    )


def test_plain_http_with_secure_cookie_names_https(
    make: Make, caplog: pytest.LogCaptureFixture
) -> None:
    """The browser dropped the Secure cookie over http: say so, not "invalid token"."""
    app = make(SESSION_COOKIE_SECURE=True)
    browser = app.test_client()  # over https the cookie is kept
    token = json_of(browser.get("/api/session/csrf-token", base_url="https://localhost"))[
        "csrf_token"
    ]
    plain = app.test_client()  # over http the browser never got (or sends) the cookie
    with caplog.at_level(logging.INFO):
        refused = _connect(plain, token)
    audit = [r.getMessage() for r in caplog.records if r.name == "flask_session_guard.audit"]
    assert any('"reason":"insecure_transport"' in line for line in audit)
    assert refused.status_code == 403
    body = refused.json
    assert body["error"] == "csrf_invalid"
    assert "HTTPS" in body["message"] and "SESSION_COOKIE_SECURE" in body["message"]
    # With the cookie (http://localhost is a secure context) the request goes through.
    assert _connect(browser, token).status_code == 200


def test_plain_http_refusal_leaves_other_refusals_alone(make: Make) -> None:
    app = make(SESSION_COOKIE_SECURE=True)
    over_https = app.test_client()
    refused = over_https.post(
        "/api/broker/connect", json={}, headers={"X-CSRF-Token": "x"}, base_url="https://localhost"
    )
    assert json_of(refused)["error"] == "csrf_invalid"
    assert "SESSION_COOKIE_SECURE" not in json_of(refused)["message"]
    no_token = app.test_client().post("/api/broker/connect", json={})
    assert json_of(no_token)["error"] == "csrf_missing"


@pytest.mark.parametrize(
    ("public_origin", "expected"),
    [
        ("https://dash.example.com", "https://dash.example.com (SESSION_PUBLIC_ORIGIN)"),
        (None, "set SESSION_PUBLIC_ORIGIN"),
    ],
)
def test_origin_refusals_name_the_public_origin_setting(
    make: Make, public_origin: str | None, expected: str
) -> None:
    app = make(SESSION_PUBLIC_ORIGIN=public_origin) if public_origin else make()
    client = app.test_client()
    token = json_of(client.get("/api/session/csrf-token"))["csrf_token"]
    by_origin = _connect(client, token, Origin="https://elsewhere.example")
    by_fetch = _connect(client, token, **{"Sec-Fetch-Site": "cross-site"})
    for refused in (by_origin, by_fetch):
        assert refused.status_code == 403 and refused.json["error"] == "origin_mismatch"
        assert expected in refused.json["message"]


def test_settings_line_hides_the_store_password(make: Make) -> None:
    app = make(SESSION_COOKIE_SECURE=True, SESSION_PUBLIC_ORIGIN="https://dash.example.com")
    line = describe_settings(app)
    assert "store memory://" in line and "cookie __Host-session (Secure" in line
    from flask_session_guard.deployment import redact_url

    assert redact_url("redis://:hunter2@10.0.0.5:6379/0") == "redis://:***@10.0.0.5:6379/0"
    assert redact_url("rediss://app:hunter2@r:6380/1") == "rediss://app:***@r:6380/1"
    assert redact_url("sqlite:///sessions.sqlite3") == "sqlite:///sessions.sqlite3"
