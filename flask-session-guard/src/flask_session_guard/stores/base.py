"""The one small interface every session store implements.

A store keeps :class:`SessionRecord` objects under a key (the session's public id,
a hash of the secret cookie id, so a copy of the store cannot be used to log in).
User data is kept per key as text, so that two requests changing different keys
never overwrite each other. Each store also keeps an index from account to its
sessions, so one account's sessions are listed without a scan. Stores know
nothing of Flask, cookies or JSON; they translate their driver's errors into
:class:`StoreUnavailable`.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, runtime_checkable

#: An update of one user-data key: new text, or ``None`` to remove the key.
Change = str | None


class StoreError(Exception):
    """Base of every error a store raises."""


class StoreUnavailable(StoreError):
    """The store cannot be reached or used right now; the request may be retried.

    The message names the failure (timeout, locked database) and never a key.
    """


#: An outage ends only after this many seconds without a failure: a partial outage
#: (some calls failing, others fine) is one outage, not a change of state per request.
OUTAGE_QUIET = 10.0


class OutageState:
    """Whether a store is in an outage: it starts at the first failure and ends at the
    first success that comes ``quiet`` seconds or more after the last failure.

    ``now`` is any clock in seconds (monotonic for the stores, the injected one for
    the audit trail). Thread-safe.
    """

    def __init__(self, quiet: float | None = None) -> None:
        self.quiet = OUTAGE_QUIET if quiet is None else quiet
        self._lock = threading.Lock()
        #: False from the first failure until the outage ends; read without the lock.
        self.available = True
        self._failures = 0
        self._started = 0.0
        self._last_failure = 0.0

    def fail(self, now: float) -> bool:
        """Count a failure; True if it starts an outage (the one to report)."""
        with self._lock:
            self._failures += 1
            self._last_failure = now
            if not self.available:
                return False
            self.available = False
            self._failures, self._started = 1, now
            return True

    def succeed(self, now: float) -> tuple[int, float] | None:
        """Note a success; when it ends the outage, how many failures it had and how
        long it lasted (first to last failure), else ``None``."""
        if self.available:  # the common case, without the lock
            return None
        with self._lock:
            if self.available or now - self._last_failure < self.quiet:
                return None
            self.available = True
            return self._failures, self._last_failure - self._started


#: While a store is in an outage, at most this many calls of one process wait on it
#: at once; the others answer 503 at once. A stalled store then holds a few threads of
#: a worker, never all of them, so /healthz and static files keep answering.
OUTAGE_CALLS_WAITING = 4


class WaitingCalls:
    """Admits store calls during an outage, at most ``limit`` at once (per process).

    ``count`` is read without the lock (the hot path: 0 when all is well). A call
    admitted in a thread that already holds one is not counted twice. Thread-safe.
    """

    def __init__(self, limit: int | None = None) -> None:
        self.limit = OUTAGE_CALLS_WAITING if limit is None else limit
        self.count = 0
        self._lock = threading.Lock()
        self._mine = threading.local()

    def admit(self) -> bool:
        """Let this thread's call wait on the store; False if ``limit`` already do."""
        depth: int = getattr(self._mine, "depth", 0)
        if depth == 0:
            with self._lock:
                if self.count >= self.limit:
                    return False
                self.count += 1
        self._mine.depth = depth + 1
        return True

    def release(self) -> None:
        """End this thread's admitted call, if it has one."""
        depth: int = getattr(self._mine, "depth", 0)
        if depth == 0:
            return
        self._mine.depth = depth - 1
        if depth == 1:
            with self._lock:
                self.count -= 1


class OutageLog:
    """One warning when a store becomes unavailable, one line when it is back.

    Not one per request: a store calls :meth:`failed` on every translated error and
    :meth:`succeeded` after every call that reached it; only changes of
    :class:`OutageState` are logged, the recovery with the count of failures.
    ``clock`` (default ``time.monotonic``) times the quiet interval; tests inject
    one. Thread-safe; each process keeps its own state.
    """

    def __init__(
        self,
        logger: logging.Logger,
        *,
        quiet: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = logger
        self._clock = clock
        self.state = OutageState(quiet)
        #: Calls waiting on the store while it is in an outage (see StoreGuard).
        self.waiting = WaitingCalls()

    @property
    def available(self) -> bool:
        """False from the first failure until the outage is over."""
        return self.state.available

    def failed(self, reason: str) -> None:
        if self.state.fail(self._clock()):
            self._log.warning(
                "session store unavailable: %s; answering 503 until it is back", reason
            )

    def unavailable(self, reason: str) -> StoreUnavailable:
        """Note the failure and return the error for the store to raise."""
        self.failed(reason)
        return StoreUnavailable(reason)

    def succeeded(self) -> None:
        state = self.state
        if state.available:  # the common case: no clock read
            return
        ended = state.succeed(self._clock())
        if ended is not None:
            failures, lasted = ended
            self._log.info(
                "session store available again (%d failed calls over %.1f s)", failures, lasted
            )


class StoreGuard:
    """``with guard:`` around a store call: a failure that ``classify`` describes (it
    answers a reason, or ``None`` for an error that is not an outage) is raised as
    :class:`StoreUnavailable` and noted in ``outages``; a success is noted too.

    During an outage only ``OUTAGE_CALLS_WAITING`` calls of this process may wait on
    the store at once; any other raises :class:`StoreUnavailable` at once, without
    counting as a failure of the store (a bulkhead: a stalled store cannot hold every
    thread of a worker).

    One instance serves every call and thread (it keeps no per-call state). A class
    rather than ``contextlib.contextmanager``: it runs on every request, and a
    generator-based one costs several times more.
    """

    __slots__ = ("_classify", "_outages", "_state", "_waiting")

    def __init__(self, outages: OutageLog, classify: Callable[[BaseException], str | None]) -> None:
        self._outages = outages
        self._state = outages.state
        self._waiting = outages.waiting
        self._classify = classify

    def __enter__(self) -> None:
        if not self._state.available and not self._waiting.admit():
            raise StoreUnavailable("store unavailable: other calls are already waiting for it")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        err: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._waiting.count:
            self._waiting.release()
        if err is None:
            self._outages.succeeded()
            return
        reason = self._classify(err)
        if reason is not None:
            raise self._outages.unavailable(reason) from err


class SessionExists(StoreError):
    """``create`` was asked for a key that is already taken."""


class SessionGone(StoreError):
    """The session was deleted, revoked or has expired; nothing was written."""


#: Why a session may be revoked: by its user or an operator, or to keep the account
#: within ``SESSION_MAX_PER_ACCOUNT``. Stores keep the reason with the mark.
REVOKE_REASONS = ("revoked", "session_limit")


@dataclass(slots=True)
class SessionRecord:
    """What the server keeps about one session. Times are POSIX seconds (UTC)."""

    key: str
    created_at: float
    last_activity: float
    #: Fixed at creation: ``created_at`` plus the absolute lifetime.
    absolute_at: float
    #: ``min(last_activity + idle timeout, absolute_at)``; the record is dead from then.
    expires_at: float
    csrf_secret: str
    #: True for a session started by ``create_session``; False for a pre-login one.
    authenticated: bool
    #: User data: key -> text (JSON, or a sealed value).
    data: dict[str, str] = field(default_factory=dict)
    #: The account the session belongs to (e.g. ``kite:AB1234``), indexed.
    account: str | None = None
    #: A short description of the browser that started it, and its IP address.
    device: str = ""
    ip: str = ""
    #: Ended by a revocation: kept until it would have expired so its holder is told.
    revoked: bool = False
    #: Why it was revoked (:data:`REVOKE_REASONS`), so its holder is told that
    #: (``session_limit``: the account went over ``SESSION_MAX_PER_ACCOUNT``).
    revoked_reason: str = ""

    def copy(self) -> SessionRecord:
        """A copy whose ``data`` can be changed without touching this one."""
        return dataclasses.replace(self, data=dict(self.data))

    def live(self, now: float) -> bool:
        """Neither expired nor revoked at ``now``."""
        return self.expires_at > now and not self.revoked


@dataclass(frozen=True, slots=True)
class Touch:
    """New activity stamp for a session: when, and the expiry that follows from it."""

    last_activity: float
    expires_at: float


#: Stored stamps up to this many seconds in a server's future are taken as a peer's
#: clock running a little ahead, and left alone; beyond it, they are rewritten.
CLOCK_SKEW = 2.0


@dataclass(frozen=True, slots=True)
class Refresh:
    """Record activity while reading, if the stored stamp is at least ``interval`` old.

    The new stamp is ``now`` and the new expiry ``min(now + idle_timeout, absolute_at)``.
    Reading and refreshing together keep a read to one store round trip.

    It also holds the clock policy (README "Clocks"): each server's clock says what
    time it is now; a stored stamp is believed only as far as it agrees. A record is
    read with no stamp after ``now`` and never more than ``idle_timeout`` left
    (:meth:`bound`); activity is always recordable (:meth:`touch`), even when the
    clock is behind the stored stamp; ``absolute_at`` is fixed at creation.
    """

    interval: float
    idle_timeout: float
    skew: float = CLOCK_SKEW

    def due(self, record: SessionRecord, now: float) -> Touch | None:
        """The touch to apply to ``record`` at ``now``, or ``None`` if not yet due."""
        if not record.live(now) or now - record.last_activity < self.interval:
            return None
        return self.touch(record, now)

    def touch(self, record: SessionRecord, now: float) -> Touch:
        """Activity at ``now``, whatever the clock did since the stored stamp: a clock
        behind it moves the stamp (and the expiry) back, never past the absolute end."""
        return Touch(now, min(now + self.idle_timeout, record.absolute_at))

    def bound(self, record: SessionRecord, now: float) -> Touch | None:
        """Bring a record just read within the clock policy at ``now``, in place.

        A stamp in the future (a clock stepped back, or written by a server whose clock
        is ahead) reads as ``now``, and the expiry as at most ``now + idle_timeout``:
        the remaining time is never above the idle timeout. Returns the touch that
        stores the bounded stamps when they were further off than ``skew`` (so the
        next reader agrees), else ``None``.
        """
        expires_at = record.expires_at
        if (
            record.last_activity <= now
            and expires_at <= now + self.idle_timeout
            and expires_at <= record.absolute_at
        ):
            return None  # within the policy already, as almost every record is
        cap = min(now + self.idle_timeout, record.absolute_at)
        off = record.last_activity - now > self.skew or expires_at - cap > self.skew
        record.last_activity = min(record.last_activity, now)
        record.expires_at = min(record.expires_at, cap)
        return Touch(now, cap) if off and record.live(now) else None


@runtime_checkable
class SessionStore(Protocol):
    """Keeps session records. Implementations are safe to share between threads."""

    def get(self, key: str, now: float, refresh: Refresh | None = None) -> SessionRecord | None:
        """The record under ``key``, or ``None``.

        The record may be expired or revoked (the caller checks ``live``); a store
        whose keys expire on their own returns ``None`` for those. With
        ``refresh``, activity of a live record is recorded in the same round trip
        when it is due, and the record returned carries the new stamp.
        """
        ...

    def create(self, record: SessionRecord) -> None:
        """Insert a new record; raises :class:`SessionExists` if the key is taken."""
        ...

    def update(
        self,
        key: str,
        now: float,
        changes: Mapping[str, Change],
        touch: Touch | None = None,
    ) -> bool:
        """Write only the named data keys and, if given, the activity stamp, atomically.

        Returns ``False`` and writes nothing when the session is gone, revoked or
        expired: a late write never brings a deleted session back.
        """
        ...

    def update_value(
        self, key: str, name: str, now: float, fn: Callable[[str | None], Change]
    ) -> Change:
        """Atomically replace data key ``name`` with ``fn(old)``; returns the new value.

        Concurrent calls on the same key are serialised, so no update is lost.
        Raises :class:`SessionGone` when the session is gone, revoked or expired.
        """
        ...

    def delete(self, key: str) -> None:
        """Remove the record; a missing key is not an error."""
        ...

    def revoke(self, key: str, now: float, reason: str = "revoked") -> bool:
        """Mark a live record revoked (kept until it expires); False if there was none.

        ``reason`` (one of :data:`REVOKE_REASONS`) comes back as the record's
        ``revoked_reason``.
        """
        ...

    def list_sessions(
        self, now: float, account: str | None = None, limit: int | None = None
    ) -> list[SessionRecord]:
        """Live records, of one account (one index look-up) or of all; newest first."""
        ...

    def count_live(self, now: float) -> int:
        """How many live sessions the store holds (the ``/metrics`` gauge, every scrape).

        Exact, and never a scan of every session: a counter or an index's cardinality,
        plus at most the sessions that expired since the last count.
        """
        ...

    def purge_expired(self, now: float) -> int:
        """Remove every expired record and return how many went (0 where keys expire alone)."""
        ...

    def ping(self) -> None:
        """One cheap round trip that reads and writes nothing (readiness checks).

        Raises :class:`StoreUnavailable` when the store does not answer.
        """
        ...

    def close(self) -> None:
        """Release connections; the store may be used again afterwards."""
        ...
