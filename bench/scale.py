"""``make bench-scale``: does a request cost more when many sessions are stored?

For SQLite and Redis: request cost (µs in process, test client) with 10^3, 10^5
and 10^6 sessions already stored, bulk-inserted directly (one SQL transaction;
one server-side loop in Redis) with records shaped like real ones. Then, on
SQLite, 10^6 expired rows are purged by a separate process (as the ``sessions
purge-expired`` command would) while this process keeps making requests: the
purge's time, and how the requests fared meanwhile. Also the memory one stored
session takes in Redis (INFO memory over 10^6, and MEMORY USAGE of a real one)
and the size of each app's session cookie. Writes ``bench/scale.json`` and a table.

    python -m bench.scale [--max 1000000]
"""

from __future__ import annotations

import argparse
import json
import secrets
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import redis

from .apps import APPS, BY_NAME, BenchEnv
from .clients import InProcessClient
from .run import ROOT, private_redis

OUT = ROOT / "bench" / "scale.json"
SIZES = (1_000, 100_000, 1_000_000)
ROUNDS, ITERATIONS = 9, 200
#: A real record's fields and sizes: times, a CSRF secret, device, IP, one data key.
_SQL_ROW = (
    "INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, 1, NULL, 'Firefox on Linux', '127.0.0.1', 0)"
)
#: KEYS: none. ARGV: prefix, first, last, now, expires, absolute, ttl ms, secret.
_REDIS_FILL = """
for i = tonumber(ARGV[2]), tonumber(ARGV[3]) do
  local key = ARGV[1] .. string.format('%022d', i)
  redis.call('HSET', key, 'c', ARGV[4], 'l', ARGV[4], 'a', ARGV[6], 'e', ARGV[5], 's', ARGV[8],
    'u', '1', 'v', 'Firefox on Linux', 'p', '127.0.0.1', 'd:value', '0')
  redis.call('PEXPIRE', key, ARGV[7])
end
return 1
"""


def fill_sqlite(path: Path, first: int, last: int, *, expired: bool = False) -> None:
    now = time.time()
    expires = now - 60 if expired else now + 3600
    secret = secrets.token_urlsafe(32)
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("BEGIN")
        conn.executemany(
            _SQL_ROW,
            ((f"{i:022d}", now, now, now + 43200, expires, secret) for i in range(first, last)),
        )
        conn.executemany(
            "INSERT INTO session_data VALUES (?, 'value', '0')",
            ((f"{i:022d}",) for i in range(first, last)),
        )
        conn.execute("COMMIT")
    conn.close()


def fill_redis(client: Any, first: int, last: int) -> None:
    now = time.time()
    step = 50_000  # one script call per step keeps Redis answering others in between
    for start in range(first, last, step):
        end = min(start + step, last) - 1
        client.eval(
            _REDIS_FILL,
            0,
            "session:",
            start,
            end,
            repr(now),
            repr(now + 3600),
            repr(now + 43200),
            3_600_000,
            secrets.token_urlsafe(32),
        )


def request_cost(
    clients: dict[str, InProcessClient],
) -> dict[str, dict[str, dict[str, float]]]:
    """µs per request of each client, rounds interleaved; bare Flask is among them, so
    each figure also comes as a multiple of bare Flask's in the same rounds (fastest
    round over fastest round: the least disturbed by a shared machine's load), which
    cancels the drift of that load from one size to the next."""
    samples: dict[str, dict[str, list[float]]] = {n: {"read": [], "write": []} for n in clients}
    for _ in range(ROUNDS):
        for name, client in clients.items():
            for endpoint, call in (("read", client.read), ("write", client.write)):
                started = time.perf_counter_ns()
                statuses = [call() for _ in range(ITERATIONS)]
                elapsed = time.perf_counter_ns() - started
                if any(s != 200 for s in statuses):
                    raise RuntimeError(f"{name} {endpoint}: answers other than 200 at scale")
                samples[name][endpoint].append(elapsed / ITERATIONS / 1000)
    bare = {e: min(v) for e, v in samples["bare"].items()}
    return {
        name: {
            e: {
                "median": statistics.median(v),
                "min": min(v),
                "max": max(v),
                "x_bare": min(v) / bare[e],
            }
            for e, v in by_endpoint.items()
        }
        for name, by_endpoint in samples.items()
        if name != "bare"
    }


def purge_while_serving(path: Path, client: InProcessClient, rows: int) -> dict[str, Any]:
    """Expire ``rows`` rows, purge them from another process, keep requesting meanwhile."""
    fill_sqlite(path, 10_000_000, 10_000_000 + rows, expired=True)
    purge = (
        "import sys, time\n"
        "from flask_session_guard.stores.sqlite import SQLiteSessionStore\n"
        "store = SQLiteSessionStore(sys.argv[1])\n"
        "started = time.time()\n"
        "removed = store.purge_expired(started)\n"
        "print(removed, started, time.time())\n"
    )
    #: (start, seconds) of every request, kept if it overlapped the purge.
    requests: list[tuple[float, float]] = []
    failures = 0
    process = subprocess.Popen(
        [sys.executable, "-c", purge, str(path)], stdout=subprocess.PIPE, text=True
    )
    stop = threading.Event()

    def serve() -> None:
        nonlocal failures
        calls = (client.read, client.write)
        i = 0
        while not stop.is_set():
            started = time.time()
            if calls[i % 2]() != 200:
                failures += 1
            requests.append((started, time.time() - started))
            i += 1

    worker = threading.Thread(target=serve)
    worker.start()
    try:
        out, _ = process.communicate(timeout=240)
    finally:
        stop.set()
        worker.join()
    removed, purge_start, purge_end = out.split()
    began, ended = float(purge_start), float(purge_end)
    latencies = sorted(s * 1000 for t, s in requests if t < ended and t + s > began)
    return {
        "rows": rows,
        "removed": int(removed),
        "seconds": ended - began,
        "requests_meanwhile": len(latencies),
        "failed_meanwhile": failures,
        "p50_ms": latencies[len(latencies) // 2],
        "p99_ms": latencies[int(len(latencies) * 0.99)],
        "max_ms": latencies[-1],
    }


def cookie_sizes(env: BenchEnv) -> dict[str, dict[str, int]]:
    sizes: dict[str, dict[str, int]] = {}
    for spec in APPS:
        if spec.name == "bare":
            continue
        app = spec.build(env)
        if spec.kind == "django":
            from django.test import Client

            answer = Client().get("/start")
            cookies = [m.OutputString() for m in answer.cookies.values()]
        else:
            answer = app.test_client().get("/start")
            cookies = answer.headers.getlist("Set-Cookie")
        values = [c.split(";")[0].split("=", 1)[1] for c in cookies]
        sizes[spec.name] = {
            "value_bytes": sum(len(v) for v in values),
            "set_cookie_bytes": sum(len(c) for c in cookies),
            "cookies": len(cookies),
        }
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--max", type=int, default=SIZES[-1], help="largest size (default 10^6)")
    a = parser.parse_args(argv)
    sizes = [n for n in SIZES if n <= a.max]
    results: dict[str, Any] = {"sizes": sizes, "cost": {"ours-sqlite": {}, "ours-redis": {}}}
    started = time.monotonic()
    with private_redis() as (server, workdir):
        env = BenchEnv(f"redis://127.0.0.1:{server.port}", workdir)
        clients = {}
        for name in ("ours-sqlite", "ours-redis", "bare"):
            spec = BY_NAME[name]
            clients[name] = InProcessClient(spec, spec.build(env))
            clients[name].start()
        sqlite_path = workdir / "ours.sqlite3"
        admin = server.client(timeout=60)
        redis_db = redis.Redis.from_url(env.redis_url(1), decode_responses=True, socket_timeout=60)
        before = int(admin.info("memory")["used_memory"])
        stored = 0
        for n in sizes:
            print(f"bench-scale: {n:,} sessions stored", flush=True)
            t = time.perf_counter()
            fill_sqlite(sqlite_path, stored, n)
            fill_redis(redis_db, stored, n)
            results.setdefault("fill_seconds", {})[str(n)] = round(time.perf_counter() - t, 1)
            stored = n
            for name, cost in request_cost(clients).items():
                results["cost"][name][str(n)] = cost
        after = int(admin.info("memory")["used_memory"])
        real_key = next(
            k for k in redis_db.scan_iter("session:*", count=1000) if not k[8:].isdigit()
        )
        results["redis_memory"] = {
            "sessions": stored,
            "used_memory_bytes_per_session": (after - before) / stored,
            "memory_usage_real_session_bytes": int(redis_db.memory_usage(real_key)),
            "keys": int(redis_db.dbsize()),
        }
        redis_db.close()
        results["cookies"] = cookie_sizes(env)
        print(f"bench-scale: purging {stored:,} expired SQLite rows while serving", flush=True)
        results["purge"] = purge_while_serving(sqlite_path, clients["ours-sqlite"], stored)
    results["seconds"] = round(time.monotonic() - started, 1)
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    return 0


def table(r: dict[str, Any]) -> str:
    lines = [
        "| store | sessions stored | GET µs (min-max) | POST µs (min-max) | GET, POST min x bare |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, by_size in r["cost"].items():
        for n, cost in by_size.items():
            cells = [f"{c['median']:.0f} ({c['min']:.0f}-{c['max']:.0f})" for c in cost.values()]
            ratios = ", ".join(f"{c['x_bare']:.2f}" for c in cost.values())
            lines.append(f"| {name} | {int(n):,} | {cells[0]} | {cells[1]} | {ratios} |")
    p, m = r["purge"], r["redis_memory"]
    lines += [
        "",
        f"SQLite purge of {p['rows']:,} expired rows: {p['seconds']:.1f} s"
        f" ({p['removed']:,} removed);"
        f" meanwhile {p['requests_meanwhile']:,} requests, {p['failed_meanwhile']} failed,"
        f" p50 {p['p50_ms']:.2f} ms, p99 {p['p99_ms']:.2f} ms, max {p['max_ms']:.0f} ms.",
        f"Redis memory per stored session: {m['used_memory_bytes_per_session']:.0f} bytes"
        f" (INFO used_memory over {m['sessions']:,}); MEMORY USAGE of a real one:"
        f" {m['memory_usage_real_session_bytes']} bytes.",
        "",
        "| app | cookie value bytes | Set-Cookie bytes | cookies |",
        "|---|---:|---:|---:|",
    ]
    for name, c in r["cookies"].items():
        lines.append(f"| {name} | {c['value_bytes']} | {c['set_cookie_bytes']} | {c['cookies']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
