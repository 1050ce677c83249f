"""The guide's ``/api/session`` endpoints.

They are the library's session blueprint (:mod:`flask_session_guard.api`), which
``SessionManager`` mounts at ``SESSION_API_PREFIX``; the dashboard sets that to
``/api/session``.
"""

from __future__ import annotations

from flask_session_guard.api import bp

__all__ = ["bp"]
