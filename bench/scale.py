"""``make bench-scale``: does a request cost more when many sessions are stored?

For SQLite, Redis and PostgreSQL: request cost (µs in process, test client) with
10^3, 10^5 and 10^6 sessions already stored, bulk-inserted directly (one SQL
transaction; one server-side loop in Redis; ``generate_series`` in PostgreSQL,
then VACUUM ANALYZE as autovacuum would) with records shaped like real ones, and
the time of a live count at each size. Then, on SQLite and on PostgreSQL, 10^6
expired rows are purged by a separate process (as the ``sessions purge-expired``
command would) while this process keeps making requests: the purge's time, and
how the requests fared meanwhile. Also the memory one stored session takes in
Redis (INFO memory over 10^6, and MEMORY USAGE of a real one), the disk it takes
in PostgreSQL (tables and indexes over 10^6), and the size of each app's session
cookie. Writes ``bench/scale.json`` and a table.

    python -m bench.scale [--max 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import redis

from .apps import APPS, BY_NAME, BenchEnv
from .clients import InProcessClient
from .run import ROOT, private_postgres, private_redis

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
  local key = ARGV[1] .. '{' .. string.format('%022d', i) .. '}'
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


def fill_postgres(url: str, first: int, last: int, *, expired: bool = False) -> None:
    """Rows like real ones in the store's default tables (which the app has made)."""
    now = time.time()
    expires = now - 60 if expired else now + 3600
    with psycopg.connect(url, autocommit=True) as conn:
        with conn.transaction():
            conn.execute(
                "INSERT INTO public.guard_sessions (id, created_at, last_activity, absolute_at,"
                " expires_at, csrf_secret, authenticated, device, ip)"
                " SELECT lpad(i::text, 22, '0'), %(now)s, %(now)s, %(absolute)s, %(expires)s,"
                " %(secret)s, true, 'Firefox on Linux', '127.0.0.1'"
                " FROM generate_series(%(first)s::int, %(last)s::int) i",
                {
                    "now": now,
                    "absolute": now + 43200,
                    "expires": expires,
                    "secret": secrets.token_urlsafe(32),
                    "first": first,
                    "last": last - 1,
                },
            )
            conn.execute(
                "INSERT INTO public.guard_session_data SELECT lpad(i::text, 22, '0'), 'value', '0'"
                " FROM generate_series(%s::int, %s::int) i",
                (first, last - 1),
            )
        conn.execute("VACUUM ANALYZE public.guard_sessions, public.guard_session_data")


def postgres_bytes(url: str) -> int:
    """Disk taken by the store's tables and their indexes."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT pg_total_relation_size('public.guard_sessions')"
            " + pg_total_relation_size('public.guard_session_data')"
        ).fetchone()
    return int(row[0]) if row else 0


def count_live_ms(store: Any) -> float:
    """The fastest of five ``count_live`` calls, in ms (the live gauge's cost)."""
    times = []
    for _ in range(5):
        started = time.perf_counter()
        store.count_live(time.time())
        times.append((time.perf_counter() - started) * 1000)
    return min(times)


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


PURGE_SQLITE = (
    "import sys, time\n"
    "from flask_session_guard.stores.sqlite import SQLiteSessionStore\n"
    "store = SQLiteSessionStore(sys.argv[1])\n"
    "started = time.time()\n"
    "removed = store.purge_expired(started)\n"
    "print(removed, started, time.time())\n"
)
PURGE_POSTGRES = (
    "import sys, time\n"
    "from flask_session_guard.stores.postgres import PostgresSessionStore\n"
    "store = PostgresSessionStore.from_url(sys.argv[1], instance_path='')\n"
    "started = time.time()\n"
    "removed = store.purge_expired(started)\n"
    "print(removed, started, time.time())\n"
    "store.close()\n"
)


def purge_while_serving(
    purge: str, target: str, client: InProcessClient, rows: int
) -> dict[str, Any]:
    """Purge (the ``purge`` script on ``target``, ``rows`` expired rows already stored)
    from another process, and keep requesting meanwhile."""
    #: (start, seconds) of every request, kept if it overlapped the purge.
    requests: list[tuple[float, float]] = []
    failures = 0
    process = subprocess.Popen(
        [sys.executable, "-c", purge, target], stdout=subprocess.PIPE, text=True
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
    stores = ("ours-sqlite", "ours-redis", "ours-postgres")
    results: dict[str, Any] = {"sizes": sizes, "cost": {name: {} for name in stores}}
    started = time.monotonic()
    load_at_start = os.getloadavg()
    with private_redis() as (server, workdir), private_postgres() as postgres:
        env = BenchEnv(f"redis://127.0.0.1:{server.port}", workdir, postgres.url())
        clients = {}
        for name in (*stores, "bare"):
            spec = BY_NAME[name]
            clients[name] = InProcessClient(spec, spec.build(env))
            clients[name].start()
        sqlite_path = workdir / "ours.sqlite3"
        admin = server.client(timeout=60)
        redis_db = redis.Redis.from_url(env.redis_url(1), decode_responses=True, socket_timeout=60)
        before = int(admin.info("memory")["used_memory"])
        pg_before = postgres_bytes(env.postgres_url)
        stored = 0
        for n in sizes:
            print(f"bench-scale: {n:,} sessions stored", flush=True)
            t = time.perf_counter()
            fill_sqlite(sqlite_path, stored, n)
            fill_redis(redis_db, stored, n)
            fill_postgres(env.postgres_url, stored, n)
            results.setdefault("fill_seconds", {})[str(n)] = round(time.perf_counter() - t, 1)
            stored = n
            for name, cost in request_cost(clients).items():
                results["cost"][name][str(n)] = cost
            results.setdefault("count_live_ms", {})[str(n)] = {
                name: count_live_ms(clients[name].store())
                for name in ("ours-sqlite", "ours-postgres")
            }
        after = int(admin.info("memory")["used_memory"])
        real_key = next(
            k for k in redis_db.scan_iter("session:{*", count=1000) if not k[9:-1].isdigit()
        )
        results["redis_memory"] = {
            "sessions": stored,
            "used_memory_bytes_per_session": (after - before) / stored,
            "memory_usage_real_session_bytes": int(redis_db.memory_usage(real_key)),
            "keys": int(redis_db.dbsize()),
        }
        redis_db.close()
        results["postgres_disk"] = {
            "sessions": stored,
            "bytes_per_session": (postgres_bytes(env.postgres_url) - pg_before) / stored,
        }
        results["cookies"] = cookie_sizes(env)
        print(f"bench-scale: purging {stored:,} expired SQLite rows while serving", flush=True)
        fill_sqlite(sqlite_path, 10_000_000, 10_000_000 + stored, expired=True)
        results["purge"] = purge_while_serving(
            PURGE_SQLITE, str(sqlite_path), clients["ours-sqlite"], stored
        )
        print(f"bench-scale: purging {stored:,} expired PostgreSQL rows while serving", flush=True)
        fill_postgres(env.postgres_url, 10_000_000, 10_000_000 + stored, expired=True)
        results["purge_postgres"] = purge_while_serving(
            PURGE_POSTGRES, env.postgres_url, clients["ours-postgres"], stored
        )
        for client in clients.values():
            client.close()
    results["seconds"] = round(time.monotonic() - started, 1)
    results["load_average"] = {"start": load_at_start, "end": os.getloadavg()}
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
    m, disk = r["redis_memory"], r["postgres_disk"]
    lines += ["", "| sessions stored | live count, SQLite ms | live count, PostgreSQL ms |"]
    lines += ["|---:|---:|---:|"]
    for n, by in r["count_live_ms"].items():
        lines.append(f"| {int(n):,} | {by['ours-sqlite']:.1f} | {by['ours-postgres']:.1f} |")
    lines.append("")
    for label, p in (("SQLite", r["purge"]), ("PostgreSQL", r["purge_postgres"])):
        lines.append(
            f"{label} purge of {p['rows']:,} expired rows: {p['seconds']:.1f} s"
            f" ({p['removed']:,} removed);"
            f" meanwhile {p['requests_meanwhile']:,} requests, {p['failed_meanwhile']} failed,"
            f" p50 {p['p50_ms']:.2f} ms, p99 {p['p99_ms']:.2f} ms, max {p['max_ms']:.0f} ms."
        )
    lines += [
        f"Redis memory per stored session: {m['used_memory_bytes_per_session']:.0f} bytes"
        f" (INFO used_memory over {m['sessions']:,}); MEMORY USAGE of a real one:"
        f" {m['memory_usage_real_session_bytes']} bytes.",
        f"PostgreSQL disk per stored session: {disk['bytes_per_session']:.0f} bytes"
        f" (tables and indexes over {disk['sessions']:,}).",
        f"Load average (1, 5, 15 min) at start {_load(r['load_average']['start'])},"
        f" at end {_load(r['load_average']['end'])}.",
        "",
        "| app | cookie value bytes | Set-Cookie bytes | cookies |",
        "|---|---:|---:|---:|",
    ]
    for name, c in r["cookies"].items():
        lines.append(f"| {name} | {c['value_bytes']} | {c['set_cookie_bytes']} | {c['cookies']} |")
    return "\n".join(lines)


def _load(values: list[float]) -> str:
    return ", ".join(f"{x:.1f}" for x in values)


if __name__ == "__main__":
    sys.exit(main())
