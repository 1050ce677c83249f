"""Session ids: made with ``secrets``, signed for the cookie, hashed for the store.

The cookie carries ``ID.SIGNATURE``. The signature (HMAC-SHA256 under the app's
secret key and its fallbacks) lets a forged or tampered cookie be refused without
a store lookup. The store key, which is also the public id shown in the API, is a
hash of the id: knowing it does not let anyone present the session.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Iterable

from itsdangerous import BadSignature, Signer

#: 32 random bytes: 256 bits, as 43 URL-safe base64 characters.
ID_BYTES = 32
_ID_CHARS = 43
#: Exactly ID.SIGNATURE with SHA-256's 43 characters: checked before any other work.
_COOKIE_RE = re.compile(r"[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}")
_SALT = "indian-dashboard.session-id"
_KEY_PREFIX = b"indian-dashboard.session-key\x00"


def new_session_id() -> str:
    """A fresh secret session id."""
    return secrets.token_urlsafe(ID_BYTES)


def store_key(session_id: str) -> str:
    """The store key and public id of a session: 128 bits of SHA-256 of its id."""
    digest = hashlib.sha256(_KEY_PREFIX + session_id.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


class CookieSigner:
    """Signs session ids for the cookie and checks presented cookies.

    Keys are the current secret plus ``SECRET_KEY_FALLBACKS``: cookies signed
    under a fallback still verify; new cookies use the current key.
    """

    def __init__(self, secret_key: str | bytes, fallbacks: Iterable[str | bytes] = ()) -> None:
        # itsdangerous signs with the last key and verifies with any.
        keys = [k.encode() if isinstance(k, str) else k for k in (*fallbacks, secret_key)]
        self._signer = Signer(keys, salt=_SALT, key_derivation="hmac", digest_method=hashlib.sha256)

    def sign(self, session_id: str) -> str:
        """The cookie value for ``session_id``."""
        return self._signer.sign(session_id).decode("ascii")

    def unsign(self, cookie: str) -> str | None:
        """The session id in ``cookie``, or ``None`` for anything malformed or forged."""
        if len(cookie) != _ID_CHARS * 2 + 1 or not _COOKIE_RE.fullmatch(cookie):
            return None
        try:
            return self._signer.unsign(cookie).decode("ascii")
        except BadSignature:
            return None
