"""What the emulated brokers remember: accounts, registered apps, codes and tokens.

One :class:`Emulator` serves all five brokers; every method is thread-safe (the
server is threaded, and tests change faults from their own thread).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal

Fault = Literal["500", "slow"]


@dataclass(frozen=True)
class Account:
    """A demo trader at one broker."""

    broker: str
    user_id: str
    password: str
    name: str
    #: Angel One: the MPIN and the base32 TOTP secret of the authenticator app.
    pin: str = ""
    totp_secret: str = ""


@dataclass(frozen=True)
class App:
    """An API app a trader registered with a broker (key, secret, redirect URL)."""

    broker: str
    key: str
    secret: str
    redirect_url: str = ""


@dataclass
class Grant:
    """A one-time code (request token, auth code, tokenId) and whom it signs in."""

    broker: str
    app_key: str
    user_id: str
    redirect_uri: str
    expires_at: float
    used: bool = False


@dataclass(frozen=True)
class Token:
    """An access token the emulator issued."""

    broker: str
    user_id: str
    app_key: str
    expires_at: float


def totp(secret: str, at: float, step: int = 30) -> str:
    """The six-digit RFC 6238 code of base32 ``secret`` at POSIX time ``at``."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at // step)), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


@dataclass
class Emulator:
    """The state of all five emulated brokers."""

    #: POSIX seconds now; tests may give the dashboard's manual clock.
    clock: Callable[[], float] = time.time
    #: How long a ``slow`` fault stalls an answer, in seconds.
    slow_seconds: float = 2.0
    #: Lifetime of a one-time code, in seconds.
    code_lifetime: float = 300.0
    accounts: dict[tuple[str, str], Account] = field(default_factory=dict)
    apps: dict[tuple[str, str], App] = field(default_factory=dict)
    faults: dict[str, Fault] = field(default_factory=dict)
    #: Every API call seen: ``(broker, method, path)`` (never a query or a body).
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    #: Dhan consents: consentAppId -> (app key, client id it was generated for).
    consents: dict[str, tuple[str, str]] = field(default_factory=dict)
    _grants: dict[str, Grant] = field(default_factory=dict)
    _tokens: dict[str, Token] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> float:
        return self.clock()

    def now_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now(), timezone.utc)

    # -- set-up ------------------------------------------------------------------------

    def add_account(self, account: Account) -> Account:
        with self._lock:
            self.accounts[(account.broker, account.user_id)] = account
        return account

    def add_app(
        self,
        broker: str,
        redirect_url: str = "",
        *,
        key: str | None = None,
        secret: str | None = None,
    ) -> App:
        """Register an app; a key and secret are made up unless given."""
        if key is None:
            key = f"{secrets.token_hex(6)}-100" if broker == "fyers" else secrets.token_hex(8)
        app = App(broker, key, secret or secrets.token_hex(16), redirect_url)
        with self._lock:
            self.apps[(broker, app.key)] = app
        return app

    def account(self, broker: str, user_id: str) -> Account | None:
        return self.accounts.get((broker, user_id))

    def app(self, broker: str, key: str) -> App | None:
        return self.apps.get((broker, key))

    def record(self, broker: str, method: str, path: str) -> None:
        with self._lock:
            self.calls.append((broker, method, path))

    # -- codes and tokens --------------------------------------------------------------

    def issue_code(self, broker: str, app_key: str, user_id: str, redirect_uri: str = "") -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._grants[code] = Grant(
                broker, app_key, user_id, redirect_uri, self.now() + self.code_lifetime
            )
        return code

    def redeem(
        self, broker: str, code: str, app_key: str, redirect_uri: str | None = None
    ) -> Grant | str:
        """Use a code once: the grant, or why not (``unknown``, ``used``, ``expired``)."""
        with self._lock:
            grant = self._grants.get(code)
            if grant is None or grant.broker != broker or grant.app_key != app_key:
                return "unknown"
            if redirect_uri is not None and redirect_uri != grant.redirect_uri:
                return "unknown"
            if grant.used:
                return "used"
            grant.used = True
            if self.now() > grant.expires_at:
                return "expired"
            return grant

    def issue_token(
        self,
        broker: str,
        user_id: str,
        app_key: str,
        lifetime: float = 86400.0,
        value: str | None = None,
    ) -> str:
        token = value or secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = Token(broker, user_id, app_key, self.now() + lifetime)
        return token

    def token(self, broker: str, value: str) -> Token | None:
        """The live token ``value`` of ``broker``, or ``None``."""
        with self._lock:
            found = self._tokens.get(value)
        if found is None or found.broker != broker or self.now() > found.expires_at:
            return None
        return found

    def revoke_token(self, value: str) -> bool:
        with self._lock:
            return self._tokens.pop(value, None) is not None

    def live_tokens(self, broker: str) -> int:
        """How many tokens of ``broker`` are live (tests check logouts end them)."""
        with self._lock:
            tokens = list(self._tokens.values())
        return sum(t.broker == broker and self.now() <= t.expires_at for t in tokens)

    def current_totp(self, account: Account) -> str:
        return totp(account.totp_secret, self.now())

    def totp_matches(self, account: Account, code: object) -> bool:
        """Whether ``code`` is this step's or the previous one's (a code typed late)."""
        now = self.now()
        return code in (totp(account.totp_secret, now), totp(account.totp_secret, now - 30))
