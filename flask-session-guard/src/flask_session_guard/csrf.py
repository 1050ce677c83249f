"""CSRF tokens: one secret per session, handed out masked.

Each answer masks the session's secret with fresh random bytes (as Django does
against BREACH), so two answers never carry the same string while every mask of
the current secret validates. Comparison is constant-time.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import secrets

from flask import Request

from .errors import BadRequest

#: Methods that must not change state; every other method (unknown ones too) is unsafe.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SECRET_BYTES = 32
#: A masked token is 64 bytes: 86 base64 characters. Anything far longer is refused
#: before decoding, so a 1 MB "token" costs nothing.
_MAX_TOKEN_CHARS = 128
#: Exactly what :func:`mask` writes: URL-safe base64 without padding. Standard
#: base64 (``+``, ``/``), padding, spaces and other characters the decoder would
#: skip or translate are refused, so one token has one spelling.
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_-]+")
FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
#: Flask-WTF's and Django's header name, accepted beside the guide's.
ALT_HEADER = "X-CSRFToken"
_FORM_MIMETYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


def new_secret() -> str:
    """A fresh per-session CSRF secret."""
    return secrets.token_urlsafe(SECRET_BYTES)


class PreLoginSecrets:
    """The CSRF secret of a pre-login visitor, derived from their signed pre-login id.

    ``HMAC(key, id)``: verifying a pre-login token needs no store record, so
    anonymous visitors cost the store nothing, and a token made for one pre-login
    cookie is refused with any other. Only the current secret key is used: after a
    key rotation a pre-login visitor simply fetches a new token.
    """

    _SALT = b"flask-session-guard.pre-login-csrf"

    def __init__(self, key: bytes) -> None:
        self._mac = hmac.new(hmac.new(key, self._SALT, "sha256").digest(), None, "sha256")

    def secret(self, pre_login_id: str) -> str:
        """The CSRF secret (as :func:`new_secret` shapes it) for ``pre_login_id``."""
        mac = self._mac.copy()
        mac.update(pre_login_id.encode("ascii"))
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")


def _secret_bytes(secret: str) -> bytes:
    return base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))


def _xor(a: bytes, b: bytes) -> bytes:
    """``a`` XOR ``b`` (equal lengths), as one integer operation rather than per byte."""
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


def mask(secret: str) -> str:
    """A token for the browser: ``pad + (secret XOR pad)``, URL-safe base64."""
    raw = _secret_bytes(secret)
    pad = secrets.token_bytes(len(raw))
    masked = _xor(raw, pad)
    return base64.urlsafe_b64encode(pad + masked).rstrip(b"=").decode("ascii")


def matches(secret: str, token: object) -> bool:
    """Whether ``token`` is a mask of ``secret``; never raises for bad input."""
    if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN_CHARS:
        return False
    if _TOKEN_CHARS.fullmatch(token) is None:
        return False
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii") + b"=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return False
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != token:
        return False  # unused low bits set: another spelling of the same bytes
    expected = _secret_bytes(secret)
    if len(raw) != 2 * len(expected):
        return False
    pad, masked = raw[: len(expected)], raw[len(expected) :]
    unmasked = _xor(pad, masked)
    return hmac.compare_digest(unmasked, expected)


def token_from_request(request: Request) -> str | None:
    """The token a request presents, in the guide's order, or ``None``.

    1. the ``X-CSRF-Token`` header (or Flask-WTF's ``X-CSRFToken``), 2. the form
    field ``csrf_token`` (form bodies only), 3. the JSON field ``csrf_token`` (JSON
    bodies only). Never the query string. A JSON token that is not a string is a
    400. Both headers with different values give ``""``, which never validates:
    the request is refused rather than one of two tokens picked.
    """
    header = request.headers.get(HEADER)
    alternate = request.headers.get(ALT_HEADER)
    if header and alternate and header != alternate:
        return ""
    header = header or alternate
    if header:
        return header
    if request.mimetype in _FORM_MIMETYPES:
        value = request.form.get(FORM_FIELD)
        if value:
            return value
    if request.is_json and request.get_data(cache=True):
        body = request.get_json(silent=False)
        if isinstance(body, dict) and FORM_FIELD in body:
            value = body[FORM_FIELD]
            if not isinstance(value, str):
                raise BadRequest("csrf_token must be a string.")
            return value or None
    return None
