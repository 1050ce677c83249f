"""The guide's ``session_manager`` module: the dashboard's face of flask-session-guard.

Everything here is the library's public API, re-exported so that the guide's
``from session_manager import require_csrf`` (and ``indian_dashboard.session_manager``)
keeps working.
"""

from __future__ import annotations

from flask_session_guard import (
    SessionManager,
    csrf_exempt,
    get_session_manager,
    passive,
    require_csrf,
    require_session,
)

__all__ = [
    "SessionManager",
    "csrf_exempt",
    "get_session_manager",
    "passive",
    "require_csrf",
    "require_session",
]
