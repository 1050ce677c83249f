"""Flask's own signed-cookie session, with a hand-made constant-time CSRF token check."""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any

from flask import Flask, abort, request, session

from .apps import SECRET, BenchEnv


def make_app(option: str, env: BenchEnv) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET)

    @app.get("/start")
    def start() -> dict[str, Any]:
        session["value"] = 0
        session["csrf"] = token = secrets.token_urlsafe(32)
        return {"token": token}

    @app.get("/read")
    def read() -> Any:
        if "value" not in session:
            return {"error": "session_required"}, 401
        return {"value": session["value"]}

    @app.post("/write")
    def write() -> dict[str, Any]:
        token = request.headers.get("X-CSRF-Token", "")
        expected = session.get("csrf", "")
        if not token or not expected or not hmac.compare_digest(token, expected):
            abort(403)
        value = time.time_ns()
        session["value"] = value
        return {"value": value}

    return app
