"""A load of logged-in traders for the Redis fault tests, and what it proves afterwards.

Each trader (a thread with its own session) adds watchlist symbols and reads its
watchlist in a loop; one more thread logs new traders in and logs some out. Every
answer is recorded with its time, so a test can measure the outage window around
a fault, and every write the server acknowledged (200) is remembered, so that
:meth:`TraderLoad.lost` can check afterwards that none was lost: each
acknowledged symbol is in its watchlist, each acknowledged login works, each
acknowledged logout stays logged out.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import requests

from .emulated import dhan_account
from .http_visitor import HttpVisitor


@dataclass(frozen=True)
class Answer:
    """One request: when it started and ended (monotonic seconds), and its outcome."""

    started: float
    ended: float
    kind: str
    #: HTTP status, or 0 for a connection error or client timeout (no answer).
    status: int
    retry_after: str | None

    @property
    def seconds(self) -> float:
        return self.ended - self.started


@dataclass
class Trader:
    visitor: HttpVisitor
    acknowledged: list[str] = field(default_factory=list)


class TraderLoad:
    """``traders`` logged-in clients of ``base_url`` and one login/logout client."""

    def __init__(
        self,
        base_url: str,
        traders: int = 6,
        *,
        timeout: float = 10.0,
        make_visitor: Callable[[str], HttpVisitor] | None = None,
    ) -> None:
        self.base_url = base_url
        self._make = make_visitor or (lambda url: HttpVisitor(url, timeout=timeout))
        self._lock = threading.Lock()
        self._accounts = 0
        self.traders = [Trader(self._new()) for _ in range(traders)]
        for trader in self.traders:
            self._connect(trader.visitor)
        self.answers: list[Answer] = []
        self.logins: list[HttpVisitor] = []  # acknowledged logins, still logged in
        self.logouts: list[HttpVisitor] = []  # acknowledged logouts
        self.unknown: list[HttpVisitor] = []  # logouts answered with an error
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _new(self) -> HttpVisitor:
        return self._make(self.base_url)

    def _connect(self, visitor: HttpVisitor) -> None:
        """Log ``visitor`` in with an account of its own, as traders have: past
        SESSION_MAX_PER_ACCOUNT sessions of one account a login ends the oldest."""
        with self._lock:
            self._accounts += 1
            number = self._accounts
        visitor.connect(credentials=dhan_account(f"FO{number:04d}"))

    def _record(self, started: float, kind: str, answer: requests.Response | None) -> int:
        status = 0 if answer is None else answer.status_code
        retry_after = None if answer is None else answer.headers.get("Retry-After")
        with self._lock:
            self.answers.append(Answer(started, time.monotonic(), kind, status, retry_after))
        return status

    def _call(self, kind: str, send: Callable[[], requests.Response]) -> int:
        started = time.monotonic()
        try:
            answer: requests.Response | None = send()
        except requests.RequestException:
            answer = None
        return self._record(started, kind, answer)

    def _trade(self, number: int, trader: Trader) -> None:
        count = 0
        while not self._stop.is_set() and count < 190:  # the watchlist holds 200
            symbol = f"T{number}S{count}"
            status = self._call(
                "watchlist-add",
                partial(trader.visitor.post, "/api/watchlist", json={"symbol": symbol}),
            )
            if status == 200:
                trader.acknowledged.append(symbol)
                count += 1
            self._call("watchlist-read", lambda: trader.visitor.get("/api/watchlist"))
            time.sleep(0.01)

    def _log_in_and_out(self) -> None:
        while not self._stop.is_set():
            visitor = self._new()
            started = time.monotonic()
            try:
                self._connect(visitor)  # a pre-login token, then the broker login
            except requests.HTTPError as err:
                self._record(started, "login", err.response)
                visitor.close()
                continue
            except requests.RequestException:
                self._record(started, "login", None)
                visitor.close()
                continue
            with self._lock:
                self.answers.append(Answer(started, time.monotonic(), "login", 200, None))
                self.logins.append(visitor)
                leaving = self.logins.pop(0) if len(self.logins) > 3 else None
            if leaving is not None:
                if self._call("logout", partial(leaving.post, "/api/session/clear")) == 200:
                    self.logouts.append(leaving)
                else:
                    self.unknown.append(leaving)  # its logout may or may not have landed
            time.sleep(0.05)

    def start(self) -> None:
        self._threads = [
            threading.Thread(target=self._trade, args=(n, t), daemon=True)
            for n, t in enumerate(self.traders)
        ]
        self._threads.append(threading.Thread(target=self._log_in_and_out, daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def close(self) -> None:
        self.stop()
        for visitor in (
            [t.visitor for t in self.traders] + self.logins + self.logouts + self.unknown
        ):
            visitor.close()

    # -- afterwards ------------------------------------------------------------------

    def lost(self) -> list[str]:
        """Acknowledged writes that are not there (read once the store answers)."""
        missing: list[str] = []
        for number, trader in enumerate(self.traders):
            stored = _settled(partial(trader.visitor.get, "/api/watchlist"))
            if stored.status_code != 200:
                missing.append(f"trader {number}: session lost ({stored.status_code})")
                continue
            gone = set(trader.acknowledged) - set(stored.json()["watchlist"])
            missing += [f"trader {number}: {symbol}" for symbol in sorted(gone)]
        for visitor in self.logins:
            if _settled(partial(visitor.get, "/api/session/info")).status_code != 200:
                missing.append("an acknowledged login")
        for visitor in self.logouts:
            if _settled(partial(visitor.get, "/api/session/info")).status_code != 401:
                missing.append("an acknowledged logout (the session came back)")
        return missing

    def window(self, fault: float) -> Outage:
        """The failed answers around a fault at monotonic time ``fault``."""
        return Outage.of(self.answers, fault)


def _settled(send: Callable[[], requests.Response], timeout: float = 15.0) -> requests.Response:
    """The first answer that is not a 503 (the store may still be coming back)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = send()
        if answer.status_code != 503 or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


@dataclass(frozen=True)
class Outage:
    """What clients saw around a fault."""

    #: Seconds from the fault to the end of the last failed answer (0: none failed).
    seconds: float
    failed: int
    total: int
    #: Failed answers by status (0: no answer at all).
    statuses: dict[int, int]
    #: Failed answers without ``Retry-After``.
    without_retry_after: int
    #: Seconds of the slowest answer, and the median and 99th percentile.
    slowest: float
    p50: float
    p99: float

    @classmethod
    def of(cls, answers: list[Answer], fault: float) -> Outage:
        failed = [a for a in answers if a.status != 200 and a.ended >= fault]
        statuses: dict[int, int] = {}
        for answer in failed:
            statuses[answer.status] = statuses.get(answer.status, 0) + 1
        times = sorted(a.seconds for a in answers) or [0.0]
        return cls(
            seconds=max((a.ended - fault for a in failed), default=0.0),
            failed=len(failed),
            total=len(answers),
            statuses=statuses,
            without_retry_after=sum(1 for a in failed if a.retry_after is None),
            slowest=times[-1],
            p50=statistics.median(times),
            p99=times[min(len(times) - 1, int(len(times) * 0.99))],
        )

    def summary(self) -> dict[str, Any]:
        return {
            "outage_s": round(self.seconds, 2),
            "failed": self.failed,
            "answers": self.total,
            "statuses": self.statuses,
            "p50_ms": round(self.p50 * 1000, 1),
            "p99_ms": round(self.p99 * 1000, 1),
            "slowest_ms": round(self.slowest * 1000, 1),
        }
