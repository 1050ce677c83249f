"""Production checks behind ``flask --app APP sessions check [--url https://host]``.

Each check reads the app's settings (and, with a URL, one live answer) and says
``ok`` or the fix. An app adds its own checks with :func:`add_check` (the
dashboard checks its key file's permissions).
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from flask import Flask

from .deployment import redact_url
from .origin import normalize_origin
from .stores.base import SessionStore, StoreUnavailable

Status = Literal["ok", "fix", "skip"]
#: Six months: what browsers' preload lists and most audits ask of HSTS.
HSTS_MIN_SECONDS = 15_552_000
_EXTENSION_KEY = "session_guard_checks"


@dataclass(frozen=True)
class Check:
    """One check's result: ``ok``, ``fix`` (the message says how) or ``skip`` (and why)."""

    name: str
    status: Status
    message: str


#: An extra check: the app and the ``--url`` answer (``None`` without one).
ExtraCheck = Callable[[Flask, "LiveAnswer | None"], Check]


@dataclass(frozen=True)
class LiveAnswer:
    """What a live server answered to ``GET URL/`` (status 0 and ``error`` when it did not)."""

    url: str
    status: int
    headers: dict[str, str]
    error: str | None = None


def add_check(app: Flask, check: ExtraCheck) -> None:
    """Run ``check`` too in ``sessions check`` for ``app``."""
    app.extensions.setdefault(_EXTENSION_KEY, []).append(check)


def fetch(url: str, *, cafile: str | None = None, timeout: float = 5.0) -> LiveAnswer:
    """``GET url`` (no redirect followed); a TLS or network failure is an answer with ``error``."""
    context = ssl.create_default_context(cafile=cafile)

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=context), _NoRedirect()
    )
    try:
        with opener.open(urllib.request.Request(url, method="GET"), timeout=timeout) as answer:
            return LiveAnswer(url, answer.status, {k.lower(): v for k, v in answer.headers.items()})
    except urllib.error.HTTPError as err:
        return LiveAnswer(url, err.code, {k.lower(): v for k, v in err.headers.items()})
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        return LiveAnswer(url, 0, {}, error=str(reason))


def run_checks(app: Flask, live: LiveAnswer | None = None) -> list[Check]:
    """Every check for ``app``, in a fixed order, then the app's own."""
    found = list(_builtin(app, live))
    for extra in app.extensions.get(_EXTENSION_KEY, []):
        found.append(extra(app, live))
    return found


def _builtin(app: Flask, live: LiveAnswer | None) -> Iterator[Check]:
    state = app.extensions["session_manager"]
    s = state.settings
    yield _secret(app.secret_key)
    if s.cookie_secure:
        yield Check("secure cookie", "ok", f"cookie {s.cookie_name} is Secure and HttpOnly")
    else:
        yield Check(
            "secure cookie",
            "fix",
            "set SESSION_COOKIE_SECURE=true (behind HTTPS): the cookie is sent over plain http",
        )
    yield _hsts(live)
    proxies = int(app.config.get("SESSION_TRUSTED_PROXIES") or 0)
    if proxies:
        yield Check(
            "proxies",
            "ok",
            f"X-Forwarded-* count from {proxies} proxy hop(s); the proxy must overwrite "
            "(not append to) the client's copies, and the app port must be firewalled",
        )
    else:
        yield Check(
            "proxies",
            "fix",
            "behind a reverse proxy set SESSION_TRUSTED_PROXIES=1 (the number of proxies; now 0),"
            " or every client's IP is the proxy's and https is not seen",
        )
    yield _public_origin(s.public_origin, live)
    yield _store(state.store, s.store_url)


def _secret(key: str | bytes | None) -> Check:
    raw = key.encode() if isinstance(key, str) else (key or b"")
    if len(raw) < 32 or len(set(raw)) < 12:
        return Check(
            "secret key",
            "fix",
            "SECRET_KEY is short or repetitive: set FLASK_SECRET_KEY to "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`, equal on every server",
        )
    return Check("secret key", "ok", f"SECRET_KEY has {len(raw)} bytes")


def _hsts(live: LiveAnswer | None) -> Check:
    if live is None:
        return Check("hsts", "skip", "not checked: pass --url https://your.host to read an answer")
    if live.error:
        return Check("hsts", "fix", f"{live.url} did not answer: {live.error}")
    value = live.headers.get("strict-transport-security", "")
    max_age = 0
    for part in value.split(";"):
        name, _, number = part.strip().partition("=")
        if name.lower() == "max-age" and number.strip().strip('"').isdigit():
            max_age = int(number.strip().strip('"'))
    if max_age >= HSTS_MIN_SECONDS:
        return Check("hsts", "ok", f"Strict-Transport-Security: {value}")
    return Check(
        "hsts",
        "fix",
        f"{live.url} answers without Strict-Transport-Security max-age>={HSTS_MIN_SECONDS}: "
        'add `add_header Strict-Transport-Security "max-age=31536000" always;` at the proxy',
    )


def _public_origin(public: str | None, live: LiveAnswer | None) -> Check:
    if not public:
        return Check(
            "public origin",
            "fix",
            "set SESSION_PUBLIC_ORIGIN=https://your.host (with the port if not 443): without it "
            "the origin check guesses from each request's Host",
        )
    if not public.startswith("https://"):
        return Check("public origin", "fix", f"SESSION_PUBLIC_ORIGIN is {public}: use https://")
    if live is not None:
        parts = urlsplit(live.url)
        seen = normalize_origin(f"{parts.scheme}://{parts.netloc}")
        if seen != public:
            return Check(
                "public origin",
                "fix",
                f"SESSION_PUBLIC_ORIGIN is {public} but --url is {seen}: make them equal",
            )
    return Check("public origin", "ok", public)


def _store(store: SessionStore, url: str) -> Check:
    try:
        store.ping()
    except StoreUnavailable as err:
        return Check("store", "fix", f"{redact_url(url)} does not answer: {err}")
    return Check("store", "ok", f"{redact_url(url)} answers")
