"""Flask's session seam, backed by a server-side store.

:class:`ServerSessionInterface` is the one place that talks to the store for a
request. It turns the cookie into a :class:`~.session.ServerSession` (checking its
signature, no store lookup yet), reads the record when the session is first used,
and after the view writes what changed: deletions, a new record, the changed keys,
and the activity stamp when it is due.

Two cookie values share the cookie name: a session id, and a pre-login id signed
under its own salt. A pre-login visitor's CSRF token is derived from the pre-login
id, so it needs no store record: anonymous visitors cost the store nothing.

Flask's ``get_cookie_*`` hooks answer from :class:`~.settings.SessionSettings`,
resolved once at start-up (the name may gain a ``__Host-`` prefix there), and
``should_set_cookie`` says whether this response carries a new cookie value.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from flask import Flask, Request
from flask.sessions import SessionInterface
from werkzeug.wrappers import Response

from .audit import Auditor
from .clock import Clock
from .codec import CorruptValue, ValueCodec, to_json
from .csrf import SAFE_METHODS, PreLoginSecrets, new_secret
from .devices import describe
from .session import GONE, CookieKind, ServerSession, SessionState, check_key
from .session_ids import PRE_LOGIN_SALT, CookieSigner, new_session_id, store_key
from .settings import SessionSettings
from .signals import session_ended
from .stores.base import (
    Refresh,
    SessionExists,
    SessionGone,
    SessionRecord,
    SessionStore,
    StoreUnavailable,
    Touch,
)

if TYPE_CHECKING:
    from flask.sessions import SessionMixin

log = logging.getLogger(__name__)
security_log = logging.getLogger("flask_session_guard.security")

#: A handful of fresh ids in a row colliding means something is broken, not bad luck.
_CREATE_ATTEMPTS = 3


class ServerSessionInterface(SessionInterface):
    """Keeps sessions in ``store``; the cookie holds only a signed random id."""

    def __init__(
        self, app: Flask, settings: SessionSettings, store: SessionStore, clock: Clock
    ) -> None:
        #: The app this interface serves: the sender of its signals.
        self.app = app
        self.settings = settings
        self.store = store
        self.clock = clock
        self._keys: _Keys | None = None
        #: Called with every audit event (the metrics subscribe here).
        self.listeners: list[Callable[[str, dict[str, Any]], None]] = []
        #: Endpoint -> (passive, csrf exempt) of its view (looked up once per endpoint).
        self._marks: dict[str | None, tuple[bool, bool]] = {}
        self._refresh = Refresh(settings.activity_interval, settings.idle_timeout)

    # -- keys: built once, from the app's secret key and its fallbacks ---------------------

    def bind_keys(self, app: Flask) -> None:
        """Build the cookie signers, value codec and auditor (once; later calls do nothing).

        Done on first use rather than in ``init_app`` so that an app may set
        ``SECRET_KEY`` after the extension, as Flask allows.
        """
        if self._keys is None:
            self._keys = _Keys(app, self.settings, self.clock, self.listeners)

    @property
    def keys(self) -> _Keys:
        """The app's signers, codec and auditor (after the first request or ``bind_keys``)."""
        if self._keys is None:
            from flask import current_app

            self.bind_keys(current_app)
        assert self._keys is not None
        return self._keys

    @property
    def auditor(self) -> Auditor:
        """Where lifecycle events are recorded."""
        return self.keys.auditor

    @property
    def codec(self) -> ValueCodec:
        """Turns user-data values into store text and back (sealing sensitive ones)."""
        return self.keys.codec

    def now(self) -> float:
        """POSIX seconds from the injected clock."""
        return self.clock.now().timestamp()

    # -- Flask's cookie hooks, answered from the settings resolved at start-up ---------------

    def get_cookie_name(self, app: Flask) -> str:
        return self.settings.cookie_name

    def get_cookie_domain(self, app: Flask) -> str | None:
        return self.settings.cookie_domain

    def get_cookie_path(self, app: Flask) -> str:
        return self.settings.cookie_path

    def get_cookie_secure(self, app: Flask) -> bool:
        return self.settings.cookie_secure

    def get_cookie_httponly(self, app: Flask) -> bool:
        return self.settings.cookie_httponly

    def get_cookie_samesite(self, app: Flask) -> str | None:
        return self.settings.cookie_samesite

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        """Only a new value is sent: a login, a rotation, a new pre-login id."""
        return isinstance(session, ServerSession) and session.new_cookie

    # -- opening: the cookie only ---------------------------------------------------------

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        self.bind_keys(app)
        cookies = request.cookies.getlist(self.settings.cookie_name)
        if not cookies:
            return ServerSession(request, self)
        found = {ident for value in cookies if (ident := self.keys.identify(value)) is not None}
        if len(found) == 1:
            kind, session_id = found.pop()
            return ServerSession(request, self, cookie=kind, session_id=session_id)
        session = ServerSession(request, self)
        session.refused_cookie = True
        if found:
            # Several different cookies we signed: one was planted beside the real one
            # (a sibling subdomain can set ``Domain=parent``). Adopt none, end every
            # session named, expire every variant we can name. The reason is logged,
            # never a value.
            reason = "several valid session cookies"
            session.revoke_keys = [store_key(i) for k, i in found if k is CookieKind.SESSION]
        else:
            reason = "malformed or bad signature"
        security_log.warning("session cookie refused: %s", reason)
        self.auditor.emit("cookie_refused", reason=reason)
        return session

    # -- what a session asks (SessionBackend) ------------------------------------------------

    def load(self, session: ServerSession) -> None:
        """Read the visitor's record: the one store round trip of a read.

        A safe request that counts as activity records it in that same round trip
        (at most once per ``SESSION_ACTIVITY_INTERVAL``). Unsafe requests record it
        when their answer is saved, so a refused one (a CSRF failure) changes nothing.
        """
        assert session.session_id is not None  # only a presented cookie is unread
        key = store_key(session.session_id)
        now = self.now()
        if session.known_state is SessionState.PRE_LOGIN:
            session.pre_login_read = True
            record = self.store.get(key, now)
            if record is not None and record.live(now) and not record.authenticated:
                self._decode_into(session, record)
            return
        refresh = self._refresh_for(session.request)
        record = self.store.get(key, now, refresh)
        if record is None:
            self.auditor.emit("session_expired", session_key=key, kind="gone")
            return session.become(SessionState.EXPIRED)
        if record.revoked:
            # Kept until it expires, so that every holder is told (and why).
            session.revoked_reason = record.revoked_reason
            return session.become(SessionState.REVOKED)
        if not record.live(now) or not record.authenticated:
            self._expired(record, now)
            return session.become(SessionState.EXPIRED)
        self._bound_to_clock(record, now, refresh)
        self._decode_into(session, record)

    def _bound_to_clock(self, record: SessionRecord, now: float, refresh: Refresh | None) -> None:
        """The clock policy (``Refresh.bound``): a record stamped in this server's future
        (a clock stepped back, a peer ahead) reads as now, with no more than the idle
        timeout left; a read that counts as activity stores that when it was off by
        more than the skew, so the session ends one idle timeout after it."""
        fix = self._refresh.bound(record, now)
        if fix is not None and refresh is not None:
            self.store.update(record.key, now, {}, fix)

    def _decode_into(self, session: ServerSession, record: SessionRecord) -> None:
        data: dict[str, Any] = {}
        sensitive: set[str] = set()
        try:
            for name, text in record.data.items():
                data[name], sealed = self.codec.loads(record.key, name, text)
                if sealed:
                    sensitive.add(name)
        except CorruptValue as err:
            security_log.warning("session record does not decode (%s): refused", err)
            self.store.delete(record.key)
            if session.known_state is not SessionState.PRE_LOGIN:
                session.become(SessionState.EXPIRED)
            return
        if session.known_state is not SessionState.PRE_LOGIN:
            session.become(SessionState.ACTIVE, record)
        session.record = record
        session.data, session.sensitive = data, sensitive

    def prepare_write(self, session: ServerSession) -> None:
        """A visitor without a record stores data: a pre-login record, created at save."""
        if session.known_state is not SessionState.PRE_LOGIN:
            self.issue_pre_login(session)
        assert session.session_id is not None
        record = self._new_record(session, session.session_id, authenticated=False)
        record.csrf_secret = self.keys.pre_login_secrets.secret(session.session_id)
        session.record = record
        session.pending_create = True

    def end(self, session: ServerSession) -> None:
        """Logout: the stored record goes at save, the cookie is expired."""
        if session_ended.has_receivers_for(self.app):
            self._tell_ended(session)
        record = session.record
        key: str | None = None
        if record is not None and not session.pending_create:
            key = record.key
        elif record is None and session.session_id is not None and session.cookie_is_ours:
            # Never read (or a pre-login visitor's unknown record): delete blindly.
            key = store_key(session.session_id)
        if key is not None:
            session.delete_keys.append(key)
            account = record.account if record is not None else None
            self.auditor.emit("session_cleared", session_key=key, account=account)
        session.session_id = None
        session.new_cookie = False
        session.become(SessionState.ENDED)

    def _tell_ended(self, session: ServerSession) -> None:
        """Send :data:`~.signals.session_ended` for a live session, with its data (read
        now if this request had not: logouts are rare, and receivers need it)."""
        if session.known_state is SessionState.UNREAD:
            self.load(session)
        record = session.record
        if session.known_state is SessionState.ACTIVE and record and not session.pending_create:
            session_ended.send(self.app, data=dict(session.data), account=record.account)

    # -- what the session manager asks ---------------------------------------------------------

    def issue_pre_login(self, session: ServerSession) -> None:
        """Give the visitor a fresh pre-login id (cookie set at save; nothing stored)."""
        session.session_id = new_session_id()
        session.become(SessionState.PRE_LOGIN)
        session.pre_login_read = True  # a fresh id has no record
        session.new_cookie = True

    def csrf_secret(self, session: ServerSession, *, issue: bool) -> str | None:
        """The secret tokens are checked against; ``issue`` makes a pre-login id if need be."""
        state = session.state
        if state is SessionState.ACTIVE:
            assert session.record is not None
            return session.record.csrf_secret
        if state is not SessionState.PRE_LOGIN:
            if not issue:
                return None
            self.issue_pre_login(session)
        assert session.session_id is not None
        return self.keys.pre_login_secrets.secret(session.session_id)

    def begin(
        self,
        session: ServerSession,
        user_data: dict[str, Any],
        *,
        account: str | None,
        absolute_at: float | None = None,
    ) -> SessionRecord:
        """Start a fresh authenticated session; the visitor's old id stops working now.

        A pre-login id starts at most one session: a second login racing with the
        same pre-login cookie is answered 403 ``csrf_invalid`` when it is saved.
        """
        for name, value in user_data.items():
            check_key(name)
            to_json(value)
        old_state = session.state
        session_id = new_session_id()
        if old_state is SessionState.PRE_LOGIN and not session.new_cookie:
            assert session.session_id is not None
            # The session id follows from the pre-login id (keyed, so only we can
            # work it out): a second login with the same pre-login cookie meets the
            # first one's record and is refused, at no extra store cost.
            session_id = self.keys.login_id(session.session_id)
            session.single_use = True
            if session.record is not None and not session.pending_create:
                session.delete_keys.append(session.record.key)  # its pre-login data
        elif old_state is SessionState.ACTIVE and not session.pending_create:
            assert session.record is not None
            session.delete_keys.append(session.record.key)
        record = self._new_record(session, session_id, authenticated=True, account=account)
        if absolute_at is not None and absolute_at < record.absolute_at:
            record.absolute_at = absolute_at
            record.expires_at = min(record.expires_at, absolute_at)
        session.sensitive = set()
        session.start(SessionState.ACTIVE, session_id, record, dict(user_data))
        session.new_cookie = True
        session.rotated_from = None
        return record

    def rotate(self, session: ServerSession) -> None:
        """Move an active session to a fresh id and CSRF secret, keeping data and lifetimes.

        The new record is written now, then the old one is revoked only if it is
        still live; a logout or revocation that finished first wins, and the new
        record is removed (:class:`SessionGone`).
        """
        old = session.record
        assert old is not None and session.state is SessionState.ACTIVE
        now = self.now()
        session_id = new_session_id()
        record = self._new_record(session, session_id, authenticated=True, account=old.account)
        record.created_at, record.absolute_at = old.created_at, old.absolute_at
        record.last_activity, record.expires_at = old.last_activity, old.expires_at
        for _ in range(_CREATE_ATTEMPTS):
            record.data = self._encoded_data(session, record.key)
            try:
                self.store.create(record)
                break
            except SessionExists:
                session_id = new_session_id()
                record.key = store_key(session_id)
        else:
            raise StoreUnavailable("could not find a free session id")
        if not self.store.revoke(old.key, now):
            self.store.delete(record.key)
            session.become(SessionState.EXPIRED)
            raise SessionGone(old.key)
        self.store.delete(old.key)
        session.session_id = session_id
        session.record = record
        session.changed = set()
        session.touch = None
        session.new_cookie = True
        session.rotated_from = old.key
        self.auditor.emit(
            "session_rotated",
            session_key=record.key,
            account=record.account,
            kind="login",
            previous=self.auditor.session_hash(old.key),
        )

    def update_value(self, session: ServerSession, name: str, fn: Callable[[Any], Any]) -> Any:
        """Atomically set ``name`` to ``fn(current value or None)`` and return it."""
        check_key(name)
        session.get(name)  # read the record if it was not yet
        if session.record is None:
            self.prepare_write(session)
        record = session.record
        assert record is not None
        if session.pending_create:
            value = fn(session.data.get(name))
            if value is None:
                session.data.pop(name, None)
            else:
                session.data[name] = value
            session.changed.add(name)
            return value
        result: list[Any] = []

        def step(old: str | None) -> str | None:
            new = fn(None if old is None else self.codec.loads(record.key, name, old)[0])
            result[:] = [new]
            return None if new is None else self._encode(session, record.key, name, new)

        try:
            self.store.update_value(record.key, name, self.now(), step)
        except SessionGone:
            session.become(SessionState.EXPIRED)
            raise
        if result[0] is None:
            session.data.pop(name, None)
        else:
            session.data[name] = result[0]
        session.changed.discard(name)
        return result[0]

    def mark_activity(self, session: ServerSession, *, force: bool) -> bool:
        """Ask for the activity stamp to be written at save; True if the deadline moved later.

        Without ``force`` the write is skipped while the stored stamp is younger than
        ``SESSION_ACTIVITY_INTERVAL`` (coalescing). The deadline never passes the
        absolute lifetime.
        """
        record = session.record
        if record is None or session.pending_create or session.state is not SessionState.ACTIVE:
            return False
        now = self.now()
        if not force and now - record.last_activity < self.settings.activity_interval:
            return False
        touch = Touch(now, min(now + self.settings.idle_timeout, record.absolute_at))
        moved = touch.expires_at > record.expires_at
        session.touch = touch
        record.last_activity, record.expires_at = touch.last_activity, touch.expires_at
        return moved

    # -- activity: only what the user's own pages do counts ------------------------------------

    def _marks_of(self, req: Request) -> tuple[bool, bool]:
        """(``@passive``, ``@csrf_exempt``) of ``req``'s view, looked up once per endpoint."""
        endpoint = req.endpoint
        try:
            return self._marks[endpoint]
        except KeyError:
            from flask import current_app

            view = current_app.view_functions.get(endpoint) if endpoint else None
            marks = (
                bool(getattr(view, "session_passive", False)),
                bool(getattr(view, "csrf_exempt", False)),
            )
            self._marks[endpoint] = marks
            return marks

    def _refresh_for(self, req: Request) -> Refresh | None:
        # A cross-site navigation (a link on another site: the Lax cookie is sent)
        # is not the user working here.
        if req.method != "GET" or req.environ.get("HTTP_SEC_FETCH_SITE") == "cross-site":
            return None
        return None if self._marks_of(req)[0] else self._refresh

    def _counts_as_activity(self, req: Request, response: Response) -> bool:
        if req.method in SAFE_METHODS or response.status_code in (401, 403):
            return False
        passive, exempt = self._marks_of(req)
        return not (passive or exempt)

    # -- records -------------------------------------------------------------------------------

    def _new_record(
        self,
        session: ServerSession,
        session_id: str,
        *,
        authenticated: bool,
        account: str | None = None,
    ) -> SessionRecord:
        now = self.now()
        absolute_at = now + self.settings.absolute_timeout
        req = session.request
        return SessionRecord(
            key=store_key(session_id),
            created_at=now,
            last_activity=now,
            absolute_at=absolute_at,
            expires_at=min(now + self.settings.idle_timeout, absolute_at),
            csrf_secret=new_secret(),
            authenticated=authenticated,
            account=account,
            device=describe(req.user_agent.string),
            ip=req.remote_addr or "",
        )

    def _encode(self, session: ServerSession, key: str, name: str, value: Any) -> str:
        """Store text for ``name`` in the record under ``key`` (a sealed value is bound to it)."""
        known = session.json_text.get(name)
        text = known[1] if known is not None and known[0] is value else None
        return self.codec.dumps(key, name, value, sensitive=name in session.sensitive, text=text)

    def _encoded_data(self, session: ServerSession, key: str) -> dict[str, str]:
        return {name: self._encode(session, key, name, v) for name, v in session.data.items()}

    def _expired(self, record: SessionRecord, now: float) -> None:
        """Remove a record found expired and say so in the audit log."""
        self.store.delete(record.key)
        kind = "absolute" if now >= record.absolute_at else "idle"
        self.auditor.emit(
            "session_expired", session_key=record.key, account=record.account, kind=kind
        )

    # -- saving ----------------------------------------------------------------------------------

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not isinstance(session, ServerSession):  # pragma: no cover - Flask gives ours
            return
        if session.accessed or session.cookie is not CookieKind.NONE:
            _vary_on_cookie(response)
        try:
            self._save(session, response)
        except StoreUnavailable as err:
            log.debug("session store unavailable while saving: %s", err)
            self.auditor.store_failed(str(err))
            self._become_unavailable(response)
            return
        if session.read or session.delete_keys:
            self.auditor.store_answered()

    def _save(self, session: ServerSession, response: Response) -> None:
        failed = response.status_code >= 500
        state = session.known_state
        # Ends are kept whatever the answer: a logout must log out.
        for key in session.revoke_keys:
            self.store.revoke(key, self.now())
        for key in session.delete_keys:
            self.store.delete(key)
        record = session.record
        if record is not None or state is SessionState.ENDED:
            # Anything that carries session data is never cached.
            response.headers["Cache-Control"] = "no-store"
        # What logout asks the browser to forget: SESSION_CLEAR_SITE_DATA (settings.py).
        clear = self.settings.clear_site_data
        if state is SessionState.ENDED and session.cookie is not CookieKind.NONE and clear:
            response.headers["Clear-Site-Data"] = clear
        if failed:
            # Nothing of a failed request is kept, not even its new session or id.
            session.new_cookie = False
        elif record is not None and session.pending_create:
            try:
                self._create(session, record)
            except _Replayed:
                return self._refuse_replayed_login(response)
            if record.authenticated:
                self.auditor.emit(
                    "session_created", session_key=record.key, account=record.account, kind="login"
                )
        elif record is not None and state in (SessionState.ACTIVE, SessionState.PRE_LOGIN):
            if session.touch is None and self._counts_as_activity(session.request, response):
                self.mark_activity(session, force=False)
            changes = {
                name: self._encode(session, record.key, name, session.data[name])
                if name in session.data
                else None
                for name in session.changed
            }
            if (changes or session.touch) and not self.store.update(
                record.key, self.now(), changes, session.touch
            ):
                # Ended by another request meanwhile: do not bring it back.
                session.become(SessionState.EXPIRED)
        self._write_cookie(session, response)

    def _create(self, session: ServerSession, record: SessionRecord) -> None:
        for _ in range(_CREATE_ATTEMPTS):
            record.data = self._encoded_data(session, record.key)
            try:
                return self.store.create(record)
            except SessionExists:
                if session.single_use:
                    raise _Replayed() from None
                if not record.authenticated:
                    # The key is the pre-login cookie's: a parallel request of this
                    # visitor made the record first. Add this request's keys to it.
                    self.store.update(record.key, self.now(), dict(record.data))
                    return None
                session.session_id = new_session_id()
                record.key = store_key(session.session_id)
        raise StoreUnavailable("could not find a free session id")

    def _write_cookie(self, session: ServerSession, response: Response) -> None:
        s = self.settings
        if session.refused_cookie:
            for domain in _cookie_domains(session.request.host, s.cookie_domain):
                response.delete_cookie(
                    s.cookie_name,
                    domain=domain,
                    path=s.cookie_path,
                    secure=s.cookie_secure,
                    httponly=s.cookie_httponly,
                    samesite=s.cookie_samesite,
                )
        state = session.known_state
        if session.new_cookie and session.session_id is not None:
            record = session.record
            signer = self.keys.signer if state is SessionState.ACTIVE else self.keys.pre_signer
            expires = None  # a pre-login cookie lives as long as the browser session
            if state is SessionState.ACTIVE and record is not None:
                expires = datetime.fromtimestamp(record.absolute_at, timezone.utc)
            response.set_cookie(
                s.cookie_name,
                signer.sign(session.session_id),
                expires=expires,
                domain=s.cookie_domain,
                path=s.cookie_path,
                secure=s.cookie_secure,
                httponly=s.cookie_httponly,
                samesite=s.cookie_samesite,
            )
        elif session.cookie_is_ours and (state in GONE or session.refused_cookie):
            response.delete_cookie(
                s.cookie_name,
                domain=s.cookie_domain,
                path=s.cookie_path,
                secure=s.cookie_secure,
                httponly=s.cookie_httponly,
                samesite=s.cookie_samesite,
            )

    def _refuse_replayed_login(self, response: Response) -> None:
        """A second login with one pre-login cookie: 403, and no session is made."""
        security_log.warning("login refused: its pre-login cookie already started a session")
        self.auditor.emit("csrf_failure", reason="pre-login token already used")
        _replace_body(
            response,
            403,
            "csrf_invalid",
            "This sign-in form was already used: reload the page and sign in again.",
        )
        response.headers.pop("Set-Cookie", None)

    def _become_unavailable(self, response: Response) -> None:
        """Turn the answer into the 503 envelope: the store refused the write."""
        _replace_body(
            response,
            503,
            "store_unavailable",
            "The session store is unavailable; try again shortly.",
        )
        response.headers["Retry-After"] = str(self.settings.retry_after)
        response.headers.pop("Set-Cookie", None)
        response.headers.pop("Clear-Site-Data", None)


def _replace_body(response: Response, status: int, error: str, message: str) -> None:
    """Make ``response`` the JSON error envelope (decided after the view ran)."""
    body = {"status": "error", "error": error, "message": message}
    response.status_code = status
    response.set_data(json.dumps(body))
    response.mimetype = "application/json"
    response.headers["Cache-Control"] = "no-store"


class _Replayed(Exception):
    """A login's record already exists: its pre-login cookie started a session before."""


class _Keys:
    """Everything derived from the app's secret key, built once."""

    def __init__(
        self,
        app: Flask,
        settings: SessionSettings,
        clock: Clock,
        listeners: list[Callable[[str, dict[str, Any]], None]],
    ) -> None:
        if not app.secret_key:
            raise RuntimeError(
                "SECRET_KEY is not set: flask-session-guard signs its cookies with it "
                "(set app.config['SECRET_KEY'] to a long random string)"
            )
        keys = [*(app.config.get("SECRET_KEY_FALLBACKS") or ()), app.secret_key]
        current = keys[-1]
        self.codec = ValueCodec(keys, settings.encrypted_keys)
        self.auditor = Auditor(current, clock, settings.audit_log, listeners)
        self.signer = CookieSigner(current, keys[:-1])
        self.pre_signer = CookieSigner(current, keys[:-1], salt=PRE_LOGIN_SALT)
        raw = current.encode() if isinstance(current, str) else current
        self.pre_login_secrets = PreLoginSecrets(raw)
        self._login_ids = hmac.new(
            hmac.new(raw, b"flask-session-guard.login-id", "sha256").digest(), None, "sha256"
        )

    def login_id(self, pre_login_id: str) -> str:
        """The session id of the login made from ``pre_login_id`` (256 bits, keyed)."""
        mac = self._login_ids.copy()
        mac.update(pre_login_id.encode("ascii"))
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")

    def identify(self, cookie: str) -> tuple[CookieKind, str] | None:
        """Which of our cookies ``cookie`` is, with its id; ``None`` if we did not sign it."""
        session_id = self.signer.unsign(cookie)
        if session_id is not None:
            return CookieKind.SESSION, session_id
        pre_login_id = self.pre_signer.unsign(cookie)
        if pre_login_id is not None:
            return CookieKind.PRE_LOGIN, pre_login_id
        return None


def _cookie_domains(host: str, configured: str | None) -> list[str | None]:
    """Every ``Domain`` a cookie of ours seen here could have been set with.

    Host-only (``None``), the configured domain, and each parent domain of the
    request's host (a sibling subdomain may plant ``Domain=parent``); never for an
    IP address or a single-label host.
    """
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    domains: list[str | None] = [None]
    if configured:
        domains.append(configured)
    labels = name.split(".")
    if len(labels) > 1 and not name.replace(".", "").isdigit() and ":" not in name:
        for i in range(len(labels) - 1):
            parent = ".".join(labels[i:])
            if parent not in domains:
                domains.append(parent)
    return domains


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
