"""Bare Flask with no session at all: the ceiling the others are measured against."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask

from .apps import BenchEnv


def make_app(option: str, env: BenchEnv) -> Flask:
    app = Flask(__name__)
    values = {"value": 0}

    @app.get("/start")
    def start() -> dict[str, Any]:
        return {"token": "none"}

    @app.get("/read")
    def read() -> dict[str, Any]:
        return {"value": values["value"]}

    @app.post("/write")
    def write() -> dict[str, Any]:
        values["value"] = value = time.time_ns()
        return {"value": value}

    return app
