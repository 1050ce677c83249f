"""Loud deployment mistakes: the settings in force in one line, and warnings that name the fix.

What an operator gets wrong behind a reverse proxy mostly fails silently (a
``Secure`` cookie a plain-HTTP browser drops, a forgotten ``SESSION_TRUSTED_PROXIES``,
servers with different secret keys). :func:`watch_deployment` adds, per app:

- one warning per process, naming the setting, when requests arrive as https while
  ``SESSION_COOKIE_SECURE`` is off, when ``X-Forwarded-For`` arrives while
  ``SESSION_TRUSTED_PROXIES`` is 0, and when session cookies fail their signature in
  a burst (the secret key differs between servers);
- over plain http with ``SESSION_COOKIE_SECURE`` on, an unsafe request that carries a
  CSRF token but no session cookie is refused with a message naming HTTPS and
  ``SESSION_COOKIE_SECURE`` (the browser dropped the cookie), not "invalid token".

Each check runs until its warning has been logged once, then costs one attribute
test per request.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, current_app, request

from . import csrf
from .errors import CsrfInvalid
from .settings import SessionSettings

log = logging.getLogger(__name__)

#: This many cookies failing their signature within ``BURST_SECONDS`` is not one stale
#: browser: it is servers signing with different keys.
BURST_COUNT = 5
BURST_SECONDS = 60.0

INSECURE_TRANSPORT_MESSAGE = (
    "No session cookie came with this request: the cookie is Secure "
    "(SESSION_COOKIE_SECURE=true) and browsers send it only over HTTPS. Open the site "
    "over HTTPS (behind a proxy: X-Forwarded-Proto and SESSION_TRUSTED_PROXIES)."
)


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for logs and reports)."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url.split("://", 1)[0] + "://(unparsable)"
    if not password:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def describe_settings(app: Flask) -> str:
    """One line with the settings in force: store (no password), cookie, proxies, origin, times."""
    state = app.extensions["session_manager"]
    s: SessionSettings = state.settings
    flags = [
        "Secure" if s.cookie_secure else "not Secure",
        "HttpOnly" if s.cookie_httponly else "not HttpOnly",
        f"SameSite={s.cookie_samesite or 'unset'}",
    ]
    if s.cookie_domain:
        flags.append(f"Domain={s.cookie_domain}")
    proxies = int(app.config.get("SESSION_TRUSTED_PROXIES") or 0)
    return (
        f"settings in force: store {redact_url(s.store_url)}; "
        f"cookie {s.cookie_name} ({', '.join(flags)}); "
        f"trusted proxies {proxies}; "
        f"public origin {s.public_origin or '(from each request: set SESSION_PUBLIC_ORIGIN)'}; "
        f"idle timeout {s.idle_timeout:g} s, absolute timeout {s.absolute_timeout:g} s; "
        f"CSRF checks {'on every unsafe request' if s.csrf_enforce else 'on @require_csrf only'}"
    )


class DeploymentWatch:
    """The per-app checks of :func:`watch_deployment` (state is per process)."""

    def __init__(
        self, settings: SessionSettings, trusted_proxies: int, now: Callable[[], float]
    ) -> None:
        self.settings = settings
        self.trusted_proxies = trusted_proxies
        self._now = now
        self._lock = threading.Lock()
        self._bad_signatures: deque[float] = deque(maxlen=BURST_COUNT)
        # What is still worth looking at; each flag drops once its warning is logged.
        self.watch_https = not settings.cookie_secure
        self.watch_forwarded = trusted_proxies == 0
        self.watch_signatures = True
        self.refuse_insecure = settings.cookie_secure and settings.csrf_enforce

    @property
    def watching_requests(self) -> bool:
        """Whether :meth:`before_request` has anything to do in this process."""
        return self.watch_https or self.watch_forwarded or self.refuse_insecure

    def before_request(self) -> None:
        """Warn about the transport once; refuse a token whose Secure cookie was dropped."""
        # The environ itself, as ProxyFix left it: the same facts as ``request.is_secure``
        # and ``request.headers``, without building the header view on every request.
        environ = request.environ
        secure = environ.get("wsgi.url_scheme") == "https"
        if self.watch_https and secure:
            self.watch_https = False
            how = "through a trusted proxy" if self.trusted_proxies else "directly"
            log.warning(
                "requests arrive as https (%s) but SESSION_COOKIE_SECURE is off: the session "
                "cookie %s is sent over plain http too; set SESSION_COOKIE_SECURE=true",
                how,
                self.settings.cookie_name,
            )
        if self.watch_forwarded and "HTTP_X_FORWARDED_FOR" in environ:
            self.watch_forwarded = False
            log.warning(
                "X-Forwarded-For arrives but SESSION_TRUSTED_PROXIES is 0: forwarded headers "
                "are ignored, so every client's IP is the proxy's and https is not seen; behind "
                "a reverse proxy set SESSION_TRUSTED_PROXIES=1 (the number of proxies)"
            )
        if self.refuse_insecure and not secure:
            self._refuse_dropped_cookie()

    def _refuse_dropped_cookie(self) -> None:
        if request.method in csrf.SAFE_METHODS or request.routing_exception is not None:
            return
        if self.settings.cookie_name in request.cookies:
            return  # http://localhost is a secure context: browsers send Secure cookies there
        view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
        if getattr(view, "csrf_exempt", False) or csrf.token_from_request(request) is None:
            return
        log.warning(
            "refused %s %s: a CSRF token but no session cookie over plain http while "
            "SESSION_COOKIE_SECURE is on; serve over HTTPS",
            request.method,
            request.path,
        )
        auditor = current_app.extensions["session_manager"].interface.auditor
        auditor.emit("csrf_failure", reason="insecure_transport", path=request.path)
        raise CsrfInvalid(INSECURE_TRANSPORT_MESSAGE)

    def on_event(self, event: str, record: dict[str, Any]) -> None:
        """Audit listener: a burst of cookies failing their signature names the key."""
        if not self.watch_signatures or event != "cookie_refused":
            return
        if record.get("reason") != "malformed or bad signature":
            return
        now = self._now()
        with self._lock:
            self._bad_signatures.append(now)
            burst = (
                len(self._bad_signatures) == BURST_COUNT
                and now - self._bad_signatures[0] <= BURST_SECONDS
            )
            if not burst or not self.watch_signatures:
                return
            self.watch_signatures = False
        log.warning(
            "%d session cookies failed their signature within %g s: if several servers share "
            "the store, SECRET_KEY (FLASK_SECRET_KEY) must be equal on every server "
            "(and SECRET_KEY_FALLBACKS while rotating)",
            BURST_COUNT,
            BURST_SECONDS,
        )


def watch_deployment(app: Flask) -> DeploymentWatch:
    """Build the checks for ``app`` (in ``SessionManager.init_app``) and return them.

    Adds an audit listener; the extension runs :meth:`DeploymentWatch.before_request`
    among its request checks, before the CSRF check, so that the plain-http refusal
    is the one that answers.
    """
    state = app.extensions["session_manager"]
    proxies = int(app.config.get("SESSION_TRUSTED_PROXIES") or 0)
    watch = DeploymentWatch(state.settings, proxies, state.interface.now)
    state.interface.listeners.append(watch.on_event)
    app.extensions["session_guard_deployment"] = watch
    return watch
