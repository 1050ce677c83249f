"""How user-data values are written to a store: JSON text, encrypted when sensitive.

Sensitive values (broker credentials, and any key the app names in
``SESSION_ENCRYPTED_KEYS`` or stores with ``sensitive=True``) are sealed with
AES-GCM under a key derived from the secret key with HKDF. The additional data
binds each ciphertext to its session and key name, so a value cannot be moved to
another session or field. Nothing is ever unpickled or evaluated: what does not
decode or authenticate raises :class:`CorruptValue`.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Iterable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

#: JSON text never starts with "!", so a sealed value is self-describing.
SEALED_PREFIX = "!v1:"
_NONCE_BYTES = 12
_HKDF_INFO = b"indian-dashboard session values v1"


class CorruptValue(ValueError):
    """A stored value is not JSON we wrote, or a sealed one failed authentication."""


def to_json(value: Any) -> str:
    """Compact JSON text; raises ``TypeError`` for what JSON cannot hold."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError as err:
        raise TypeError(f"session values must be JSON: {err}") from None


def _derive(secret: str | bytes) -> AESGCM:
    raw = secret.encode() if isinstance(secret, str) else secret
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(raw)
    return AESGCM(key)


class ValueCodec:
    """Turns values into store text and back. Thread-safe; build once per app.

    ``secret_keys`` lists the fallbacks first and the current key last: values are
    sealed with the current key and opened with any of them.
    """

    def __init__(
        self, secret_keys: Iterable[str | bytes], encrypted_keys: Iterable[str] = ()
    ) -> None:
        ciphers = [_derive(k) for k in secret_keys]
        if not ciphers:
            raise ValueError("ValueCodec needs at least one secret key")
        self._seal_with = ciphers[-1]
        self._open_with = list(reversed(ciphers))
        self.encrypted_keys = frozenset(encrypted_keys)

    def dumps(
        self,
        session_key: str,
        name: str,
        value: Any,
        *,
        sensitive: bool = False,
        text: str | None = None,
    ) -> str:
        """Store text for ``value`` under ``name`` in session ``session_key``;
        ``text`` is ``value``'s JSON when the caller has it already."""
        if text is None:
            text = to_json(value)
        if not (sensitive or name in self.encrypted_keys):
            return text
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._seal_with.encrypt(nonce, text.encode(), _aad(session_key, name))
        return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def loads(self, session_key: str, name: str, text: object) -> tuple[Any, bool]:
        """``(value, was_sealed)`` for store text; raises :class:`CorruptValue`."""
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError:
                raise CorruptValue("not UTF-8") from None
        if not isinstance(text, str):
            raise CorruptValue("not text")
        if text.startswith(SEALED_PREFIX):
            return json.loads(self._open(session_key, name, text)), True
        try:
            return json.loads(text), False
        except (ValueError, RecursionError):
            raise CorruptValue("not JSON") from None

    def _open(self, session_key: str, name: str, text: str) -> str:
        try:
            raw = base64.urlsafe_b64decode(text[len(SEALED_PREFIX) :])
        except (binascii.Error, ValueError):
            raise CorruptValue("sealed value is not base64") from None
        nonce, sealed = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
        for cipher in self._open_with:
            try:
                return cipher.decrypt(nonce, sealed, _aad(session_key, name)).decode()
            except (InvalidTag, ValueError):
                continue
        raise CorruptValue("sealed value failed authentication")


def _aad(session_key: str, name: str) -> bytes:
    return f"{session_key}\x00{name}".encode()
