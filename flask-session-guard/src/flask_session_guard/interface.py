"""Flask's session seam, backed by a server-side store.

:class:`ServerSessionInterface` turns the cookie into a :class:`ServerSession`
(checking its signature, no store lookup yet) and, after the view, writes what
changed: a new record, the changed keys, and the activity stamp when it is due.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from flask import Flask, Request, current_app, request
from flask.sessions import SessionInterface
from werkzeug.wrappers import Response

from .audit import Auditor
from .clock import Clock
from .codec import ValueCodec
from .csrf import SAFE_METHODS, new_secret
from .devices import describe
from .session import ServerSession
from .session_ids import CookieSigner, new_session_id, store_key
from .settings import SessionSettings
from .stores.base import (
    Refresh,
    SessionExists,
    SessionRecord,
    SessionStore,
    StoreUnavailable,
    Touch,
)

if TYPE_CHECKING:
    from flask.sessions import SessionMixin

log = logging.getLogger(__name__)
security_log = logging.getLogger("flask_session_guard.security")

#: What a logout asks the browser to forget (OWASP: clear client-side state too).
CLEAR_SITE_DATA = '"cache", "cookies", "storage"'
#: A handful of fresh ids in a row colliding means something is broken, not bad luck.
_CREATE_ATTEMPTS = 3


class ServerSessionInterface(SessionInterface):
    """Keeps sessions in ``store``; the cookie holds only a signed random id."""

    def __init__(self, settings: SessionSettings, store: SessionStore, clock: Clock) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self._signer: CookieSigner | None = None
        self._codec: ValueCodec | None = None
        self._auditor: Auditor | None = None
        #: Called with every audit event (the metrics subscribe here).
        self.listeners: list[Callable[[str, dict[str, Any]], None]] = []
        #: Endpoint -> whether its view is ``@passive`` (looked up once per endpoint).
        self._passive: dict[str | None, bool] = {}
        self._refresh = Refresh(settings.activity_interval, settings.idle_timeout)
        self._refresh_now = Refresh(0.0, settings.idle_timeout)

    # -- keys: built once, from the app's secret key and its fallbacks ---------------------

    def bind_keys(self, app: Flask) -> None:
        """Build the cookie signer and value codec (once; later calls do nothing).

        Done on first use rather than in ``init_app`` so that an app may set
        ``SECRET_KEY`` after the extension, as Flask allows.
        """
        if self._signer is not None:
            return
        if not app.secret_key:
            raise RuntimeError("SECRET_KEY must be set before the first request")
        keys = [*(app.config.get("SECRET_KEY_FALLBACKS") or ()), app.secret_key]
        self._codec = ValueCodec(keys, self.settings.encrypted_keys)
        self._auditor = Auditor(keys[-1], self.clock, self.settings.audit_log, self.listeners)
        self._signer = CookieSigner(keys[-1], keys[:-1])

    @property
    def signer(self) -> CookieSigner:
        """Signs and checks session cookies."""
        if self._signer is None:
            self.bind_keys(current_app)
        assert self._signer is not None
        return self._signer

    @property
    def auditor(self) -> Auditor:
        """Where lifecycle events are recorded."""
        if self._auditor is None:
            self.bind_keys(current_app)
        assert self._auditor is not None
        return self._auditor

    @property
    def codec(self) -> ValueCodec:
        """Turns user-data values into store text and back (sealing sensitive ones)."""
        if self._codec is None:
            self.bind_keys(current_app)
        assert self._codec is not None
        return self._codec

    # -- helpers the session object uses ------------------------------------------------

    def now(self) -> float:
        """POSIX seconds from the injected clock."""
        return self.clock.now().timestamp()

    def read(self, key: str, req: Request, now: float) -> SessionRecord | None:
        """The live record under ``key``: the one store round trip of a read.

        A safe request that counts as activity records it in that same round trip
        (at most once per ``SESSION_ACTIVITY_INTERVAL``). Unsafe requests record it
        when their answer is saved, so a refused one (a CSRF failure) changes nothing.
        """
        refresh = self._refresh if req.method == "GET" and not self.passive(req) else None
        return self.store.get(key, now, refresh)

    def passive(self, req: Request) -> bool:
        """Whether ``req``'s view is marked ``@passive`` (status polling)."""
        endpoint = req.endpoint
        try:
            return self._passive[endpoint]
        except KeyError:
            view = current_app.view_functions.get(endpoint) if endpoint else None
            found = self._passive[endpoint] = bool(getattr(view, "session_passive", False))
            return found

    def new_record(
        self, *, authenticated: bool, account: str | None = None
    ) -> tuple[str, SessionRecord]:
        """A fresh id and its empty record, not yet written."""
        now = self.now()
        session_id = new_session_id()
        absolute_at = now + self.settings.absolute_timeout
        record = SessionRecord(
            key=store_key(session_id),
            created_at=now,
            last_activity=now,
            absolute_at=absolute_at,
            expires_at=min(now + self.settings.idle_timeout, absolute_at),
            csrf_secret=new_secret(),
            authenticated=authenticated,
            account=account,
            device=describe(request.user_agent.string),
            ip=request.remote_addr or "",
        )
        return session_id, record

    def vanished(self, key: str) -> None:
        """A cookie we signed whose record is gone (expired in Redis, purged, or ended)."""
        self.auditor.emit("session_expired", session_key=key, kind="gone")

    def expired(self, record: SessionRecord) -> None:
        """Remove a record found expired and say so in the audit log."""
        self.store.delete(record.key)
        kind = "absolute" if self.now() >= record.absolute_at else "idle"
        self.auditor.emit(
            "session_expired", session_key=record.key, account=record.account, kind=kind
        )

    def touch_for(self, record: SessionRecord, now: float) -> Touch:
        """The activity stamp for ``now``: never past the absolute lifetime."""
        touch = self._refresh_now.due(record, now)
        assert touch is not None  # an interval of 0 is always due
        return touch

    # -- Flask's seam ----------------------------------------------------------------------

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        self.bind_keys(app)
        cookies = request.cookies.getlist(self.settings.cookie_name)
        if not cookies:
            return ServerSession(self, None, request)
        ids = {i for i in map(self.signer.unsign, cookies) if i is not None}
        if len(ids) == 1:
            return ServerSession(self, ids.pop(), request)
        # None verified, or several different ones did (a cookie planted beside the
        # real one): adopt none. The reason is logged, never a value.
        reason = "malformed or bad signature" if not ids else "several valid session cookies"
        security_log.warning("session cookie refused: %s", reason)
        self.auditor.emit("cookie_refused", reason=reason)
        session = ServerSession(self, None, request)
        session.cookie_stale = True
        return session

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not isinstance(session, ServerSession):  # pragma: no cover - Flask gives ours
            return
        if session.accessed or session.presented:
            _vary_on_cookie(response)
        try:
            self._save(session, response)
        except StoreUnavailable as err:
            log.debug("session store unavailable while saving: %s", err)
            self.auditor.store_failed(str(err))
            self._become_unavailable(response)
            return
        if session.loaded:
            self.auditor.store_answered()

    def _save(self, session: ServerSession, response: Response) -> None:
        failed = response.status_code >= 500
        record = session.record if session.loaded else None
        if record is not None:
            # Anything that carries session data is never cached.
            response.headers["Cache-Control"] = "no-store"
        if session.ended and not session.pending_create:
            response.headers["Clear-Site-Data"] = CLEAR_SITE_DATA
        if record is not None and session.pending_create:
            if failed:
                # Nothing of a failed request is kept, not even its new session.
                return self._maybe_delete_cookie(session, response)
            self._create(session, record)
            self.auditor.emit(
                "session_rotated" if session.rotated_from else "session_created",
                session_key=record.key,
                account=record.account,
                kind="login" if record.authenticated else "pre-login",
                previous=self.auditor.session_hash(session.rotated_from),
            )
            return self._set_cookie(session, response, record)
        if record is not None and not failed:
            req = session.request
            if (
                session.touch_pending is None
                and req.method not in SAFE_METHODS
                and response.status_code not in (401, 403)
                and not self.passive(req)
            ):
                session.mark_activity(force=False)
            touch = session.touch_pending
            changes = session.changes()
            if (changes or touch) and not self.store.update(record.key, self.now(), changes, touch):
                # Ended by another request meanwhile: do not bring it back.
                session.cookie_stale = True
        self._maybe_delete_cookie(session, response)

    def _create(self, session: ServerSession, record: SessionRecord) -> None:
        for _ in range(_CREATE_ATTEMPTS):
            record.data = session.encoded_data(record.key)
            try:
                return self.store.create(record)
            except SessionExists:
                session_id, fresh = self.new_record(authenticated=record.authenticated)
                session.session_id, record.key = session_id, fresh.key
        raise StoreUnavailable("could not find a free session id")

    def _set_cookie(
        self, session: ServerSession, response: Response, record: SessionRecord
    ) -> None:
        s = self.settings
        assert session.session_id is not None
        response.set_cookie(
            s.cookie_name,
            self.signer.sign(session.session_id),
            expires=datetime.fromtimestamp(record.absolute_at, timezone.utc),
            domain=s.cookie_domain,
            path=s.cookie_path,
            secure=s.cookie_secure,
            httponly=s.cookie_httponly,
            samesite=s.cookie_samesite,
        )

    def _maybe_delete_cookie(self, session: ServerSession, response: Response) -> None:
        if session.cookie_stale:
            s = self.settings
            response.delete_cookie(
                s.cookie_name,
                domain=s.cookie_domain,
                path=s.cookie_path,
                secure=s.cookie_secure,
                httponly=s.cookie_httponly,
                samesite=s.cookie_samesite,
            )

    def _become_unavailable(self, response: Response) -> None:
        """Turn the answer into the 503 envelope: the store refused the write."""
        body: dict[str, Any] = {
            "status": "error",
            "error": "store_unavailable",
            "message": "The session store is unavailable; try again shortly.",
        }
        response.status_code = 503
        response.set_data(json.dumps(body))
        response.mimetype = "application/json"
        response.headers["Retry-After"] = str(self.settings.retry_after)
        response.headers["Cache-Control"] = "no-store"
        response.headers.pop("Set-Cookie", None)
        response.headers.pop("Clear-Site-Data", None)


def _vary_on_cookie(response: Response) -> None:
    """Add ``Cookie`` to ``Vary``.

    Most answers have no ``Vary`` yet: then the header is added directly, without
    werkzeug's parse-and-rewrite of a header set (whose lookup of the absent header
    raises and catches an exception).
    """
    if any(name.lower() == "vary" for name, _ in response.headers):
        response.vary.add("Cookie")
    else:
        response.headers.add("Vary", "Cookie")
