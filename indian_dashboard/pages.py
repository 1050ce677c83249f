"""The dashboard's pages and probes: ``/``, ``/healthz`` (liveness), ``/readyz`` (readiness)."""

from __future__ import annotations

from flask import Flask, Response, current_app, make_response, render_template
from flask_session_guard import StoreUnavailable, get_session_manager
from flask_session_guard.errors import envelope

from .api.broker import BROKER_NAMES, connect_page


def _retry_after() -> int:
    seconds: int = current_app.extensions["session_manager"].settings.retry_after
    return seconds


def _unavailable_page() -> Response:
    """A page, not JSON, when the store does not answer: a reload of ``/`` stays readable."""
    seconds = _retry_after()
    response = make_response(render_template("unavailable.html", retry_after=seconds), 503)
    response.headers["Retry-After"] = str(seconds)
    response.headers["Cache-Control"] = "no-store"
    return response


def register_pages(app: Flask) -> None:
    """Attach the pages and the probes to ``app``."""

    @app.get("/")
    def index() -> Response:
        """The connect page, or the dashboard for an active session."""
        manager = get_session_manager()
        try:
            if manager.session_state() == "active":
                page = render_template(
                    "dashboard.html",
                    broker=manager.get_user_data("broker"),
                    broker_names=BROKER_NAMES,
                    client_id=manager.get_user_data("client_id"),
                )
            else:
                # No session is made for a page view: the form's script asks for a
                # token (GET /api/session/csrf-token) when it needs one.
                return connect_page()
        except StoreUnavailable:
            return _unavailable_page()
        response = make_response(page)
        # The page shows session data: never from a cache (nor the back button's).
        # Its Content-Security-Policy is the one every answer gets (security_headers).
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness: the process answers. Touches no session and no store."""
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> Response:
        """Readiness: 200 when the session store answers a ping, else 503 ``store_unavailable``.

        Never reads or makes a session: no cookie, no record, whatever the visitor sends.
        """
        try:
            current_app.extensions["session_manager"].store.ping()
        except StoreUnavailable:
            response = envelope(
                "store_unavailable", "The session store is unavailable; try again shortly.", 503
            )
            response.headers["Retry-After"] = str(_retry_after())
            return response
        response = make_response({"status": "ok", "store": "ok"})
        response.headers["Cache-Control"] = "no-store"
        return response
