"""Bounded load test: many clients, each with its own session, on gunicorn and a store.

Starts a private redis-server (or, with ``--store sqlite``, a SQLite file in a
temporary folder) and the dashboard under gunicorn (2 workers) on free loopback
ports, runs CLIENTS concurrent clients for DURATION seconds, then has every
client check that each of its watchlist writes is present. Prints requests per
second, p50/p99 latency, lost writes, 5xx answers and connection errors; exits 1
unless the last three are all zero. Everything it starts is stopped by pid when
it ends, and it never runs longer than 60 s.

    python scripts/load.py [--duration 20] [--clients 32] [--workers 2] [--store redis|sqlite]

``make load`` runs it on each store; ``make test`` runs a 5-second version (test_load.py).
"""

from __future__ import annotations

import argparse
import random
import secrets
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
# The test helpers: the library's (tests.*) and the dashboard's.
sys.path[:0] = [str(ROOT), str(ROOT / "flask-session-guard")]

from tests.redis_server import RedisServer  # noqa: E402

from indian_dashboard.tests.emulated import dhan_account  # noqa: E402
from indian_dashboard.tests.servers import start_server  # noqa: E402

#: The whole run, set-up included, stops by itself within this many seconds.
HARD_LIMIT = 60.0
#: The dashboard keeps at most 200 symbols; clients stay below by removing some.
KEEP_AT_MOST = 150


@dataclass
class Tally:
    """What one client saw; merged at the end."""

    latencies: list[float] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)
    server_errors: int = 0
    connection_errors: int = 0
    unexpected: list[str] = field(default_factory=list)
    lost_writes: int = 0
    writes: int = 0


class Client:
    """One visitor with its own session, and the watchlist it expects to have."""

    def __init__(self, number: int, url: str, tally: Tally, seed: int) -> None:
        self.number = number
        self.url = url
        self.tally = tally
        self.http = requests.Session()
        self.token = ""
        self.expected: list[str] = []
        self.serial = 0
        self.random = random.Random(seed)

    def call(self, kind: str, method: str, path: str, **kwargs: Any) -> requests.Response | None:
        started = time.perf_counter()
        try:
            answer = self.http.request(
                method,
                self.url + path,
                headers={"X-CSRF-Token": self.token} if method != "GET" else {},
                timeout=10,
                **kwargs,
            )
        except requests.RequestException:
            self.tally.connection_errors += 1
            return None
        self.tally.latencies.append(time.perf_counter() - started)
        self.tally.by_kind[kind] = self.tally.by_kind.get(kind, 0) + 1
        if answer.status_code >= 500:
            self.tally.server_errors += 1
        return answer

    def connect(self) -> bool:
        answer = self.call("connect", "GET", "/api/session/csrf-token")
        if answer is None or answer.status_code != 200:
            return False
        self.token = answer.json()["csrf_token"]
        answer = self.call(
            "connect",
            "POST",
            "/api/broker/connect",
            # One account per client, as traders have: past SESSION_MAX_PER_ACCOUNT (10)
            # sessions of one account, a login ends the oldest.
            json={"broker": "dhan", "credentials": dhan_account(f"LD{self.number:04d}")},
        )
        if answer is None or answer.status_code != 200:
            return False
        self.token = answer.json()["csrf_token"]
        return True

    def step(self) -> None:
        roll = self.random.random()
        if roll < 0.45:
            self._expect_ok(self.call("read", "GET", "/api/watchlist"))
        elif roll < 0.6:
            self._expect_ok(self.call("read", "GET", "/api/session/info"))
        elif roll < 0.7:
            self._expect_ok(self.call("extend", "POST", "/api/session/extend"))
        elif len(self.expected) >= KEEP_AT_MOST or roll > 0.95:
            if self.expected:
                symbol = self.expected[self.random.randrange(len(self.expected))]
                answer = self.call("write", "DELETE", f"/api/watchlist/{symbol}")
                if self._expect_ok(answer):
                    self.expected.remove(symbol)
                self.tally.writes += 1
        else:
            self.serial += 1
            symbol = f"C{self.number}-{self.serial}"
            answer = self.call("write", "POST", "/api/watchlist", json={"symbol": symbol})
            if self._expect_ok(answer):
                self.expected.append(symbol)
            self.tally.writes += 1

    def _expect_ok(self, answer: requests.Response | None) -> bool:
        if answer is None:
            return False
        if answer.status_code != 200:
            if len(self.tally.unexpected) < 10:
                self.tally.unexpected.append(f"{answer.status_code} {answer.text[:120]}")
            return False
        return True

    def verify(self) -> None:
        """Every acknowledged write is there, in order, and nothing else."""
        answer = self.call("verify", "GET", "/api/watchlist")
        if answer is None or answer.status_code != 200:
            self.tally.lost_writes += len(self.expected) or 1
            return
        kept = answer.json()["watchlist"]
        missing = set(self.expected) - set(kept)
        extra = set(kept) - set(self.expected)
        self.tally.lost_writes += len(missing) + len(extra)

    def close(self) -> None:
        self.http.close()


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


def run(duration: float, clients: int, workers: int, seed: int, store: str = "redis") -> int:
    """Run the load test; returns the exit status (0 when nothing was lost or failed)."""
    with tempfile.TemporaryDirectory(prefix="dashboard-load-") as tmp:
        workdir = Path(tmp)
        if store == "sqlite":
            app = start_server(
                workdir,
                workers=workers,
                env={
                    "FLASK_SECRET_KEY": secrets.token_urlsafe(32),
                    "SESSION_STORE_URL": f"sqlite:///{workdir / 'load.sqlite3'}",
                },
            )
            try:
                return _drive(app.url, duration, clients, seed, None)
            finally:
                app.stop()
        redis_server = RedisServer(workdir / "redis")
        redis_server.start()
        try:
            app = start_server(
                workdir,
                workers=workers,
                env={
                    "FLASK_SECRET_KEY": secrets.token_urlsafe(32),
                    "SESSION_STORE_URL": redis_server.url,
                },
            )
            try:
                return _drive(app.url, duration, clients, seed, redis_server)
            finally:
                app.stop()
        finally:
            redis_server.stop()


def _drive(
    url: str, duration: float, clients: int, seed: int, redis_server: RedisServer | None
) -> int:
    tallies = [Tally() for _ in range(clients)]
    visitors = [Client(n, url, tallies[n], seed + n) for n in range(clients)]
    failed_connects = 0
    stop_at = 0.0
    ready = threading.Barrier(clients + 1)

    def work(visitor: Client) -> None:
        nonlocal failed_connects
        ok = visitor.connect()
        if not ok:
            failed_connects += 1
        ready.wait()
        while ok and time.monotonic() < stop_at:
            visitor.step()
        if ok:
            visitor.verify()
        visitor.close()

    threads = [threading.Thread(target=work, args=(v,), daemon=True) for v in visitors]
    for thread in threads:
        thread.start()
    stats = redis_server.client() if redis_server is not None else None
    if stats is not None:
        stats.config_resetstat()
    stop_at = time.monotonic() + duration
    ready.wait()
    started = time.monotonic()
    for thread in threads:
        thread.join(timeout=max(1.0, stop_at - time.monotonic() + 15))
    elapsed = min(time.monotonic(), stop_at) - started
    info = stats.info("stats") if stats is not None else None
    if stats is not None:
        stats.close()

    latencies = sorted(x for t in tallies for x in t.latencies)
    by_kind: dict[str, int] = {}
    for tally in tallies:
        for kind, count in tally.by_kind.items():
            by_kind[kind] = by_kind.get(kind, 0) + count
    measured = sum(count for kind, count in by_kind.items() if kind not in ("connect", "verify"))
    lost = sum(t.lost_writes for t in tallies)
    server_errors = sum(t.server_errors for t in tallies)
    connection_errors = sum(t.connection_errors for t in tallies)
    writes = sum(t.writes for t in tallies)
    unexpected = [u for t in tallies for u in t.unexpected][:5]

    print(f"clients            {clients} (each its own session), {elapsed:.1f} s")
    print(f"requests           {measured} ({', '.join(f'{k} {v}' for k, v in by_kind.items())})")
    print(f"requests/second    {measured / elapsed:.0f}")
    print(f"latency p50        {_percentile(latencies, 0.50) * 1000:.1f} ms")
    print(f"latency p99        {_percentile(latencies, 0.99) * 1000:.1f} ms")
    print(f"watchlist writes   {writes}")
    print(f"lost writes        {lost}")
    print(f"5xx answers        {server_errors}")
    print(f"connection errors  {connection_errors}")
    print(f"failed connects    {failed_connects}")
    if info is not None:
        print(f"redis commands     {info['total_commands_processed']} (incl. those run in scripts)")
    for line in unexpected:
        print(f"unexpected answer  {line}")
    clean = lost == 0 and server_errors == 0 and connection_errors == 0 and failed_connects == 0
    print("result             " + ("OK" if clean else "FAILED"))
    return 0 if clean else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load (max 45)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    parser.add_argument(
        "--store", choices=("redis", "sqlite"), default="redis", help="session store"
    )
    args = parser.parse_args(argv)
    if not 0 < args.duration <= 45:
        parser.error("--duration must be in (0, 45] so that the run ends within 60 s")
    if not 1 <= args.clients <= 500:
        parser.error("--clients must be between 1 and 500")
    # A last resort: whatever hangs, the run ends (children are stopped by the
    # finally blocks, which SIGALRM's exception unwinds through).
    signal.signal(signal.SIGALRM, _out_of_time)
    signal.alarm(int(HARD_LIMIT))
    try:
        return run(args.duration, args.clients, args.workers, args.seed, args.store)
    finally:
        signal.alarm(0)


def _out_of_time(signum: int, frame: object) -> None:
    raise TimeoutError(f"load test exceeded {HARD_LIMIT:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
