"""Dashboards the in-process tests build, the clients that call them, and their answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from flask_session_guard.clock import ManualClock
from flask_session_guard.session_ids import CookieSigner
from werkzeug.test import TestResponse

from indian_dashboard import create_app

from .servers import SECRET

#: The public origin of the app an ``HttpsClient`` talks to.
HOST = "https://dash.example"


def app_config(store_url: str = "memory://", **extra: Any) -> dict[str, Any]:
    """The settings of the shared ``app`` fixture: testing mode and short timeouts."""
    return {
        "TESTING": True,
        "SECRET_KEY": SECRET,
        "SESSION_STORE_URL": store_url,
        "SESSION_TIMEOUT": 600,
        "SESSION_ABSOLUTE_TIMEOUT": 3600,
        **extra,
    }


def make_app(tmp_path: Path, clock: ManualClock | None = None, **config: Any) -> Flask:
    """The dashboard with the default timeouts, on the memory store unless told otherwise."""
    return create_app(
        {"SECRET_KEY": SECRET, "SESSION_STORE_URL": "memory://", **config},
        clock=clock,
        instance_path=str(tmp_path),
    )


class HttpsClient(FlaskClient):
    """A test client whose requests go to https://dash.example."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("base_url", HOST)
        return super().open(*args, **kwargs)


def signed(session_id: str, secret: str = SECRET) -> str:
    """``session_id`` as a cookie value signed with ``secret``."""
    return CookieSigner(secret).sign(session_id)


def json_of(response: TestResponse) -> dict[str, Any]:
    """The JSON object an answer carries; fails the test when it carries none."""
    body = response.json
    assert isinstance(body, dict), response.get_data(as_text=True)[:300]
    return body
