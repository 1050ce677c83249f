"""``flask.session`` when sessions live on the server.

:class:`ServerSession` is the dict-like object a view sees. It holds one explicit
:class:`SessionState` and what the request changed; it does no I/O itself. The
session interface (:mod:`.interface`) reads the record when the session is first
used (through the ``load`` callable it hands over), and after the view writes
what changed. So a request that never touches the session costs no store round
trip, and saving writes only the changed keys.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

from flask.sessions import SessionMixin

from .codec import to_json
from .stores.base import SessionRecord, Touch

if TYPE_CHECKING:
    from flask import Request


class SessionState(str, enum.Enum):
    """Where a visitor stands. A ``str`` enum: ``state == "active"`` works too."""

    #: A session cookie we signed, whose record has not been read yet.
    UNREAD = "unread"
    #: No cookie we signed (or only cookies we refused).
    NONE = "none"
    #: A pre-login visitor: a signed pre-login cookie, whose CSRF token needs no
    #: store record. A record exists only if the app stored data for the visitor.
    PRE_LOGIN = "pre_login"
    #: A session started by ``create_session`` and still live.
    ACTIVE = "active"
    #: A cookie we signed whose session timed out or is gone.
    EXPIRED = "expired"
    #: A cookie we signed whose session was ended from elsewhere (another device,
    #: an operator).
    REVOKED = "revoked"
    #: Ended in this request (a logout); the record is deleted when it is saved.
    ENDED = "ended"


#: States that end with the cookie removed.
GONE = frozenset({SessionState.EXPIRED, SessionState.REVOKED, SessionState.ENDED})

#: Value types that cannot change after they are set: their JSON text can be kept.
_IMMUTABLE = frozenset({str, int, float, bool, type(None)})


class CookieKind(str, enum.Enum):
    """Which of our two cookie values the request carried, if any."""

    NONE = "none"
    SESSION = "session"
    PRE_LOGIN = "pre_login"


class SessionBackend(Protocol):
    """What a session asks of the interface: the three moments that may need the store."""

    def load(self, session: ServerSession) -> None:
        """Read the visitor's record (once) and settle the state."""
        ...

    def prepare_write(self, session: ServerSession) -> None:
        """Make sure a record exists to hold data (a pre-login one if need be)."""
        ...

    def end(self, session: ServerSession) -> None:
        """End the session: its record is deleted at save, its cookie expired."""
        ...


class ServerSession(SessionMixin):
    """User data of one visitor, with the state and record behind it.

    Not thread-safe: one object belongs to one request. Everything that must be
    written is kept here (:attr:`pending_create`, :attr:`delete_keys`, the changed
    keys, :attr:`touch`) until the interface saves the response.
    """

    #: The session cookie's lifetime follows the record's absolute end.
    permanent = True

    def __init__(
        self,
        request: Request,
        backend: SessionBackend,
        *,
        cookie: CookieKind = CookieKind.NONE,
        session_id: str | None = None,
    ) -> None:
        #: The request this session belongs to (read without a context-local lookup).
        self.request = request
        self._backend = backend
        #: What the request presented; a pre-login id and a session id are both secret.
        self.cookie = cookie
        self.session_id = session_id
        if cookie is CookieKind.SESSION:
            self._state = SessionState.UNREAD
        elif cookie is CookieKind.PRE_LOGIN:
            self._state = SessionState.PRE_LOGIN
        else:
            self._state = SessionState.NONE
        #: The record as read (or made in this request); a pre-login visitor has one
        #: only once data was stored for them.
        self.record: SessionRecord | None = None
        #: Whether a pre-login visitor's record was looked for.
        self.pre_login_read = False
        self.data: dict[str, Any] = {}
        #: The JSON text of values set in this request that cannot change in place
        #: (str, int, float, bool, None), beside the value: encoded once, not again at save.
        self.json_text: dict[str, tuple[Any, str]] = {}
        self.changed: set[str] = set()
        self.sensitive: set[str] = set()
        #: An activity stamp to write at save.
        self.touch: Touch | None = None
        #: ``record`` is new in this request and is written (created) at save.
        self.pending_create = False
        #: Store keys to delete at save (a logout, the session a login replaced).
        self.delete_keys: list[str] = []
        #: Store keys to revoke at save (sessions of cookies planted beside ours).
        self.revoke_keys: list[str] = []
        #: The request brought cookies of our name that we refused (forged, or several
        #: different ones): every variant we can name is expired at save.
        self.refused_cookie = False
        #: The cookie's value changed in this request (login, rotation, a new
        #: pre-login id): it is set at save.
        self.new_cookie = False
        #: The login's id follows from its pre-login id: a clash means a replayed login.
        self.single_use = False
        #: The key this session had before a rotation in this request (for the audit).
        self.rotated_from: str | None = None
        #: Why a REVOKED session was ended (``revoked`` or ``session_limit``).
        self.revoked_reason = ""
        self.accessed = False
        self.modified = False

    # -- state ---------------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        """Where this visitor stands; reads the record first if it was not yet."""
        self.accessed = True
        if self._state is SessionState.UNREAD:
            self._backend.load(self)
        return self._state

    @property
    def known_state(self) -> SessionState:
        """The state without reading the store (``UNREAD`` when unread)."""
        return self._state

    def become(self, state: SessionState, record: SessionRecord | None = None) -> None:
        """Move to ``state`` with ``record`` (the interface calls this)."""
        self._state = state
        self.record = record
        if state in GONE or state is SessionState.NONE:
            self.data, self.changed, self.sensitive, self.touch = {}, set(), set(), None
            self.pending_create = False

    def start(
        self, state: SessionState, session_id: str, record: SessionRecord, data: dict[str, Any]
    ) -> None:
        """Hold a fresh record under ``session_id``, to be created at save."""
        self._state = state
        self.session_id = session_id
        self.record = record
        self.data = data
        self.changed = set(data)
        self.touch = None
        self.pending_create = True
        self.modified = self.accessed = True

    @property
    def cookie_is_ours(self) -> bool:
        """Whether the request carried a cookie we signed (session or pre-login)."""
        return self.cookie is not CookieKind.NONE

    @property
    def active(self) -> bool:
        """Whether a live login session is behind this visitor."""
        return self.state is SessionState.ACTIVE

    @property
    def read(self) -> bool:
        """Whether the store was read (or the session made) in this request."""
        return self._state is not SessionState.UNREAD and (
            self.record is not None or self._state in GONE or self.pre_login_read
        )

    # -- the mapping flask.session offers --------------------------------------------

    def _ensure_data(self) -> None:
        if self._state is SessionState.UNREAD or (
            self._state is SessionState.PRE_LOGIN and not self.pre_login_read
        ):
            self._backend.load(self)
        self.accessed = True

    def __getitem__(self, key: str) -> Any:
        self._ensure_data()
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        self._ensure_data()
        return self.data.get(key, default)

    def __contains__(self, key: object) -> bool:
        self._ensure_data()
        return key in self.data

    def __iter__(self) -> Iterator[str]:
        self._ensure_data()
        return iter(self.data)

    def __len__(self) -> int:
        self._ensure_data()
        return len(self.data)

    def __setitem__(self, key: str, value: Any) -> None:
        check_key(key)
        text = to_json(value)  # fail at the call site, not when the response is saved
        self._ensure_data()
        self._state_for_write()
        self.data[key] = value
        if type(value) in _IMMUTABLE:
            self.json_text[key] = (value, text)
        else:
            self.json_text.pop(key, None)
        self.changed.add(key)
        self.modified = True

    def __delitem__(self, key: str) -> None:
        self._ensure_data()
        del self.data[key]
        self.json_text.pop(key, None)
        self.changed.add(key)
        self.modified = True

    def clear(self) -> None:
        """Log out, as :meth:`SessionManager.clear_session` does (Flask's logout idiom)."""
        self.end()

    def _state_for_write(self) -> None:
        if self._state is SessionState.ACTIVE or self.record is not None:
            return
        self._backend.prepare_write(self)

    def end(self) -> None:
        """Delete the session at save and expire its cookie (a logout)."""
        self.accessed = self.modified = True
        self._backend.end(self)

    def mark_sensitive(self, name: str) -> None:
        """Seal ``name``'s value in the store (AES-GCM) from now on."""
        self.sensitive.add(name)

    def __repr__(self) -> str:
        # Never the id: reprs end up in logs and tracebacks.
        return f"<ServerSession state={self._state.value} keys={sorted(self.data)}>"


def check_key(key: object) -> None:
    """Session keys are non-empty strings."""
    if not isinstance(key, str) or not key:
        raise TypeError("session keys must be non-empty strings")
