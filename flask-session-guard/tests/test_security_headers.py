"""Security headers: off by default, all of them with ``True``, single ones changed by a dict."""

from __future__ import annotations

from flask import Flask
from flask_session_guard.security_headers import HEADERS

from .plain import MakeApp


def test_off_by_default(app: Flask) -> None:
    headers = app.test_client().get("/form").headers
    assert not {name for name in HEADERS if name in headers}


def test_on_everywhere_errors_included(make_app: MakeApp) -> None:
    client = make_app(SESSION_SECURITY_HEADERS=True).test_client()
    for path in ("/form", "/me", "/no-such-page"):
        headers = client.get(path).headers
        for name, value in HEADERS.items():
            assert headers[name] == value, (path, name)


def test_a_dict_changes_or_drops_single_headers(make_app: MakeApp) -> None:
    policy = "default-src 'self'; script-src 'self' https://cdn.example.com"
    app = make_app(
        SESSION_SECURITY_HEADERS={"Content-Security-Policy": policy, "X-Frame-Options": None}
    )
    headers = app.test_client().get("/form").headers
    assert headers["Content-Security-Policy"] == policy
    assert "X-Frame-Options" not in headers
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_a_views_own_header_wins(make_app: MakeApp) -> None:
    app = make_app(SESSION_SECURITY_HEADERS=True)

    @app.get("/framed")
    def framed() -> tuple[str, dict[str, str]]:
        return "ok", {"X-Frame-Options": "SAMEORIGIN"}

    headers = app.test_client().get("/framed").headers
    assert headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
