"""This project: the dashboard's own app (``create_app``) plus the three bench routes."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask

from indian_dashboard import create_app
from indian_dashboard.session_manager import get_session_manager, require_session

from .apps import SECRET, BenchEnv


def make_app(option: str, env: BenchEnv) -> Flask:
    """``option`` is the store: ``sqlite`` (a file in the work folder), ``redis`` (db 1),
    ``postgres`` (the bench's private server, default settings), ``postgres-unlogged``
    (the same server, UNLOGGED tables of their own), or a store URL itself
    (``bench.redis_modes``: Sentinel, Cluster)."""
    urls = {
        "sqlite": f"sqlite:///{env.workdir / 'ours.sqlite3'}",
        "redis": env.redis_url(1),
        "postgres": env.postgres_url,
        "postgres-unlogged": env.postgres_url,
    }
    url = option if "://" in option else urls[option]
    config: dict[str, Any] = {"SECRET_KEY": SECRET, "SESSION_STORE_URL": url}
    if option == "postgres-unlogged":
        config.update(SESSION_PG_UNLOGGED=True, SESSION_PG_TABLE_PREFIX="unlogged_")
    app = create_app(config, instance_path=str(env.workdir / "instance"))

    @app.get("/start")
    def start() -> dict[str, Any]:
        manager = get_session_manager()
        manager.create_session({"value": 0})
        return {"token": manager.get_csrf_token()}

    @app.get("/read")
    @require_session
    def read() -> dict[str, Any]:
        return {"value": get_session_manager().get_user_data("value")}

    # The global CSRF check (SESSION_CSRF_ENFORCE, on by default) guards every POST.
    @app.post("/write")
    def write() -> dict[str, Any]:
        value = time.time_ns()
        get_session_manager().store_user_data("value", value)
        return {"value": value}

    return app
