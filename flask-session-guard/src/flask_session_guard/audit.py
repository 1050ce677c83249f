"""The audit trail: one structured record per session lifecycle event.

Records go to the ``flask_session_guard.audit`` logger (the message is the record as
JSON) and, with ``SESSION_AUDIT_LOG=PATH``, to that file as JSON lines. A record
names the session by a keyed hash of its store key, never by its id, and carries
the account, the client IP and the time. The same events feed the metrics.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from flask import has_request_context, request

from .clock import Clock, isoformat
from .stores.base import OutageState

audit_log = logging.getLogger("flask_session_guard.audit")

#: Every event name the auditor emits (documented in the README).
EVENTS = frozenset(
    {
        "session_created",
        "session_rotated",
        "session_extended",
        "session_expired",
        "session_cleared",
        "session_revoked",
        "csrf_failure",
        "origin_refused",
        "cookie_refused",
        "store_unavailable",
        "store_recovered",
    }
)


class Auditor:
    """Emits audit records; thread-safe. Built once per app."""

    def __init__(
        self,
        secret: str | bytes,
        clock: Clock,
        path: str | None = None,
        listeners: list[Callable[[str, dict[str, Any]], None]] | None = None,
    ) -> None:
        raw = secret.encode() if isinstance(secret, str) else secret
        self._hash_key = hmac.new(raw, b"indian-dashboard audit session hash", "sha256").digest()
        self._clock = clock
        self._path = path
        self._file_lock = threading.Lock()
        self._listeners = listeners or []
        #: One audit event when an outage starts and one when it ends (after a quiet
        #: interval on the injected clock), however many requests meet it.
        self._store_outage = OutageState()

    def session_hash(self, session_key: str | None) -> str | None:
        """A stable, keyed hash of a session's store key for logs; ``None`` without one."""
        if session_key is None:
            return None
        return hmac.new(self._hash_key, session_key.encode(), "sha256").hexdigest()[:16]

    def emit(
        self,
        event: str,
        *,
        session_key: str | None = None,
        account: str | None = None,
        **fields: Any,
    ) -> None:
        """Record ``event``; ``fields`` must hold no secret (reasons, kinds, counts)."""
        if event not in EVENTS:
            raise ValueError(f"unknown audit event {event!r}")
        record: dict[str, Any] = {
            "event": event,
            "time": isoformat(self._clock.now().timestamp()),
            "session": self.session_hash(session_key),
            "account": account,
            "ip": request.remote_addr if has_request_context() else None,
            **fields,
        }
        line = json.dumps(record, separators=(",", ":"), sort_keys=False)
        audit_log.info(line)
        if self._path:
            self._append(line)
        for listener in self._listeners:
            listener(event, record)

    def _append(self, line: str) -> None:
        # O_APPEND writes of one short line are atomic, also across gunicorn workers.
        data = (line + "\n").encode()
        with self._file_lock:
            fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)  # type: ignore[arg-type]
            try:
                os.write(fd, data)
            finally:
                os.close(fd)

    def store_failed(self, reason: str) -> None:
        """Note an outage once, however many requests meet it."""
        if self._store_outage.fail(self._clock.now().timestamp()):
            self.emit("store_unavailable", reason=reason)

    def store_answered(self) -> None:
        """Note the recovery after an outage (a no-op while all is well): once no
        request has failed for ``OUTAGE_QUIET`` seconds, with the count of failures."""
        if self._store_outage.available:
            return
        ended = self._store_outage.succeed(self._clock.now().timestamp())
        if ended is not None:
            self.emit("store_recovered", failures=ended[0], seconds=round(ended[1], 1))
