"""Security headers on every answer (CSP, nosniff, referrer policy), a view's own kept,
and no caching of pages that carry session data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import jsonify

from .apps import make_app
from .conftest import Visitor


class TestHeaders:
    @pytest.mark.parametrize("path", ["/", "/api/session/info", "/api/nope", "/healthz"])
    def test_security_headers_everywhere(self, client: Any, path: str) -> None:
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"

    def test_a_view_keeps_its_own_security_header(self, tmp_path: Path) -> None:
        app = make_app(tmp_path)

        @app.get("/framed")
        def framed() -> Any:
            response = jsonify(ok=True)
            response.headers["x-frame-options"] = "SAMEORIGIN"
            return response

        headers = app.test_client().get("/framed").headers
        assert headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]

    def test_pages_with_session_data_are_not_cached(self, connected: Visitor) -> None:
        for path in ("/", "/api/broker/status", "/api/watchlist"):
            assert connected.client.get(path).headers["Cache-Control"] == "no-store"
