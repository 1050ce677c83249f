"""flask-session-guard: server-side Flask sessions with timeouts, CSRF and origin checks.

``SessionManager(app)`` makes ``flask.session`` server-side and safe by itself;
everything a Flask app needs is importable from here.
"""

from __future__ import annotations

from .api import json_object
from .clock import Clock, ManualClock, SystemClock
from .errors import (
    ApiError,
    BadRequest,
    CsrfInvalid,
    CsrfMissing,
    NotFound,
    OriginMismatch,
    ServiceUnavailable,
    SessionExpired,
    SessionLimit,
    SessionRequired,
    SessionRevoked,
    register_error_handlers,
)
from .extension import (
    SessionManager,
    csrf_exempt,
    get_session_manager,
    passive,
    require_csrf,
    require_session,
)
from .settings import ConfigError, SessionSettings
from .signals import session_ended
from .stores import (
    SessionExists,
    SessionGone,
    SessionRecord,
    SessionStore,
    StoreError,
    StoreUnavailable,
    open_store,
)
from .stores.memory import MemorySessionStore
from .stores.postgres import PostgresSessionStore  # psycopg itself is imported on first use
from .stores.redis import RedisSessionStore  # redis-py itself is imported on first use
from .stores.sqlite import SQLiteSessionStore

__all__ = [
    "ApiError",
    "BadRequest",
    "Clock",
    "ConfigError",
    "CsrfInvalid",
    "CsrfMissing",
    "ManualClock",
    "MemorySessionStore",
    "NotFound",
    "OriginMismatch",
    "PostgresSessionStore",
    "RedisSessionStore",
    "SQLiteSessionStore",
    "ServiceUnavailable",
    "SessionExists",
    "SessionExpired",
    "SessionGone",
    "SessionLimit",
    "SessionManager",
    "SessionRecord",
    "SessionRequired",
    "SessionRevoked",
    "SessionSettings",
    "SessionStore",
    "StoreError",
    "StoreUnavailable",
    "SystemClock",
    "csrf_exempt",
    "get_session_manager",
    "json_object",
    "open_store",
    "passive",
    "register_error_handlers",
    "require_csrf",
    "require_session",
    "session_ended",
]
