"""Headers on every answer: a strict Content-Security-Policy and friends."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask

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
}


#: Built once: the pairs to add, and their lower-case names to look for.
_ITEMS = tuple(HEADERS.items())
_NAMES = frozenset(name.lower() for name in HEADERS)


class SecurityHeaders:
    """WSGI middleware: adds :data:`HEADERS` to every answer that does not set its own.

    It works on the plain ``(name, value)`` pairs handed to ``start_response``:
    ours are constants checked once, so every answer pays a list extend instead of
    werkzeug's per-header validation in an ``after_request`` hook. Error pages and
    404s, which never reach a view, get them too. (So ``after_request`` hooks and
    ``Response`` objects do not show them: look at what the client receives.)
    """

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            present = {name.lower() for name, _ in headers}
            if present.isdisjoint(_NAMES):
                headers.extend(_ITEMS)
            else:
                headers.extend(item for item in _ITEMS if item[0].lower() not in present)
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


def register_security_headers(app: Flask) -> None:
    """Wrap ``app.wsgi_app`` so every answer carries :data:`HEADERS`."""
    app.wsgi_app = SecurityHeaders(app.wsgi_app)  # type: ignore[method-assign]
