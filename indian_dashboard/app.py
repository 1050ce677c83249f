"""The application factory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_session_guard import Clock, SessionManager
from flask_session_guard.checks import add_check
from werkzeug.middleware.proxy_fix import ProxyFix

from . import account, brokers, secret_key
from .api import register_api
from .cli import sessions_group
from .config import config_from_env
from .pages import register_pages
from .production_checks import file_permissions


def create_app(
    config: Mapping[str, Any] | None = None,
    *,
    clock: Clock | None = None,
    instance_path: str | None = None,
) -> Flask:
    """Build the dashboard.

    Settings come from the environment (see the README), then from ``config``.
    ``clock`` replaces the wall clock, for tests; ``instance_path`` is the folder
    of the SQLite file and the development key (default ``./instance`` under the
    working directory: never inside the package or the virtualenv, which a
    redeploy replaces).
    A bad setting raises :class:`~flask_session_guard.ConfigError` naming it.
    """
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=instance_path or os.path.abspath("instance"),
    )
    app.config["SESSION_API_PREFIX"] = "/api/session"
    # The pages load only their own files: no inline script or style, nothing from elsewhere.
    app.config["SESSION_SECURITY_HEADERS"] = True
    app.config["SESSION_METRICS_NAMESPACE"] = "dashboard"
    app.config.update(config_from_env(os.environ))
    if config:
        app.config.update(config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key.load_or_create(app.instance_path)
        app.config["DASHBOARD_KEY_FILE_IN_USE"] = True
    else:
        # A short key lets a word list forge cookies and open sealed credentials.
        secret_key.check(app.config["SECRET_KEY"])
    for old in app.config.get("SECRET_KEY_FALLBACKS") or ():
        secret_key.check(old, source="A key in SECRET_KEY_FALLBACKS")

    # Also installs the guarded request class, the body limit, the error answers
    # (JSON under /api) and, as set above, the security headers.
    SessionManager(app, clock=clock)
    account.init_app(app)
    proxies = app.config["SESSION_TRUSTED_PROXIES"]
    if proxies:
        # Only behind proxies we were told about do X-Forwarded-For/-Proto count (the
        # client's address, https). Host and port are never taken from a header: the
        # origin browsers see is SESSION_PUBLIC_ORIGIN, which the settings require here.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0, x_port=0
        )
    brokers.init_app(app)
    register_api(app)

    register_pages(app)
    add_check(app, file_permissions)
    # Replaces the library's group of the same name: the same commands, plus --instance.
    app.cli.add_command(sessions_group(create_app))

    return app
