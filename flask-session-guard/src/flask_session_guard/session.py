"""``flask.session`` when sessions live on the server.

:class:`ServerSession` is the dict-like object a view sees. It is loaded from the
store on first use, so a request that never touches the session costs no store
round trip, and it remembers which keys changed, so saving writes only those.
It never talks to the cookie: :mod:`.session_interface` does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal

from flask.sessions import SessionMixin

from .codec import CorruptValue, to_json
from .session_ids import store_key
from .stores.base import SessionGone, SessionRecord, Touch

if TYPE_CHECKING:
    from flask import Request

    from .interface import ServerSessionInterface

security_log = logging.getLogger("flask_session_guard.security")

#: ``none``: no cookie, or one we did not sign; ``expired``: a cookie we signed whose
#: session is gone; ``revoked``: its session was ended from elsewhere; ``anonymous``:
#: a pre-login session (a CSRF token, no login); ``active``: a session started by
#: ``create_session``.
SessionState = Literal["none", "expired", "revoked", "anonymous", "active"]


class ServerSession(SessionMixin):
    """User data of one server-side session, with its record's metadata.

    Not thread-safe: one object belongs to one request.
    """

    #: Cookie lifetime follows the record's absolute end; there is no "browser session".
    permanent = True

    def __init__(
        self, interface: ServerSessionInterface, session_id: str | None, request: Request
    ) -> None:
        self._interface = interface
        #: The request this session belongs to (read without a context-local lookup).
        self.request = request
        self._sid = session_id
        self._presented = session_id is not None
        self._loaded = session_id is None
        self._gone: Literal["expired", "revoked"] | None = None
        self._record: SessionRecord | None = None
        self._data: dict[str, Any] = {}
        self._changed: set[str] = set()
        self._sensitive: set[str] = set()
        self._touch: Touch | None = None
        #: A record made in this request, written when the response is saved.
        self.pending_create = False
        #: The cookie the browser holds must be removed.
        self.cookie_stale = False
        #: ``end()`` was called in this request (a logout).
        self.ended = False
        #: The store key this session had before ``rotate()`` in this request.
        self.rotated_from: str | None = None
        self.new = session_id is None
        self.modified = False
        self.accessed = False

    # -- loading -------------------------------------------------------------------

    def _load(self) -> None:
        if self._loaded:
            return
        assert self._sid is not None  # unloaded implies a presented id
        key = store_key(self._sid)
        now = self._interface.now()
        record = self._interface.read(key, self.request, now)
        data: dict[str, Any] = {}
        gone: Literal["expired", "revoked"] = "expired"
        if record is None:
            self._interface.vanished(key)
        elif not record.live(now):
            if record.revoked:
                gone = "revoked"  # kept until it expires, so every holder is told
            else:
                self._interface.expired(record)
            record = None
        if record is not None:
            try:
                data = self._decode(record)
            except CorruptValue as err:
                security_log.warning("session record does not decode (%s): refused", err)
                self._interface.store.delete(record.key)
                record = None
        if record is None:
            self._sid = None
            self._gone = gone
            self.cookie_stale = True
            self.new = True
        self._record = record
        self._data = data
        self._loaded = True

    def _decode(self, record: SessionRecord) -> dict[str, Any]:
        codec = self._interface.codec
        data: dict[str, Any] = {}
        for name, text in record.data.items():
            data[name], sealed = codec.loads(record.key, name, text)
            if sealed:
                self._sensitive.add(name)
        return data

    def _encode(self, key: str, name: str, value: Any) -> str:
        return self._interface.codec.dumps(key, name, value, sensitive=name in self._sensitive)

    def _ensure_record(self) -> SessionRecord:
        """The record, made (pre-login, written at save) if the visitor has none."""
        self._load()
        if self._record is None:
            self._sid, self._record = self._interface.new_record(authenticated=False)
            self.pending_create = True
            self.cookie_stale = False
        return self._record

    # -- what the session layer asks ---------------------------------------------------

    @property
    def state(self) -> SessionState:
        """Where this visitor stands; loads the record if needed."""
        self._load()
        self.accessed = True
        if self._record is not None:
            return "active" if self._record.authenticated else "anonymous"
        return self._gone or "none"

    @property
    def record(self) -> SessionRecord | None:
        """The record as loaded (or made in this request), or ``None``."""
        self._load()
        self.accessed = True
        return self._record

    @property
    def session_id(self) -> str | None:
        """The secret id the cookie carries; only the session interface needs it."""
        return self._sid

    @session_id.setter
    def session_id(self, value: str) -> None:
        self._sid = value

    @property
    def touch_pending(self) -> Touch | None:
        """An activity stamp asked for in this request, if any."""
        return self._touch

    @property
    def loaded(self) -> bool:
        """Whether the store was read (or the session made) in this request."""
        return self._loaded and (self._record is not None or self._gone is not None)

    @property
    def presented(self) -> bool:
        """Whether the request carried a session cookie we signed."""
        return self._presented

    def csrf_secret(self) -> str:
        """The session's CSRF secret, starting a pre-login session if there is none."""
        self.accessed = True
        return self._ensure_record().csrf_secret

    def begin(self, user_data: dict[str, Any], account: str | None = None) -> SessionRecord:
        """Start a fresh authenticated session; the old id stops working now."""
        for value in user_data.values():
            to_json(value)
        self._drop_current()
        self._sid, self._record = self._interface.new_record(authenticated=True, account=account)
        self.rotated_from = None
        self._start_pending(dict(user_data), set())
        return self._record

    def rotate(self) -> SessionRecord:
        """Move the session to a fresh id and CSRF secret, keeping data and lifetimes.

        The old id stops working at once. Raises ``KeyError`` without a session.
        """
        self._load()
        old = self._record
        if old is None:
            raise KeyError("no session to rotate")
        data, sensitive = dict(self._data), set(self._sensitive)
        self.rotated_from = old.key
        self._drop_current()
        self._sid, record = self._interface.new_record(
            authenticated=old.authenticated, account=old.account
        )
        record.created_at, record.absolute_at = old.created_at, old.absolute_at
        record.last_activity, record.expires_at = old.last_activity, old.expires_at
        self._record = record
        self._start_pending(data, sensitive)
        return record

    def _start_pending(self, data: dict[str, Any], sensitive: set[str]) -> None:
        self._data = data
        self._sensitive = sensitive
        self._changed = set(data)
        self._touch = None
        self.pending_create = True
        self.cookie_stale = False
        self.new = True
        self.modified = self.accessed = True

    def end(self) -> None:
        """Delete the session now; the cookie is removed when the response is saved."""
        self._drop_current()
        self._record = None
        self._data = {}
        self._changed = set()
        self._sensitive = set()
        self._touch = None
        self.pending_create = False
        self.ended = True
        self.cookie_stale = self._presented
        self.modified = self.accessed = True

    def _drop_current(self) -> None:
        if self._sid is not None and not self.pending_create:
            self._interface.store.delete(store_key(self._sid))
        self._sid = None
        self._loaded = True

    def mark_activity(self, *, force: bool) -> bool:
        """Ask for the activity stamp to be written at save; True if the deadline moved later.

        Without ``force`` the write is skipped while the stored stamp is younger than
        ``SESSION_ACTIVITY_INTERVAL`` (coalescing). The deadline never passes the
        absolute lifetime.
        """
        record = self.record
        if record is None or self.pending_create:
            return False
        now = self._interface.now()
        if not force and now - record.last_activity < self._interface.settings.activity_interval:
            return False
        touch = self._interface.touch_for(record, now)
        moved = touch.expires_at > record.expires_at
        self._touch = touch
        record.last_activity, record.expires_at = touch.last_activity, touch.expires_at
        return moved

    def mark_sensitive(self, name: str) -> None:
        """Seal ``name``'s value in the store (AES-GCM) from now on."""
        self._sensitive.add(name)

    def update_value(self, name: str, fn: Callable[[Any], Any]) -> Any:
        """Atomically set ``name`` to ``fn(current value or None)`` and return it."""
        _check_key(name)
        self._ensure_record()
        if self.pending_create:
            self[name] = value = fn(self._data.get(name))
            return value
        record = self._record
        assert record is not None
        codec = self._interface.codec
        result: list[Any] = []

        def step(old: str | None) -> str | None:
            new = fn(None if old is None else codec.loads(record.key, name, old)[0])
            result[:] = [new]
            return None if new is None else self._encode(record.key, name, new)

        try:
            self._interface.store.update_value(record.key, name, self._interface.now(), step)
        except SessionGone:
            self._sid, self._record, self._gone, self.cookie_stale = None, None, "expired", True
            raise
        if result[0] is None:
            self._data.pop(name, None)
        else:
            self._data[name] = result[0]
        self._changed.discard(name)
        self.accessed = True
        return result[0]

    def changes(self) -> dict[str, str | None]:
        """Changed keys as store text (``None`` for removed ones), for ``update``."""
        record = self._record
        assert record is not None
        return {
            name: self._encode(record.key, name, self._data[name]) if name in self._data else None
            for name in self._changed
        }

    def encoded_data(self, key: str) -> dict[str, str]:
        """Every key as store text, for a new record under ``key``."""
        return {name: self._encode(key, name, value) for name, value in self._data.items()}

    # -- the mapping flask.session offers --------------------------------------------

    def __getitem__(self, key: str) -> Any:
        self._load()
        self.accessed = True
        return self._data[key]

    def get(self, key: str, default: Any = None) -> Any:
        self._load()
        self.accessed = True
        return self._data.get(key, default)

    def __contains__(self, key: object) -> bool:
        self._load()
        self.accessed = True
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        self._load()
        self.accessed = True
        return iter(self._data)

    def __len__(self) -> int:
        self._load()
        self.accessed = True
        return len(self._data)

    def __setitem__(self, key: str, value: Any) -> None:
        _check_key(key)
        to_json(value)  # fail at the call site, not when the response is saved
        self._ensure_record()
        self._data[key] = value
        self._changed.add(key)
        self.modified = self.accessed = True

    def __delitem__(self, key: str) -> None:
        self._load()
        del self._data[key]
        self._changed.add(key)
        self.modified = self.accessed = True

    def __repr__(self) -> str:
        # Never the id: reprs end up in logs and tracebacks.
        return f"<ServerSession state={self._describe()} keys={sorted(self._data)}>"

    def _describe(self) -> str:
        if not self._loaded:
            return "unloaded"
        if self._record is None:
            return self._gone or "none"
        return "active" if self._record.authenticated else "anonymous"


def _check_key(key: object) -> None:
    if not isinstance(key, str) or not key:
        raise TypeError("session keys must be non-empty strings")
