"""Flask-Session 0.8 on Redis with Flask-WTF's CSRFProtect, both with their defaults."""

from __future__ import annotations

import time
from typing import Any

import redis
from flask import Flask, session
from flask_session import Session
from flask_wtf.csrf import CSRFProtect, generate_csrf

from .apps import SECRET, BenchEnv


def make_app(option: str, env: BenchEnv) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=SECRET,
        SESSION_TYPE="redis",
        SESSION_REDIS=redis.Redis.from_url(env.redis_url(2)),
    )
    Session(app)
    CSRFProtect(app)

    @app.get("/start")
    def start() -> dict[str, Any]:
        session["value"] = 0
        return {"token": generate_csrf()}

    @app.get("/read")
    def read() -> Any:
        if "value" not in session:
            return {"error": "session_required"}, 401
        return {"value": session["value"]}

    @app.post("/write")
    def write() -> dict[str, Any]:
        value = time.time_ns()
        session["value"] = value
        return {"value": value}

    return app
