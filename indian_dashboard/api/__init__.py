"""The JSON API: one blueprint per area, all under ``/api``."""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from werkzeug.routing import BaseConverter

from ..errors import BadRequest


class PublicIdConverter(BaseConverter):
    """A session's public id in a URL: 22 URL-safe base64 characters."""

    regex = r"[A-Za-z0-9_-]{22}"


def register_api(app: Flask) -> None:
    """Attach every API blueprint to ``app``."""
    app.url_map.converters["public_id"] = PublicIdConverter
    from .broker import bp as broker_bp
    from .openapi import bp as openapi_bp
    from .session import bp as session_bp
    from .watchlist import bp as watchlist_bp

    for bp in (session_bp, broker_bp, watchlist_bp, openapi_bp):
        app.register_blueprint(bp)


def json_object() -> dict[str, Any]:
    """The request body as a JSON object, or a 400 that says what is wrong."""
    if not request.is_json:
        raise BadRequest("Send a JSON object with Content-Type: application/json.")
    body = request.get_json(silent=True)
    if body is None and request.get_data(cache=True):
        raise BadRequest("The body is not valid JSON.")
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    return body
