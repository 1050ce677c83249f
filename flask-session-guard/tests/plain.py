"""A plain ``Flask(__name__)`` app with ``SessionManager(app)``: what the library's tests drive.

No factory of ours, no dashboard: a login, a protected JSON route, a form page,
a view that never reads its body, and a logout, as a user's own app would have.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, render_template_string, request, session
from flask.testing import FlaskClient
from flask_session_guard import (
    Clock,
    MemorySessionStore,
    SessionManager,
    SessionRecord,
    StoreUnavailable,
    get_session_manager,
    require_session,
)
from flask_session_guard.stores.base import Change, Refresh, Touch

SECRET = "plain-app-test-secret-key-of-some-length"
#: What a browser sends when it navigates to a page.
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

#: Builds a plain app from config keys: the ``make_app`` fixture.
MakeApp = Callable[..., Flask]


class SwitchableStore(MemorySessionStore):
    """The memory store with an off switch: ``down = True`` makes every call fail."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise StoreUnavailable("switched off by the test")

    def get(self, key: str, now: float, refresh: Refresh | None = None) -> SessionRecord | None:
        self._check()
        return super().get(key, now, refresh)

    def create(self, record: SessionRecord) -> None:
        self._check()
        super().create(record)

    def update(
        self, key: str, now: float, changes: Mapping[str, Change], touch: Touch | None = None
    ) -> bool:
        self._check()
        return super().update(key, now, changes, touch)

    def list_sessions(
        self, now: float, account: str | None = None, limit: int | None = None
    ) -> list[SessionRecord]:
        self._check()
        return super().list_sessions(now, account=account, limit=limit)


def build_plain_app(clock: Clock, store: MemorySessionStore | None = None, **config: Any) -> Flask:
    """``Flask(__name__)`` + ``SessionManager(app)`` + a few views; ``config`` wins."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, SESSION_STORE_URL="memory://")
    app.config.update(config)
    SessionManager(app, clock=clock, store=store)

    @app.post("/login")
    def login() -> dict[str, Any]:
        manager = get_session_manager()
        manager.create_session({"user": "asha"}, account="asha")
        return {"csrf_token": manager.get_csrf_token()}

    @app.get("/me")
    @require_session
    def me() -> dict[str, Any]:
        return {"user": session.get("user")}

    @app.post("/note")
    @require_session
    def note() -> dict[str, Any]:
        body = request.get_json(silent=True)
        return {"saved": isinstance(body, dict)}

    @app.post("/ping")
    def ping() -> dict[str, Any]:
        """Never reads its body."""
        return {"pong": True}

    @app.get("/form")
    def form() -> str:
        return render_template_string(
            '<form method="post" action="/ping">'
            '<input type="hidden" name="csrf_token" value="{{ csrf_token() }}"></form>'
        )

    @app.get("/devices")
    @require_session
    def devices() -> dict[str, Any]:
        return {"sessions": get_session_manager().list_sessions()}

    @app.post("/logout")
    def logout() -> dict[str, Any]:
        get_session_manager().clear_session()
        return {"ok": True}

    return app


def log_in(client: FlaskClient) -> str:
    """Log the client in (with a pre-login token, as a form would); the session's token."""
    token = pre_login_token(client)
    response = client.post("/login", headers={"X-CSRF-Token": token})
    assert response.status_code == 200, response.data
    fresh: str = response.json["csrf_token"]  # type: ignore[index]
    return fresh


def pre_login_token(client: FlaskClient) -> str:
    """A token for a visitor without a session, read from the form page."""
    page = client.get("/form").get_data(as_text=True)
    return page.split('value="', 1)[1].split('"', 1)[0]
