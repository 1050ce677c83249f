"""Where an unsafe request comes from: Fetch Metadata first, then Origin, then Referer.

Defence in depth beside the CSRF token, after Go 1.25's CrossOriginProtection:
``Sec-Fetch-Site: cross-site`` (and ``same-site`` unless allowed) is refused;
without it, an ``Origin`` that is not exactly this site's (scheme, host and port)
or a trusted one is refused, ``null`` included; without either, on HTTPS, a
``Referer`` from elsewhere is refused. A request with none of them (curl, a
server-side client) passes here and still needs its token.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Request

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(value: str) -> str | None:
    """``scheme://host[:port]``, lower-case, default port dropped; ``None`` if not an origin.

    Anything with user info, a path, a query or a fragment is not an origin, so
    ``https://host@evil.com`` or ``https://host/`` never equals ``https://host``.
    """
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host or "@" in parts.netloc:
        return None
    if parts.path or parts.query or parts.fragment:
        return None
    if ":" in host:
        host = f"[{host}]"
    suffix = f":{port}" if port is not None and port != _DEFAULT_PORTS[scheme] else ""
    return f"{scheme}://{host}{suffix}"


@dataclass(frozen=True)
class OriginPolicy:
    """Decides whether an unsafe request may come from where it says it comes from."""

    #: This site's origin as configured (``SESSION_PUBLIC_ORIGIN``), else taken from the request.
    public_origin: str | None
    #: Other origins allowed to send unsafe requests (``SESSION_TRUSTED_ORIGINS``).
    trusted: frozenset[str]
    #: Accept ``Sec-Fetch-Site: same-site`` (a sibling subdomain).
    allow_same_site: bool = False

    def own_origin(self, request: Request) -> str | None:
        """This site's origin as the browser sees it."""
        return self.public_origin or normalize_origin(f"{request.scheme}://{request.host}")

    def describe_own(self, request: Request) -> str:
        """This site's origin for a refusal message, saying where it came from.

        An operator reading "not from https://internal:5000" must learn that the
        origin was guessed from the request, and which setting fixes it.
        """
        if self.public_origin:
            return f"{self.public_origin} (SESSION_PUBLIC_ORIGIN)"
        return (
            f"{self.own_origin(request)} (taken from the request: "
            "set SESSION_PUBLIC_ORIGIN to the origin browsers use)"
        )

    def refusal(self, request: Request) -> str | None:
        """Why the request is refused, or ``None`` to let it through to the token check."""
        # This site's own origin (a URL parse) is worked out only when a branch needs
        # it: a browser's same-origin POST and a header-less client on HTTP never do.
        origin = request.headers.get("Origin")
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None:
            site = site.strip().lower()
            if site in ("same-origin", "none"):
                return None
            if site == "same-site" and self.allow_same_site:
                return None
            if origin is not None and normalize_origin(origin) in self.trusted:
                return None  # another site we were told to trust
            return (
                f"Cross-origin request refused: the browser says it came from a {site} page "
                f"(Sec-Fetch-Site), not from {self.describe_own(request)}."
            )
        if origin is not None:
            if normalize_origin(origin) in self._allowed(request):
                return None
            return (
                f"Cross-origin request refused: its Origin header does not match this site "
                f"{self.describe_own(request)} or a trusted origin (SESSION_TRUSTED_ORIGINS)."
            )
        if not (self.public_origin or request.scheme).lower().startswith("https"):
            return None  # the Referer is checked on HTTPS sites only
        own = self.own_origin(request)
        if own is not None and own.startswith("https://"):
            referer = request.headers.get("Referer")
            if referer:
                try:
                    parts = urlsplit(referer)
                    source = normalize_origin(f"{parts.scheme}://{parts.netloc}")
                except ValueError:
                    source = None
                if source not in self._allowed(request):
                    return (
                        "Cross-origin request refused: its Referer is not a page of "
                        f"{self.describe_own(request)}."
                    )
        return None

    def _allowed(self, request: Request) -> set[str]:
        """This site's origin and the trusted ones."""
        own = self.own_origin(request)
        return set(self.trusted) if own is None else {own, *self.trusted}
