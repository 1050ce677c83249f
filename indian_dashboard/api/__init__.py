"""The dashboard's JSON API under ``/api``: broker, watchlist and the OpenAPI document.

The session endpoints come from the library (``SESSION_API_PREFIX=/api/session``).
"""

from __future__ import annotations

from flask import Flask


def register_api(app: Flask) -> None:
    """Attach the dashboard's API blueprints to ``app``."""
    from .broker import bp as broker_bp
    from .openapi import bp as openapi_bp
    from .watchlist import bp as watchlist_bp

    for bp in (broker_bp, watchlist_bp, openapi_bp):
        app.register_blueprint(bp)
