"""Indian Market Web Dashboard: server-side Flask sessions, timeouts and CSRF."""

from __future__ import annotations

from .app import create_app
from .session_manager import SessionManager, require_csrf, require_session

__all__ = ["SessionManager", "create_app", "require_csrf", "require_session"]
