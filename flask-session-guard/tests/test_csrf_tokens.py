"""CSRF tokens have exactly one spelling: URL-safe base64 without padding."""

from __future__ import annotations

import base64

import pytest
from flask_session_guard import csrf


@pytest.fixture
def secret() -> str:
    return csrf.new_secret()


def _raw(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def test_a_fresh_mask_matches(secret: str) -> None:
    assert csrf.matches(secret, csrf.mask(secret))


def test_standard_base64_spelling_is_refused(secret: str) -> None:
    token = csrf.mask(secret)
    while "-" not in token and "_" not in token:
        token = csrf.mask(secret)  # nearly every mask has one; draw again if not
    standard = token.replace("-", "+").replace("_", "/")
    assert _raw(token) == base64.b64decode(standard + "=" * (-len(standard) % 4))
    assert not csrf.matches(secret, standard)


@pytest.mark.parametrize(
    "spoil",
    [
        lambda t: t + "==",  # padding
        lambda t: t[:40] + " " + t[40:],  # a space the decoder would skip
        lambda t: t[:40] + "\n" + t[40:],
        lambda t: t[:40] + "." + t[40:],  # a character the decoder discards
        lambda t: t[:40] + "é" + t[40:],
    ],
)
def test_other_spellings_are_refused(secret: str, spoil: object) -> None:
    token = csrf.mask(secret)
    assert callable(spoil)
    assert not csrf.matches(secret, spoil(token))


def test_unused_low_bits_are_refused(secret: str) -> None:
    token = csrf.mask(secret)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(token[-1])
    # 86 characters carry 516 bits for 512: the last one's low 4 bits are unused.
    other = token[:-1] + alphabet[last ^ 1]
    assert _raw(other) == _raw(token)
    assert not csrf.matches(secret, other)
