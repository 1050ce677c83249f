"""The plain app for gunicorn: ``tests.wsgi_app:application``, mounted under ``PLAIN_MOUNT``.

Settings come from ``PLAIN_*`` variables so that a test can start it in a
subprocess. Under a mount (e.g. ``/shop``) it is what an app behind a proxy's
sub-path sees: every URL it builds starts with the mount.
"""

from __future__ import annotations

import os

from flask import render_template_string, request
from flask_session_guard import SystemClock
from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from .plain import build_plain_app

app = build_plain_app(
    SystemClock(),
    SESSION_STORE_URL=os.environ["PLAIN_STORE_URL"],
    SESSION_API_PREFIX=os.environ.get("PLAIN_API_PREFIX") or None,
    SESSION_ACTIVITY_INTERVAL=0,
)

PAGE = """<!doctype html>
<html><head><title>plain</title>
<script src="{{ url_for('session_guard.static', filename='session-manager.js') }}"
        data-api-prefix="{{ request.script_root }}{{ config.SESSION_API_PREFIX }}"></script>
</head><body><p>plain page</p></body></html>
"""


@app.get("/page")
def page() -> str:
    """A page that loads the JS client, told where the session API is."""
    return render_template_string(PAGE, request=request)


@app.get("/healthz")
def healthz() -> str:
    return "ok"


_mount = os.environ.get("PLAIN_MOUNT", "")
application = DispatcherMiddleware(NotFound(), {_mount: app.wsgi_app}) if _mount else app
