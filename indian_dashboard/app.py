"""The application factory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, make_response, render_template

from . import secret_key
from .api import register_api
from .api.broker import BROKER_NAMES, BROKERS
from .cli import register_cli
from .clock import Clock
from .config import config_from_env
from .errors import register_error_handlers
from .session_manager import SessionManager, get_session_manager

#: The pages load only their own files: no inline script or style, nothing from elsewhere.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def create_app(
    config: Mapping[str, Any] | None = None,
    *,
    clock: Clock | None = None,
    instance_path: str | None = None,
) -> Flask:
    """Build the dashboard.

    Settings come from the environment (see the README), then from ``config``.
    ``clock`` replaces the wall clock, for tests; ``instance_path`` replaces
    Flask's ``instance/`` folder (where the SQLite file and development key live).
    A bad setting raises :class:`~indian_dashboard.config.ConfigError` naming it.
    """
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    app.config.update(config_from_env(os.environ))
    if config:
        app.config.update(config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key.load_or_create(app.instance_path)

    SessionManager(app, clock=clock)
    register_error_handlers(app, retry_after=app.config["SESSION_STORE_RETRY_AFTER"])
    register_api(app)
    register_cli(app)

    @app.get("/")
    def index() -> Response:
        """The connect page, or the dashboard for an active session."""
        manager = get_session_manager()
        if manager.session_state() == "active":
            page = render_template(
                "dashboard.html",
                broker=manager.get_user_data("broker"),
                broker_names=BROKER_NAMES,
                client_id=manager.get_user_data("client_id"),
            )
        else:
            # A page with a form: the visitor gets a pre-login session for its token.
            manager.get_csrf_token()
            page = render_template("connect.html", brokers=BROKERS, broker_names=BROKER_NAMES)
        response = make_response(page)
        response.headers["Content-Security-Policy"] = PAGE_CSP
        # The page shows session data: never from a cache (nor the back button's).
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness; touches no session."""
        return {"status": "ok"}

    return app
