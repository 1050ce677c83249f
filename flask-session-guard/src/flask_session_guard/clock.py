"""The clock every expiry decision reads.

Production uses :class:`SystemClock`; tests inject :class:`ManualClock` and move it
instead of sleeping. Both return aware UTC datetimes; the session layer turns them
into POSIX seconds once per decision.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Protocol

UTC = timezone.utc


class Clock(Protocol):
    """Anything with ``now()`` returning an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to; for tests.

    Not thread-safe for concurrent ``advance`` calls, which tests do not need.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2024, 2, 18, 10, 0, 0, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock by ``seconds``: forward, or back when negative (a clock step)."""
        self._now += timedelta(seconds=seconds)


def timestamp(clock: Clock) -> float:
    """POSIX seconds of ``clock.now()``."""
    return clock.now().timestamp()


def isoformat(ts: float) -> str:
    """ISO 8601 in UTC with an explicit offset, to the second."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")
