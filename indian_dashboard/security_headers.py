"""Headers on every answer: a strict Content-Security-Policy and friends."""

from __future__ import annotations

from flask import Flask, Response

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


def register_security_headers(app: Flask) -> None:
    """Add :data:`HEADERS` to every answer that does not set its own."""

    @app.after_request
    def _security_headers(response: Response) -> Response:
        # One pass over the few headers present, instead of a search per name
        # (``setdefault``): this runs on every answer.
        headers = response.headers
        present = {name.lower() for name, _ in headers}
        if present.isdisjoint(_NAMES):
            headers.extend(_ITEMS)
        else:
            for name, value in _ITEMS:
                if name.lower() not in present:
                    headers.add(name, value)
        return response
