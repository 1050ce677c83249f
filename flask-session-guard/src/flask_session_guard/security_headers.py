"""Headers on every answer: a strict Content-Security-Policy and friends.

Off unless ``SESSION_SECURITY_HEADERS`` is set (``True``: :data:`HEADERS`; a
mapping: :data:`HEADERS` with those names changed, ``None`` dropping one), because
a strict policy is the app's choice: it forbids inline scripts and styles and
anything loaded from elsewhere, and ``Cross-Origin-Opener-Policy`` cuts popups
(OAuth sign-in windows) off from their opener.

With the headers on and ``SESSION_COOKIE_SECURE`` on (the site is served over
HTTPS), every answer also carries
``Strict-Transport-Security: max-age=SESSION_HSTS_MAX_AGE; includeSubDomains``
(one year by default; 0 sends none), so a browser that has seen the site once never
tries plain HTTP for it, or for hosts under it, again. ``includeSubDomains`` covers
only names below this host (``*.dash.example.com``), never its siblings or parent;
``SESSION_HSTS_INCLUDE_SUBDOMAINS=false`` leaves it out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from flask import Flask

from .settings import DEFAULTS, ConfigError

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: No inline script or style anywhere: pages load their scripts and styles as files.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    # Another site cannot load our answers as an image, script or frame resource.
    "Cross-Origin-Resource-Policy": "same-origin",
}


def strict_transport_security(config: Mapping[str, Any]) -> str | None:
    """The ``Strict-Transport-Security`` value ``config`` asks for, or ``None``.

    Sent only with ``SESSION_COOKIE_SECURE`` (HTTPS deployments). A bad
    ``SESSION_HSTS_MAX_AGE`` raises :class:`~.settings.ConfigError` naming it.
    """
    max_age = config.get("SESSION_HSTS_MAX_AGE", DEFAULTS["SESSION_HSTS_MAX_AGE"])
    if isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0:
        raise ConfigError(
            f"SESSION_HSTS_MAX_AGE must be a whole number of seconds (0 for none), got {max_age!r}"
        )
    if not config.get("SESSION_COOKIE_SECURE") or max_age == 0:
        return None
    if config.get("SESSION_HSTS_INCLUDE_SUBDOMAINS", True):
        return f"max-age={max_age}; includeSubDomains"
    return f"max-age={max_age}"


class SecurityHeaders:
    """WSGI middleware: adds ``headers`` (:data:`HEADERS`) to every answer that does not
    set its own.

    It works on the plain ``(name, value)`` pairs handed to ``start_response``:
    ours are constants checked once, so every answer pays a list extend instead of
    werkzeug's per-header validation in an ``after_request`` hook. Error pages and
    404s, which never reach a view, get them too. (So ``after_request`` hooks and
    ``Response`` objects do not show them: look at what the client receives.)
    """

    def __init__(self, app: WSGIApplication, headers: Mapping[str, str] = HEADERS) -> None:
        self.app = app
        # Built once: the pairs to add, and their lower-case names to look for.
        self._items = tuple(headers.items())
        self._names = frozenset(name.lower() for name in headers)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        items, names = self._items, self._names

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            present = {name.lower() for name, _ in headers}
            if present.isdisjoint(names):
                headers.extend(items)
            else:
                headers.extend(item for item in items if item[0].lower() not in present)
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


def register_security_headers(
    app: Flask, overrides: Mapping[str, str | None] | None = None
) -> None:
    """Wrap ``app.wsgi_app`` so every answer carries :data:`HEADERS` (and HSTS on HTTPS).

    ``overrides`` changes single headers (e.g. a Content-Security-Policy that allows
    a CDN); a ``None`` value leaves that header out.
    """
    merged: dict[str, str | None] = {**HEADERS}
    hsts = strict_transport_security(app.config)
    if hsts:
        merged["Strict-Transport-Security"] = hsts
    merged.update(overrides or {})
    headers = {name: value for name, value in merged.items() if value is not None}
    app.wsgi_app = SecurityHeaders(app.wsgi_app, headers)  # type: ignore[method-assign]
