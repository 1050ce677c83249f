"""HTTPS and proxies: HSTS on every answer, which forwarded headers count.

What logout clears (Clear-Site-Data): test_logout_and_fixation.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from indian_dashboard.config import ConfigError

from .apps import make_app
from .conftest import Visitor
from .servers import SECRET, start_server, start_up_refusal
from .test_session_api import assert_envelope

ONE_YEAR = "max-age=31536000; includeSubDomains"


class TestStrictTransportSecurity:
    @pytest.mark.server
    def test_every_answer_carries_it_over_http_when_cookies_are_secure(
        self, tmp_path: Path
    ) -> None:
        server = start_server(tmp_path, workers=1, env={"SESSION_COOKIE_SECURE": "true"})
        try:
            answers = [
                requests.get(server.url + "/", timeout=10),
                requests.get(server.url + "/healthz", timeout=10),
                requests.get(server.url + "/api/session/csrf-token", timeout=10),
                requests.get(server.url + "/no-such-page", timeout=10),  # 404
                requests.post(server.url + "/api/session/extend", timeout=10),  # 401
                requests.put(server.url + "/api/session/info", timeout=10),  # 405
                requests.get(server.url + "/_session_guard/static/session-manager.js", timeout=10),
            ]
        finally:
            server.stop()
        assert {a.status_code for a in answers} >= {200, 401, 404, 405}
        for answer in answers:
            assert answer.headers.get("Strict-Transport-Security") == ONE_YEAR, answer.url

    def test_none_without_secure_cookies(self, tmp_path: Path) -> None:
        answer = make_app(tmp_path).test_client().get("/healthz")
        assert "Strict-Transport-Security" not in answer.headers

    def test_max_age_is_configurable_and_zero_sends_none(self, tmp_path: Path) -> None:
        day = make_app(tmp_path, SESSION_COOKIE_SECURE=True, SESSION_HSTS_MAX_AGE=86400)
        assert day.test_client().get("/healthz").headers["Strict-Transport-Security"] == (
            "max-age=86400; includeSubDomains"
        )
        alone = make_app(
            tmp_path, SESSION_COOKIE_SECURE=True, SESSION_HSTS_INCLUDE_SUBDOMAINS=False
        )
        assert alone.test_client().get("/healthz").headers["Strict-Transport-Security"] == (
            "max-age=31536000"
        )
        off = make_app(tmp_path, SESSION_COOKIE_SECURE=True, SESSION_HSTS_MAX_AGE=0)
        assert "Strict-Transport-Security" not in off.test_client().get("/healthz").headers

    @pytest.mark.parametrize("value", [-1, "year", 1.5, True])
    def test_bad_max_age_stops_start_up(self, tmp_path: Path, value: object) -> None:
        with pytest.raises(ConfigError, match="SESSION_HSTS_MAX_AGE"):
            make_app(tmp_path, SESSION_COOKIE_SECURE=True, SESSION_HSTS_MAX_AGE=value)


class TestForwardedHeaders:
    def test_without_trusted_proxies_forwarded_proto_counts_for_nothing(
        self, tmp_path: Path
    ) -> None:
        """From 127.0.0.1 too: no ProxyFix, so an https:// origin does not match http."""
        app = make_app(tmp_path)
        visitor = Visitor(app.test_client())
        visitor.connect()
        answer = visitor.client.post(
            "/api/session/extend",
            headers={
                **visitor.headers(),
                "Origin": "https://localhost",
                "X-Forwarded-Proto": "https",
                "X-Forwarded-Host": "localhost",
            },
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
        )
        assert_envelope(answer, 403, "origin_mismatch")

    def test_trusted_proxies_without_public_origin_stop_start_up(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="SESSION_PUBLIC_ORIGIN"):
            make_app(tmp_path, SESSION_TRUSTED_PROXIES=1)

    def test_the_start_up_line_names_session_public_origin(self, tmp_path: Path) -> None:
        env = {"PATH": "/usr/bin:/bin", "FLASK_SECRET_KEY": SECRET, "SESSION_TRUSTED_PROXIES": "1"}
        result = start_up_refusal(tmp_path, env)
        assert result.returncode == 2
        (line,) = result.stderr.strip().splitlines()
        assert "SESSION_PUBLIC_ORIGIN" in line and "SESSION_TRUSTED_PROXIES" in line

    def test_behind_a_proxy_the_client_address_and_scheme_count_not_the_host(
        self, tmp_path: Path
    ) -> None:
        app = make_app(
            tmp_path, SESSION_TRUSTED_PROXIES=1, SESSION_PUBLIC_ORIGIN="https://dash.example"
        )

        @app.get("/_seen")
        def seen() -> dict[str, Any]:
            from flask import request

            return {"ip": request.remote_addr, "scheme": request.scheme, "host": request.host}

        answer = app.test_client().get(
            "/_seen",
            headers={
                "X-Forwarded-For": "203.0.113.9",
                "X-Forwarded-Proto": "https",
                "X-Forwarded-Host": "evil.com",
                "X-Forwarded-Port": "8443",
            },
        )
        assert answer.json == {"ip": "203.0.113.9", "scheme": "https", "host": "localhost"}
