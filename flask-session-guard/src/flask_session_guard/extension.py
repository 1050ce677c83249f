"""The SessionManager extension and the decorators routes use.

``SessionManager`` plugs :class:`~.session_interface.ServerSessionInterface` into
Flask and offers the guide's operations on the current request's session:
create, info, extend, clear, CSRF tokens and user data. Its state lives in
``app.extensions["session_manager"]``; the methods work on ``current_app``.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from flask import Blueprint, Flask, Response, after_this_request, current_app, g, request, session

from . import csrf
from .body_limit import install_request_class, refuse_oversized_body
from .clock import Clock, SystemClock, isoformat
from .deployment import DeploymentWatch, watch_deployment
from .errors import (
    CsrfInvalid,
    CsrfMissing,
    OriginMismatch,
    SessionExpired,
    SessionLimit,
    SessionRequired,
    SessionRevoked,
    register_error_handlers,
)
from .interface import ServerSessionInterface
from .log_safety import security_log
from .metrics import instrument
from .origin import OriginPolicy
from .security_headers import register_security_headers
from .session import ServerSession, SessionState
from .session_limit import make_room
from .settings import ConfigError, SessionSettings, apply_defaults
from .stores import SessionGone, SessionRecord, SessionStore, StoreUnavailable, open_store

P = ParamSpec("P")
R = TypeVar("R")

log = logging.getLogger(__name__)

EXTENSION_KEY = "session_manager"

#: Serves the browser client: ``url_for("session_guard.static", filename="session-manager.js")``.
_static_bp = Blueprint(
    "session_guard",
    __name__,
    static_folder="static",
    static_url_path="/_session_guard/static",
)


@dataclass(frozen=True)
class _State:
    """What one app keeps in ``app.extensions["session_manager"]``."""

    manager: SessionManager
    settings: SessionSettings
    store: SessionStore
    interface: ServerSessionInterface
    origins: OriginPolicy


class SessionManager:
    """Server-side sessions with idle and absolute timeouts and CSRF tokens.

    ``SessionManager(app)`` or ``SessionManager()`` then ``init_app(app)``.
    ``session_timeout`` is the default idle timeout in seconds; ``SESSION_TIMEOUT``
    in the app's config wins over it. ``clock`` is injected by tests; ``store``
    overrides ``SESSION_STORE_URL``.
    """

    def __init__(
        self,
        app: Flask | None = None,
        session_timeout: float = 3600,
        *,
        clock: Clock | None = None,
        store: SessionStore | None = None,
    ) -> None:
        self.session_timeout = session_timeout
        self.clock: Clock = clock or SystemClock()
        self._store = store
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Validate the config, open the store and become ``app``'s session interface."""
        apply_defaults(app.config, session_timeout=self.session_timeout)
        settings = SessionSettings.from_config(app.config)
        # Not ``self._store or ...``: an empty store has len() 0 and would be replaced.
        store = self._store
        if store is None:
            store = open_store(
                settings.store_url,
                instance_path=app.instance_path,
                redis=settings.redis,
                postgres=settings.postgres,
            )
        store, metrics = instrument(app, store, lambda: self.clock.now().timestamp())
        interface = ServerSessionInterface(app, settings, store, self.clock)
        if metrics is not None:
            interface.listeners.append(metrics.on_event)
        app.session_interface = interface
        policy = OriginPolicy(
            settings.public_origin, settings.trusted_origins, settings.csrf_allow_same_site
        )
        app.extensions[EXTENSION_KEY] = _State(self, settings, store, interface, policy)
        _install_request_checks(app, settings, watch_deployment(app))
        # Imported here: both modules import this one for the decorators.
        from .api import bp as api_bp
        from .cli import sessions_cli

        app.register_blueprint(_static_bp)
        prefix = app.config["SESSION_API_PREFIX"]
        if prefix:
            app.register_blueprint(api_bp, url_prefix=prefix)
        app.cli.add_command(sessions_cli)
        _install_answers(app, settings)

    # -- the guide's operations on the current session ------------------------------------

    def create_session(
        self,
        user_data: dict[str, Any] | None = None,
        *,
        account: str | None = None,
        absolute_expires_at: float | None = None,
    ) -> dict[str, Any]:
        """Start a fresh active session (new id, new CSRF token) holding ``user_data``.

        Any previous session of this visitor is deleted first, so its id and token
        stop working at once (session fixation defence). ``account`` (e.g.
        ``kite:AB1234``) lets the account's sessions be listed and ended together.
        ``absolute_expires_at`` (POSIX seconds) ends the session earlier than
        ``SESSION_ABSOLUTE_TIMEOUT`` would, e.g. when a token behind it expires.
        A pre-login visitor's cookie starts one session only: a second login with it
        (two racing form posts) is 403 ``csrf_invalid``. If the account already holds
        ``SESSION_MAX_PER_ACCOUNT`` live sessions, the oldest end (their holders get
        401 ``session_limit``: see :mod:`.session_limit`). Returns the session info.
        """
        current = _current()
        _state().interface.begin(
            current, dict(user_data or {}), account=account, absolute_at=absolute_expires_at
        )
        if account is not None:
            # Room is made once the answer is known to succeed (a failed login keeps
            # the old sessions); the session this login replaces takes none.
            replaced = list(current.delete_keys)

            @after_this_request
            def make_room_for_login(response: Response) -> Response:
                if response.status_code < 400:
                    try:
                        self._keep_within_limit(account, replaced=replaced)
                    except StoreUnavailable as err:
                        # After the view, Flask no longer routes an error to its
                        # handlers: do it here, so an outage is the 503, not a 500.
                        refusal = current_app.handle_user_exception(err)
                        made: Response = current_app.make_response(refusal)
                        return made
                return response

        info = self.get_session_info()
        assert info is not None
        return info

    def get_session_info(self) -> dict[str, Any] | None:
        """The guide's session object for this visitor, or ``None`` without a session.

        Times are ISO 8601 UTC; ``session_id`` is the public id, which cannot be
        used to authenticate. ``elapsed_seconds`` counts from the last activity and
        ``remaining_seconds`` to whichever timeout comes first.
        """
        current = _current()
        record = current.record if current.state is SessionState.ACTIVE else None
        if record is None:
            return None
        now = _state().interface.now()
        remaining = max(0, math.floor(record.expires_at - now))
        return {
            "session_id": record.key,
            "created_at": isoformat(record.created_at),
            "last_activity": isoformat(record.last_activity),
            "elapsed_seconds": max(0, math.floor(now - record.last_activity)),
            "remaining_seconds": remaining,
            "is_active": remaining > 0,
            "expires_at": isoformat(record.expires_at),
            "absolute_expires_at": isoformat(record.absolute_at),
            "idle_timeout_seconds": round(_state().settings.idle_timeout),
        }

    def session_state(self) -> SessionState:
        """Where this visitor stands: ``none``, ``pre_login``, ``active``, ``expired``,
        ``revoked`` or ``ended`` (see :class:`SessionState`; a ``str`` enum)."""
        return _current().state

    def extend_session(self) -> bool:
        """Record activity now; True if the expiry moved later.

        False when the absolute lifetime already bounds the session: no extension
        can pass it. Raises ``SessionRequired``/``SessionExpired`` without an
        active session.
        """
        current = _require_active()
        moved = _state().interface.mark_activity(current, force=True)
        record = current.record
        assert record is not None
        _state().interface.auditor.emit(
            "session_extended", session_key=record.key, account=record.account, moved=moved
        )
        return moved

    def rotate_session(self) -> str:
        """Give this session a new id and CSRF secret, keeping its data; returns the new token.

        For privilege changes: the old id and token stop working at once. The old
        session must still be live when the new one is written: a logout or
        revocation that finishes first wins. Raises ``SessionRequired`` or
        ``SessionExpired`` without an active session.
        """
        try:
            _state().interface.rotate(_require_active())
        except SessionGone:
            raise SessionExpired() from None
        return self.get_csrf_token()

    def clear_session(self) -> None:
        """Delete the session server-side and expire the cookie (logout).

        ``session.clear()`` does the same. The record is deleted when the answer is
        saved, whatever its status.
        """
        _current().end()

    def _keep_within_limit(self, account: str, *, replaced: Collection[str] = ()) -> None:
        state = _state()
        now = state.interface.now()
        ended = make_room(state.store, account, now, state.settings.max_per_account, keep=replaced)
        for record in ended:
            state.interface.auditor.emit(
                "session_revoked", session_key=record.key, account=account, by="session_limit"
            )

    # -- sessions of one account -------------------------------------------------------------

    def list_sessions(self, account: str | None = None) -> list[dict[str, Any]]:
        """The live sessions of ``account`` (default: the current one's), newest first.

        Each is ``{session_id, created_at, last_activity, device, ip, current}``.
        """
        state = _state()
        session = _current()
        current = session.record if session.state is SessionState.ACTIVE else None
        account = account or (current.account if current else None)
        if account is None:
            return []
        records = state.store.list_sessions(state.interface.now(), account=account)
        return [_describe(r, current_key=current.key if current else None) for r in records]

    def list_sessions_page(
        self, *, limit: int, offset: int = 0
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of :meth:`list_sessions` (the current account's), and the total.

        The store reads the account's index once (it holds at most
        ``SESSION_MAX_PER_ACCOUNT`` live sessions); the page bounds the answer.
        """
        sessions = self.list_sessions()
        return sessions[offset : offset + limit], len(sessions)

    def revoke_session(self, public_id: str) -> bool:
        """End one session of the current account (not the current one); True if it was live."""
        current = _require_active().record
        assert current is not None
        if public_id == current.key or current.account is None:
            return False
        state = _state()
        now = state.interface.now()
        target = state.store.get(public_id, now)
        if target is None or target.account != current.account or not target.live(now):
            return False
        return self._revoke(target.key, target.account, by="user")

    def revoke_other_sessions(self) -> int:
        """End every other session of the current account; returns how many."""
        current = _require_active().record
        assert current is not None
        if current.account is None:
            return 0
        return self.revoke_all_sessions(current.account, keep=current.key, by="user")

    def revoke_all_sessions(
        self, account: str, *, keep: str | None = None, by: str = "operator"
    ) -> int:
        """End every session of ``account`` (but ``keep``); for operators. Returns how many."""
        state = _state()
        records = state.store.list_sessions(state.interface.now(), account=account)
        return sum(self._revoke(r.key, account, by=by) for r in records if r.key != keep)

    def revoke_by_operator(self, public_id: str, account: str | None = None) -> bool:
        """End any session by its public id (operators; no account check)."""
        return self._revoke(public_id, account, by="operator")

    def _revoke(self, key: str, account: str | None, *, by: str) -> bool:
        state = _state()
        if not state.store.revoke(key, state.interface.now()):
            return False
        state.interface.auditor.emit("session_revoked", session_key=key, account=account, by=by)
        return True

    def get_csrf_token(self) -> str:
        """A CSRF token for this visitor (masked afresh on every call).

        A visitor without a session gets a pre-login one, so a login form can be
        protected.
        """
        secret = _state().interface.csrf_secret(_current(), issue=True)
        assert secret is not None
        return csrf.mask(secret)

    def validate_csrf_token(self, token: object) -> bool:
        """Whether ``token`` is valid for this visitor's session; never raises."""
        secret = _state().interface.csrf_secret(_current(), issue=False)
        return secret is not None and csrf.matches(secret, token)

    def store_user_data(self, key: str, value: Any, *, sensitive: bool = False) -> None:
        """Keep ``value`` (anything JSON can hold) under ``key``; written per key.

        ``sensitive`` values (and keys named in ``SESSION_ENCRYPTED_KEYS``) are
        encrypted at rest in the store.
        """
        current = _current()
        if sensitive:
            current.mark_sensitive(key)
        current[key] = value

    def get_user_data(self, key: str, default: Any = None) -> Any:
        """The value under ``key``, or ``default``."""
        return _current().get(key, default)

    def update_user_data(self, key: str, fn: Callable[[Any], Any]) -> Any:
        """Atomically replace ``key`` with ``fn(current value or None)``; returns it.

        Applied in the store at once, serialised with concurrent updates of the
        same key, so none is lost. Raises ``SessionExpired`` if the session ended.
        """
        try:
            return _state().interface.update_value(_current(), key, fn)
        except SessionGone:
            raise SessionExpired() from None

    def purge_expired(self) -> int:
        """Remove expired sessions from the store; returns how many went."""
        state = _state()
        return state.store.purge_expired(state.interface.now())


def _describe(record: SessionRecord, *, current_key: str | None) -> dict[str, Any]:
    return {
        "session_id": record.key,
        "created_at": isoformat(record.created_at),
        "last_activity": isoformat(record.last_activity),
        "device": record.device,
        "ip": record.ip,
        "current": record.key == current_key,
    }


def _install_request_checks(app: Flask, settings: SessionSettings, watch: DeploymentWatch) -> None:
    """Hostile bodies answer 400/413, never 500; then, in this order, before any view: a
    declared oversized body is a 413 at once, the deployment checks (their plain-http
    refusal names the fix), and the origin and token checks of unsafe requests.

    One ``before_request`` hook runs the checks that apply, chosen here once: each
    hook costs Flask a lookup and an ``ensure_sync`` on every request.
    """
    install_request_class(app)
    checks: list[Callable[[], None]] = []
    if app.config["SESSION_BODY_LIMIT"]:
        checks.append(refuse_oversized_body)
    if watch.watching_requests:
        checks.append(watch.before_request)
    if settings.csrf_enforce:
        checks.append(_protect_unsafe_request)
    if len(checks) == 1:
        app.before_request(checks[0])
    elif checks:
        run = tuple(checks)

        def check_request() -> None:
            for check in run:
                check()

        app.before_request(check_request)


def _install_answers(app: Flask, settings: SessionSettings) -> None:
    """Error answers (envelope or page), the opt-in security headers, ``csrf_token()``."""
    prefixes = app.config["SESSION_JSON_PREFIXES"]
    if isinstance(prefixes, str):
        prefixes = (prefixes,)
    if not isinstance(prefixes, (list, tuple)) or not all(
        isinstance(p, str) and p.startswith("/") for p in prefixes
    ):
        raise ConfigError(
            f"SESSION_JSON_PREFIXES must be a list of paths like /api, got {prefixes!r}"
        )
    api_prefix = app.config["SESSION_API_PREFIX"]
    register_error_handlers(
        app,
        retry_after=settings.retry_after,
        json_prefixes=(*prefixes, *([api_prefix] if api_prefix else [])),
    )
    headers = app.config["SESSION_SECURITY_HEADERS"]
    if headers:
        register_security_headers(app, headers if isinstance(headers, Mapping) else None)
    # Flask-WTF's name, so templates written for it keep working.
    app.jinja_env.globals.setdefault("csrf_token", _template_csrf_token)


def _template_csrf_token() -> str:
    """``{{ csrf_token() }}`` in a template: a token for this visitor's form."""
    return get_session_manager().get_csrf_token()


def get_session_manager() -> SessionManager:
    """The SessionManager of the current app."""
    return _state().manager


def _state() -> _State:
    state: _State = current_app.extensions[EXTENSION_KEY]
    return state


def _current() -> ServerSession:
    # One context-local lookup (isinstance on the proxy would be a second);
    # _get_current_object is LocalProxy's documented accessor, untyped in Flask's stubs.
    current = session._get_current_object()  # type: ignore[attr-defined]
    if not isinstance(current, ServerSession):
        raise RuntimeError("SessionManager is not the session interface of this app")
    return current


def _require_active() -> ServerSession:
    current = _current()
    state = current.state
    if state is SessionState.ACTIVE:
        return current
    if state is SessionState.EXPIRED:
        raise SessionExpired()
    if state is SessionState.REVOKED:
        raise revoked_error(current)
    raise SessionRequired()


def revoked_error(current: ServerSession | None = None) -> SessionRevoked:
    """The 401 a revoked session's holder gets: ``session_limit`` or ``session_revoked``.

    ``current`` defaults to this request's session.
    """
    reason = (current or _current()).revoked_reason
    return SessionLimit() if reason == "session_limit" else SessionRevoked()


# -- decorators ---------------------------------------------------------------------------


def require_session(view: Callable[P, R]) -> Callable[P, R]:
    """Let the view run only for an active session started by ``create_session``.

    Otherwise 401 ``session_expired`` (the cookie's session is gone) or
    ``session_required`` (no session, or only a pre-login one).
    """

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        _require_active()
        return view(*args, **kwargs)

    # The global CSRF check reads this so that a visitor without a session hears
    # "session required" (401) before "token missing" (403), as the decorators say.
    wrapper.session_required = True  # type: ignore[attr-defined]
    return wrapper


def require_csrf(view: Callable[P, R]) -> Callable[P, R]:
    """Let the view run only with a valid CSRF token for this session.

    The token is looked for in the ``X-CSRF-Token`` header, then the form field
    ``csrf_token``, then the JSON field ``csrf_token``; never the query string.
    403 ``csrf_missing`` or ``csrf_invalid``; 401 ``session_expired`` when the
    cookie's session is gone.
    """

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        check_csrf()
        return view(*args, **kwargs)

    return wrapper


def csrf_exempt(view: Callable[P, R]) -> Callable[P, R]:
    """Exempt one view from the global CSRF and origin checks (``SESSION_CSRF_ENFORCE``).

    Exemption follows the view, not the URL: no path trick reaches another view.
    """
    view.csrf_exempt = True  # type: ignore[attr-defined]
    return view


def _protect_unsafe_request() -> None:
    """``before_request``: every unsafe request passes the origin and token checks."""
    if request.method in csrf.SAFE_METHODS or request.routing_exception is not None:
        return  # a 404/405 runs no view, so there is nothing to protect
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    if getattr(view, "csrf_exempt", False):
        return
    if getattr(view, "session_required", False):
        _require_active()
    check_csrf()


def check_csrf() -> None:
    """The check behind :func:`require_csrf`: origin, then token. Runs once per request."""
    if g.get("_csrf_checked"):
        return
    state = _state()
    reason = state.origins.refusal(request)
    if reason is not None:
        security_log.info("origin refused (%s %s): %s", request.method, request.path, reason)
        state.interface.auditor.emit("origin_refused", reason=reason, path=request.path)
        raise OriginMismatch(reason)
    current = _current()
    session_state = current.state
    if session_state is SessionState.EXPIRED:
        raise SessionExpired()
    if session_state is SessionState.REVOKED:
        raise revoked_error(current)
    token = csrf.token_from_request(request)
    secret = state.interface.csrf_secret(current, issue=False)
    record = current.record
    if token is None or secret is None or not csrf.matches(secret, token):
        why = "missing" if token is None else "invalid"
        security_log.info("csrf refused: %s token (%s %s)", why, request.method, request.path)
        state.interface.auditor.emit(
            "csrf_failure",
            session_key=record.key if record else None,
            account=record.account if record else None,
            reason=why,
            path=request.path,
        )
        raise CsrfMissing() if token is None else CsrfInvalid()
    g._csrf_checked = True


def passive(view: Callable[P, R]) -> Callable[P, R]:
    """Mark a view whose requests never count as session activity (status polling)."""
    view.session_passive = True  # type: ignore[attr-defined]
    return view
