"""What every broker adapter offers, and the pieces they share.

A broker adapter turns the credentials a trader typed into a confirmed login:
either at once (a *direct* flow, Angel One) or through the broker's own login
page (a *redirect* flow: :meth:`Broker.start` answers where to send the browser,
:meth:`Broker.finish` exchanges what the broker sent back; Kite, Upstox and
Fyers share one, :class:`~.redirect.RedirectBroker`). The account is always the
id the broker answers with, never one the trader typed.

HTTP goes through :class:`BrokerHttp` (httpx with explicit timeouts), never a
broker's SDK: see the README, "Connect your broker".
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar, Literal

import httpx
from flask_session_guard import ApiError

log = logging.getLogger(__name__)


def _no_broker_traffic(record: logging.LogRecord) -> bool:
    """Drop httpx's request lines and httpcore's traces: their URLs and headers hold tokens.

    (Kite's logout puts the access token in the query string; every call carries
    one in a header.) Our own lines name the broker and the path only.
    """
    return False


logging.getLogger("httpx").addFilter(_no_broker_traffic)
# httpcore logs from child loggers (httpcore.http11, ...): a level is inherited, a filter not.
logging.getLogger("httpcore").setLevel(logging.WARNING)

#: India Standard Time: the brokers' token expiries are wall-clock times in IST.
IST = timezone(timedelta(hours=5, minutes=30), "IST")
#: The longest broker reason we repeat to the trader, in characters.
MAX_REASON = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


class BrokerAuthFailed(ApiError):
    """The broker refused the credentials, the code, or the login (401)."""

    code, error = 401, "broker_auth_failed"
    description = "The broker refused the sign-in."


class BrokerUnavailable(ApiError):
    """The broker could not be reached, timed out or failed (502)."""

    code, error = 502, "broker_unavailable"
    description = "The broker could not be reached; try again shortly."


@dataclass(frozen=True)
class BrokerSettings:
    """Base URLs and timeouts, resolved once from the app's config."""

    urls: Mapping[str, str]
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    logout_timeout: float = 3.0
    #: The static IP Angel One has whitelisted for this server (sent in its headers).
    angelone_public_ip: str = "127.0.0.1"

    def url(self, name: str) -> str:
        """The base URL named ``name`` (e.g. ``kite_api``), without a trailing slash."""
        return self.urls[name].rstrip("/")


@dataclass(frozen=True)
class Redirect:
    """Send the browser to ``url``; ``pending`` is what :meth:`Broker.finish` needs."""

    url: str
    pending: dict[str, str]


@dataclass(frozen=True)
class Login:
    """A login the broker confirmed."""

    #: The broker's own id of the trader: the account is ``<broker>:<user_id>``.
    user_id: str
    user_name: str
    #: What later calls need (access token, API key): kept sealed in the session.
    kept: dict[str, str]
    #: When the broker's token stops working (POSIX seconds), if it says.
    expires_at: float | None = None


@dataclass(frozen=True)
class Context:
    """One sign-in step: the settings, the HTTP client, the time and the callback."""

    settings: BrokerSettings
    http: BrokerHttp
    now: datetime
    #: Where the broker sends the browser back (``.../api/broker/<name>/callback``).
    callback_url: str = ""
    #: A fresh unguessable nonce for this login (redirect flows carry it through).
    state: str = ""


@dataclass(frozen=True)
class Variant:
    """One way to sign in to a broker: the fields typed, and the flow they start."""

    fields: tuple[str, ...]
    flow: Literal["redirect", "direct"]
    #: The typed field that names the trader (compared with the broker's id), if any.
    typed_id: str | None = None


class Broker(ABC):
    """One broker's sign-in. Adapters are stateless: one instance serves every request."""

    name: ClassVar[str]
    display_name: ClassVar[str]
    variants: ClassVar[tuple[Variant, ...]]
    #: Whether the broker sends our ``state`` back (Dhan's consent flow does not).
    returns_state: ClassVar[bool] = True

    def variant(self, fields: set[str]) -> Variant | None:
        """The variant whose fields are exactly ``fields``, or ``None``."""
        return next((v for v in self.variants if set(v.fields) == fields), None)

    @abstractmethod
    def start(self, credentials: dict[str, str], ctx: Context) -> Redirect | Login:
        """Begin a sign-in: where to send the browser, or (direct flows) the login.

        Raises :class:`BrokerAuthFailed` or :class:`BrokerUnavailable`.
        """

    def returned_state(self, params: Mapping[str, str]) -> str | None:
        """The nonce the broker sent back to the callback, if it carries one."""
        return params.get("state")

    def finish(self, pending: dict[str, str], params: Mapping[str, str], ctx: Context) -> Login:
        """Exchange what the broker sent to the callback (``params``) for a login."""
        raise BrokerAuthFailed(f"{self.display_name} has no redirect sign-in.")

    @abstractmethod
    def logout(self, kept: dict[str, str], ctx: Context) -> None:
        """End the broker's token (where the broker offers it). Errors are the caller's."""

    # -- one sign-in request ----------------------------------------------------------

    def accepted(self, body: dict[str, Any]) -> bool:
        """Whether an HTTP 200 answer says yes; by default any JSON object does."""
        return True

    def refusal(self, body: Any) -> object:
        """The broker's own words in a refused answer: by default its ``message``."""
        return body.get("message") if isinstance(body, dict) else None

    def answer(
        self,
        ctx: Context,
        fallback: str,
        method: str,
        url: str,
        *,
        needs: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The broker's answer to one sign-in request, if it accepted it.

        Accepted means HTTP 200, a JSON object, :meth:`accepted`, and (if given)
        the key ``needs`` present. Anything else raises :class:`BrokerAuthFailed`
        with the broker's :meth:`refusal`, or ``fallback`` when it gives none.
        """
        status, body = ctx.http.call(self.display_name, method, url, **kwargs)
        if (
            status != 200
            or not isinstance(body, dict)
            or not self.accepted(body)
            or (needs is not None and needs not in body)
        ):
            raise BrokerAuthFailed(reason(self.display_name, self.refusal(body), fallback))
        return body


# -- shared helpers ---------------------------------------------------------------------


def sha256_hex(text: str) -> str:
    """The SHA-256 of ``text`` (UTF-8) in lower-case hex, as Kite and Fyers want it."""
    return hashlib.sha256(text.encode()).hexdigest()


def reason(display_name: str, message: object, fallback: str) -> str:
    """``"<Broker> refused the sign-in: <the broker's words>."``, tidied and bounded."""
    text = _CONTROL.sub(" ", message).strip() if isinstance(message, str) else ""
    text = (text or fallback)[:MAX_REASON].rstrip(". ")
    return f"{display_name} refused the sign-in: {text}."


def next_ist(now: datetime, hour: int, minute: int) -> float:
    """The first ``hour:minute`` IST strictly after ``now``, as POSIX seconds.

    The earlier reading of "at 6 AM the next day": a session must never outlive
    the token, so a login at 02:00 IST ends at 06:00 the same morning.
    """
    local = now.astimezone(IST)
    at = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if at <= local:
        at += timedelta(days=1)
    return at.timestamp()


def ist_time(text: object, formats: tuple[str, ...]) -> float | None:
    """Parse a broker's IST wall-clock time (or an ISO time with an offset); ``None`` if bad."""
    if not isinstance(text, str):
        return None
    for fmt in formats:
        try:
            parsed = datetime.fromisoformat(text) if fmt == "iso" else datetime.strptime(text, fmt)
        except ValueError:
            continue
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=IST)
        return parsed.timestamp()
    return None


def text_field(display_name: str, data: object, name: str) -> str:
    """``data[name]`` as a non-empty string; a broker answer without it is a broker failure."""
    value = data.get(name) if isinstance(data, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        log.warning("%s answered without %s", display_name, name)
        raise BrokerUnavailable(f"{display_name} answered without {name}; try again shortly.")
    return value.strip()


def optional_field(data: object, name: str) -> str:
    """``data[name]`` as a string, or ``""`` when it is absent or empty (a display name)."""
    return str(data.get(name) or "") if isinstance(data, dict) else ""


@dataclass
class BrokerHttp:
    """httpx with explicit connect/read timeouts; transport failures become 502s.

    One client per app, shared by threads (httpx's ``Client`` is thread-safe).
    Nothing here logs a URL's query or a body: they carry tokens.
    """

    settings: BrokerSettings
    _client: httpx.Client | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    @property
    def client(self) -> httpx.Client:
        """The shared client, built on first use (building one loads the CA bundle)."""
        with self._lock:
            if self._client is None:
                s = self.settings
                self._client = httpx.Client(
                    timeout=httpx.Timeout(s.read_timeout, connect=s.connect_timeout),
                    follow_redirects=False,
                    headers={"Accept": "application/json", "User-Agent": "indian-dashboard"},
                )
            return self._client

    def close(self) -> None:
        """Close pooled connections."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def call(
        self, display_name: str, method: str, url: str, *, logout: bool = False, **kwargs: Any
    ) -> tuple[int, Any]:
        """Send one request; returns ``(status, parsed JSON or None)``.

        Raises :class:`BrokerUnavailable` when the broker is unreachable, slow,
        answers 5xx, or answers something that is not JSON. ``logout`` uses the
        short logout timeout.
        """
        if logout:
            t = self.settings.logout_timeout
            kwargs["timeout"] = httpx.Timeout(t, connect=min(t, self.settings.connect_timeout))
        try:
            answer = self.client.request(method, url, **kwargs)
        except httpx.TimeoutException:
            log.warning("%s timed out (%s %s)", display_name, method, httpx.URL(url).path)
            raise BrokerUnavailable(f"{display_name} did not answer in time; try again.") from None
        except httpx.HTTPError as err:
            log.warning(
                "%s unreachable (%s %s): %s",
                display_name,
                method,
                httpx.URL(url).path,
                type(err).__name__,
            )
            raise BrokerUnavailable(f"{display_name} could not be reached; try again.") from None
        if answer.status_code >= 500:
            log.warning("%s failed with %d (%s)", display_name, answer.status_code, answer.url.path)
            raise BrokerUnavailable(
                f"{display_name} is having trouble (HTTP {answer.status_code}); try again shortly."
            )
        try:
            body = answer.json() if answer.content else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise BrokerUnavailable(f"{display_name} answered something unexpected.") from None
        return answer.status_code, body
