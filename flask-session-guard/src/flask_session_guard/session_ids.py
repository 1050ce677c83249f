"""Session ids: made with ``secrets``, signed for the cookie, hashed for the store.

The cookie carries ``ID.SIGNATURE``. The signature (HMAC-SHA256 under the app's
secret key and its fallbacks) lets a forged or tampered cookie be refused without
a store lookup. It is itsdangerous' format (``Signer`` with ``key_derivation="hmac"``);
the keys are derived once, not on every request. The store key, which is also
the public id shown in the API, is a hash of the id: knowing it does not let
anyone present the session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable

#: 32 random bytes: 256 bits, as 43 URL-safe base64 characters.
ID_BYTES = 32
_ID_CHARS = 43
#: Exactly ID.SIGNATURE with SHA-256's 43 characters: checked before any other work.
_COOKIE_RE = re.compile(r"[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}")
_SALT = b"indian-dashboard.session-id"
#: Pre-login cookies are signed under their own salt: one can never pass for the other.
PRE_LOGIN_SALT = b"flask-session-guard.pre-login-id"
_KEY_PREFIX = b"indian-dashboard.session-key\x00"
#: SHA-256 already fed the prefix: each store key copies it instead of starting over.
_KEY_HASH = hashlib.sha256(_KEY_PREFIX)


def new_session_id() -> str:
    """A fresh secret session id."""
    return secrets.token_urlsafe(ID_BYTES)


def store_key(session_id: str) -> str:
    """The store key and public id of a session: 128 bits of SHA-256 of its id."""
    h = _KEY_HASH.copy()
    h.update(session_id.encode("ascii"))
    digest = h.digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


class CookieSigner:
    """Signs session ids for the cookie and checks presented cookies.

    Keys are the current secret plus ``SECRET_KEY_FALLBACKS``: cookies signed
    under a fallback still verify; new cookies use the current key. Thread-safe.
    """

    def __init__(
        self,
        secret_key: str | bytes,
        fallbacks: Iterable[str | bytes] = (),
        *,
        salt: bytes = _SALT,
    ) -> None:
        keys = [k.encode() if isinstance(k, str) else k for k in (secret_key, *fallbacks)]
        # Each key's signing key is HMAC(secret, salt), as itsdangerous derives it; derived
        # here once, and kept as a keyed HMAC that each call copies. Current key first.
        self._macs = [
            hmac.new(hmac.new(k, salt, hashlib.sha256).digest(), digestmod=hashlib.sha256)
            for k in keys
        ]

    def sign(self, session_id: str) -> str:
        """The cookie value for ``session_id``."""
        return f"{session_id}.{_signature(self._macs[0], session_id)}"

    def unsign(self, cookie: str) -> str | None:
        """The session id in ``cookie``, or ``None`` for anything malformed or forged.

        The signature must be the exact text we would write: a variant that decodes
        to the same bytes (base64's unused low bits) is refused.
        """
        if len(cookie) != _ID_CHARS * 2 + 1 or not _COOKIE_RE.fullmatch(cookie):
            return None
        session_id, signature = cookie[:_ID_CHARS], cookie[_ID_CHARS + 1 :]
        for mac in self._macs:
            if hmac.compare_digest(_signature(mac, session_id), signature):
                return session_id
        return None


def _signature(mac: hmac.HMAC, value: str) -> str:
    signer = mac.copy()
    signer.update(value.encode("ascii"))
    return base64.urlsafe_b64encode(signer.digest()).rstrip(b"=").decode("ascii")
