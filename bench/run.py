"""``make bench``: this project beside its peers, in process and over HTTP, in one run.

Starts its own redis-server and PostgreSQL server (initdb into its work folder,
durable default settings) on free loopback ports, then measures every app of
:data:`bench.apps.APPS`, interleaved round by round so that machine noise hits
all alike: microseconds per request under each framework's test client, Redis
commands and round trips per request, then requests per second and p99 latency
under gunicorn (2 sync workers) loaded by wrk (4 connections, each a client with
its own session) from a second process. Prints a table and writes
``bench/results.json`` and ``docs/img/benchmarks.png``. Everything it starts is
stopped by pid; the whole run is bounded in time.

    python -m bench.run [--rounds 7] [--iterations 300] [--http-rounds 3] [--duration 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

# The library's test helpers (a private redis-server, process stops) live beside its tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "flask-session-guard"))

from tests.postgres_server import PostgresServer, postgres_bindir
from tests.processes import stop_process
from tests.redis_server import RedisServer, recorded_commands

from .apps import APPS, AppSpec, BenchEnv
from .clients import InProcessClient

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
PLOT = ROOT / "docs" / "img" / "benchmarks.png"
WRK_SCRIPT = Path(__file__).resolve().parent / "wrk_client.lua"
ENDPOINTS = {"read": ("GET", "/read"), "write": ("POST", "/write")}
CONNECTIONS = 4
WARMUP = 200
#: Redis commands that change data: on a read they mean "written although nothing changed".
WRITE_COMMANDS = frozenset(
    {"set", "setex", "psetex", "hset", "hmset", "hdel", "del", "unlink", "expire", "pexpire"}
)
#: Client commands that are ours, not the app's (the counting itself).
NOT_THE_APP = ("info", "config", "config|resetstat", "client", "client|setinfo", "hello")


@dataclass(frozen=True)
class Settings:
    rounds: int
    iterations: int
    http_rounds: int
    duration: int


def spread(values: list[float]) -> dict[str, float]:
    """Median of rounds with min and max."""
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "rounds": len(values),
    }


def rotated(round_number: int) -> list[AppSpec]:
    """The apps in a different order each round, so none is always measured first."""
    shift = round_number % len(APPS)
    return [*APPS[shift:], *APPS[:shift]]


# -- in process ----------------------------------------------------------------------------


def measure_in_process(clients: dict[str, InProcessClient], s: Settings) -> dict[str, Any]:
    samples: dict[str, dict[str, list[float]]] = {
        name: {"read": [], "write": []} for name in clients
    }
    for r in range(s.rounds):
        for spec in rotated(r):
            client = clients[spec.name]
            for endpoint, call in (("read", client.read), ("write", client.write)):
                started = time.perf_counter_ns()
                statuses = [call() for _ in range(s.iterations)]
                elapsed = time.perf_counter_ns() - started
                check(spec.name, endpoint, statuses)
                samples[spec.name][endpoint].append(elapsed / s.iterations / 1000)
    return {
        name: {endpoint: spread(values) for endpoint, values in by_endpoint.items()}
        for name, by_endpoint in samples.items()
    }


def check(name: str, endpoint: str, statuses: list[int]) -> None:
    bad = [status for status in statuses if status != 200]
    if bad:
        raise RuntimeError(f"{name} {endpoint}: {len(bad)} answers were not 200 (e.g. {bad[0]})")


def count_redis(
    clients: dict[str, InProcessClient], server: RedisServer, n: int = 500
) -> dict[str, Any]:
    """Commands (INFO commandstats, scripts' inner commands included) and round trips
    (MONITOR: commands sent by the client) per request, for each Redis-backed app."""
    admin = server.client()
    counts: dict[str, Any] = {}
    for spec in APPS:
        if spec.redis_db is None:
            continue
        client = clients[spec.name]
        counts[spec.name] = {}
        for endpoint, call in (("read", client.read), ("write", client.write)):
            admin.config_resetstat()
            started = time.monotonic()
            check(spec.name, endpoint, [call() for _ in range(n)])
            elapsed = time.monotonic() - started
            stats: dict[str, Any] = admin.info("commandstats")
            calls = {
                name.removeprefix("cmdstat_"): int(value["calls"])
                for name, value in stats.items()
                if name.removeprefix("cmdstat_") not in NOT_THE_APP
            }
            sample = 20
            with recorded_commands(server) as seen:
                check(spec.name, endpoint, [call() for _ in range(sample)])
            sent = [c.name for c in seen if not c.from_script]
            counts[spec.name][endpoint] = {
                "commands": sum(calls.values()) / n,
                "by_command": {k: v / n for k, v in sorted(calls.items())},
                "writes": sum(v for k, v in calls.items() if k in WRITE_COMMANDS) / n,
                "seconds": elapsed,
                "requests": n,
                "round_trips": len(sent) / sample,
                "sent": sorted(set(sent)),
            }
    server.close_clients()
    return counts


# -- over HTTP -----------------------------------------------------------------------------


@dataclass
class LiveApp:
    spec: AppSpec
    url: str
    process: subprocess.Popen[bytes]
    sessions: list[tuple[str, str]]


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes ``pids`` have used so far (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICKS


def worker_pids(process: subprocess.Popen[bytes]) -> list[int]:
    """The gunicorn workers: the children of the master we started."""
    found = subprocess.run(
        ["pgrep", "-P", str(process.pid)], capture_output=True, text=True, check=False
    )
    return [int(pid) for pid in found.stdout.split()]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_app(spec: AppSpec, env: BenchEnv) -> LiveApp:
    port = free_port()
    log = env.workdir / f"{spec.name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.serve", spec.name, str(port)],
            cwd=ROOT,
            env={**os.environ, **env.to_environ()},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    app = LiveApp(spec, f"http://127.0.0.1:{port}", process, [])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{spec.name} exited:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(app.url + "/start", timeout=2):
                return app
        except OSError:
            time.sleep(0.1)
    stop_process(process)
    raise RuntimeError(f"{spec.name} did not answer within 30 s")


def open_session(app: LiveApp) -> tuple[str, str]:
    """A fresh session over HTTP: (Cookie header, CSRF token), checked on both endpoints."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(app.url + "/start", timeout=5) as answer:
        token = json.load(answer)["token"]
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    headers = {"Cookie": cookie}
    for _ in range(25):  # also warms both workers up
        read = urllib.request.Request(app.url + "/read", headers=headers)
        write = urllib.request.Request(
            app.url + "/write",
            data=b"",
            method="POST",
            headers={**headers, app.spec.csrf_header: token},
        )
        for request in (read, write):
            with urllib.request.urlopen(request, timeout=5) as answer:
                if answer.status != 200:
                    raise RuntimeError(f"{app.spec.name}: {request.full_url} {answer.status}")
    return cookie, token


def run_wrk(app: LiveApp, endpoint: str, duration: int) -> dict[str, Any]:
    method, path = ENDPOINTS[endpoint]
    args = [method, path, app.spec.csrf_header]
    for cookie, token in app.sessions:
        args += [cookie, token]
    command = [
        "wrk",
        f"-t{CONNECTIONS}",
        f"-c{CONNECTIONS}",
        f"-d{duration}s",
        "--timeout",
        "2s",
        "-s",
        str(WRK_SCRIPT),
        app.url + path,
        "--",
        *args,
    ]
    out = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 20, check=True
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("BENCH "))
    fields = {k: int(v) for k, v in (item.split("=") for item in line.split()[1:])}
    errors = sum(fields[k] for k in ("connect", "read", "write", "status", "timeout"))
    if errors:
        raise RuntimeError(f"{app.spec.name} {endpoint}: wrk saw errors: {line}")
    return {
        "rps": fields["requests"] / (fields["duration_us"] / 1e6),
        "p99_ms": fields["p99_us"] / 1000,
        "p50_ms": fields["p50_us"] / 1000,
        "requests": fields["requests"],
    }


def store_pids(spec: AppSpec, redis: RedisServer, postgres: PostgresServer) -> list[int]:
    """The processes of the app's store, whose CPU counts beside the workers': Redis, or
    the PostgreSQL server and its backends; none for SQLite (it runs in the workers)."""
    if spec.redis_db is not None:
        return [redis.process.pid] if redis.process else []
    if spec.name.startswith("ours-postgres") and postgres.process is not None:
        return [postgres.process.pid, *worker_pids(postgres.process)]
    return []


def measure_http(
    env: BenchEnv, server: RedisServer, postgres: PostgresServer, s: Settings
) -> tuple[dict[str, Any], dict[str, Any]]:
    apps: dict[str, LiveApp] = {}
    admin = server.client()
    try:
        for spec in APPS:
            apps[spec.name] = start_app(spec, env)
        for app in apps.values():
            app.sessions = [open_session(app) for _ in range(CONNECTIONS)]
        workers = {name: worker_pids(app.process) for name, app in apps.items()}
        runs: dict[str, dict[str, list[dict[str, Any]]]] = {
            name: {"read": [], "write": []} for name in apps
        }
        commands: dict[str, dict[str, list[float]]] = {}
        for r in range(s.http_rounds):
            for spec in rotated(r):
                for endpoint in ENDPOINTS:
                    admin.config_resetstat()
                    store = store_pids(spec, server, postgres)
                    cpu = cpu_seconds(workers[spec.name]), cpu_seconds(store)
                    result = run_wrk(apps[spec.name], endpoint, s.duration)
                    # Where the CPU went per request: the app's workers, and its store.
                    n = result["requests"]
                    result["worker_cpu_us"] = (cpu_seconds(workers[spec.name]) - cpu[0]) / n * 1e6
                    result["redis_cpu_us"] = (cpu_seconds(store) - cpu[1]) / n * 1e6
                    runs[spec.name][endpoint].append(result)
                    if spec.redis_db is not None:
                        stats: dict[str, Any] = admin.info("commandstats")
                        total = sum(
                            int(v["calls"])
                            for k, v in stats.items()
                            if k.removeprefix("cmdstat_") not in NOT_THE_APP
                        )
                        by_app = commands.setdefault(spec.name, {"read": [], "write": []})
                        by_app[endpoint].append(total / result["requests"])
    finally:
        for app in apps.values():
            stop_process(app.process)
        server.close_clients()
    http = {
        name: {
            endpoint: {
                "rps": spread([run["rps"] for run in results]),
                "p99_ms": spread([run["p99_ms"] for run in results]),
                "p50_ms": spread([run["p50_ms"] for run in results]),
                "worker_cpu_us": spread([run["worker_cpu_us"] for run in results]),
                "redis_cpu_us": spread([run["redis_cpu_us"] for run in results]),
            }
            for endpoint, results in by_endpoint.items()
        }
        for name, by_endpoint in runs.items()
    }
    http_commands = {
        name: {endpoint: statistics.median(v) for endpoint, v in by.items()}
        for name, by in commands.items()
    }
    return http, http_commands


# -- the record ------------------------------------------------------------------------------


def ratios(in_process: dict[str, Any], http: dict[str, Any]) -> dict[str, Any]:
    """Ours over each peer: requests per second (higher is better) and µs (lower is better)."""
    out: dict[str, Any] = {}
    for ours in ("ours-redis", "ours-sqlite", "ours-postgres", "ours-postgres-unlogged"):
        for spec in APPS:
            if spec.name.startswith("ours"):
                continue
            out[f"{ours}/{spec.name}"] = {
                endpoint: {
                    "rps": http[ours][endpoint]["rps"]["median"]
                    / http[spec.name][endpoint]["rps"]["median"],
                    "us": in_process[ours][endpoint]["median"]
                    / in_process[spec.name][endpoint]["median"],
                }
                for endpoint in ENDPOINTS
            }
    return out


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 7's targets, each with the figure measured in this run and whether it is met."""
    r = results["ratios"]
    redis = results["redis"]["ours-redis"]
    rows: list[dict[str, Any]] = []

    def add(name: str, value: float, bound: float, higher_is_better: bool) -> None:
        met = value >= bound if higher_is_better else value <= bound
        rows.append({"target": name, "value": value, "bound": bound, "met": met})

    for endpoint, verb in (("read", "GET"), ("write", "POST")):
        fs = r["ours-redis/flask-session"][endpoint]
        add(f"Redis rps vs Flask-Session+WTF, {verb}", fs["rps"], 1.25, True)
        add(f"Redis µs vs Flask-Session+WTF, {verb}", fs["us"], 0.6, False)
    for endpoint, verb in (("read", "GET"), ("write", "POST")):
        sc = r["ours-sqlite/signed-cookie"][endpoint]
        add(f"SQLite rps vs signed cookie, {verb}", sc["rps"], 1.0, True)
        add(f"SQLite µs vs signed cookie, {verb}", sc["us"], 1.0, False)
    add("Redis round trips, GET", redis["read"]["round_trips"], 1, False)
    # Activity is recorded at most once per SESSION_ACTIVITY_INTERVAL (1 s) per session,
    # as two commands inside the read's script (HSET, PEXPIRE); anything beyond that on
    # a read would be a write although nothing changed.
    allowed = 2 * (redis["read"]["seconds"] + 1) / redis["read"]["requests"]
    add("Redis writes per GET (activity stamps only)", redis["read"]["writes"], allowed, False)
    add("Redis round trips, POST", redis["write"]["round_trips"], 2, False)
    return rows


def machine() -> dict[str, Any]:
    model = ""
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for package in (
        "flask",
        "flask_session",
        "flask_wtf",
        "django",
        "redis",
        "gunicorn",
        "psycopg",
        "psycopg_pool",
    ):
        try:
            from importlib.metadata import version

            versions[package] = version(package.replace("_", "-"))
        except Exception:  # a missing version is only a blank in the record
            versions[package] = ""
    redis_version = subprocess.run(
        ["redis-server", "--version"], capture_output=True, text=True, check=False
    ).stdout.split()[2:3]
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    postgres_version = re.findall(
        r"\(PostgreSQL\) (\S+)",
        subprocess.run(
            [str(postgres_bindir() / "postgres"), "--version"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout,
    )
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
        "redis_server": redis_version[0].removeprefix("v=") if redis_version else "",
        "wrk": (wrk_version.stdout or wrk_version.stderr).split("[")[0].strip(),
        "postgres_server": postgres_version[0] if postgres_version else "",
    }


def table(results: dict[str, Any]) -> str:
    ip, http, redis, http_cmds = (
        results["in_process"],
        results["http"],
        results["redis"],
        results["redis_http"],
    )
    lines = [
        "| app | GET µs (min-max) | POST µs (min-max) | GET rps | GET p99 ms"
        " | POST rps | POST p99 ms | Redis cmds GET / POST | round trips GET / POST"
        " | HTTP CPU µs/request, workers + store (Redis, PostgreSQL), GET / POST |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for spec in APPS:
        name = spec.name
        cells = [spec.label]
        for endpoint in ENDPOINTS:
            m = ip[name][endpoint]
            cells.append(f"{m['median']:.0f} ({m['min']:.0f}-{m['max']:.0f})")
        for endpoint in ENDPOINTS:
            h = http[name][endpoint]
            cells += [f"{h['rps']['median']:,.0f}", f"{h['p99_ms']['median']:.1f}"]
        if name in redis:
            cells.append(
                f"{redis[name]['read']['commands']:.2f} / {redis[name]['write']['commands']:.2f}"
                f" (HTTP {http_cmds[name]['read']:.2f} / {http_cmds[name]['write']:.2f})"
            )
            trips = (redis[name][e]["round_trips"] for e in ENDPOINTS)
            cells.append(" / ".join(f"{t:.0f}" for t in trips))
        else:
            cells += ["-", "-"]
        cells.append(
            " / ".join(
                f"{http[name][e]['worker_cpu_us']['median']:.0f}"
                f" + {http[name][e]['redis_cpu_us']['median']:.0f}"
                for e in ENDPOINTS
            )
        )
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "| ours / peer | GET rps | POST rps | GET µs | POST µs |",
        "|---|---:|---:|---:|---:|",
    ]
    for pair, by in results["ratios"].items():
        lines.append(
            f"| {pair} | {by['read']['rps']:.2f}x | {by['write']['rps']:.2f}x "
            f"| {by['read']['us']:.2f}x | {by['write']['us']:.2f}x |"
        )
    lines += ["", "| target | bound | measured | met |", "|---|---:|---:|---|"]
    for t in results["targets"]:
        op = "≥" if "rps" in t["target"] else "≤"
        met = "yes" if t["met"] else "NO"
        lines.append(f"| {t['target']} | {op} {t['bound']:.3g} | {t['value']:.3g} | {met} |")
    return "\n".join(lines)


#: The bench's PostgreSQL keeps PostgreSQL's durable defaults (fsync, synchronous
#: commit), unlike the test server's shortcuts.
DURABLE = {"fsync": "on", "full_page_writes": "on", "synchronous_commit": "on"}


@contextmanager
def private_redis() -> Iterator[tuple[RedisServer, Path]]:
    workdir = Path(tempfile.mkdtemp(prefix="indian-dashboard-bench-"))
    server = RedisServer(workdir / "redis")
    server.start()
    try:
        yield server, workdir
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def private_postgres() -> contextlib.AbstractContextManager[PostgresServer]:
    return PostgresServer.running(DURABLE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="in-process rounds (default 7)")
    parser.add_argument(
        "--iterations", type=int, default=300, help="requests per in-process sample (default 300)"
    )
    parser.add_argument("--http-rounds", type=int, default=3, help="wrk rounds (default 3)")
    parser.add_argument("--duration", type=int, default=3, help="seconds per wrk run (default 3)")
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG")
    a = parser.parse_args(argv)
    s = Settings(a.rounds, a.iterations, a.http_rounds, a.duration)
    if shutil.which("wrk") is None:
        print("bench: wrk not found: apt-get install wrk (make bench does)", file=sys.stderr)
        return 2
    started = time.monotonic()
    load_at_start = os.getloadavg()
    with private_redis() as (server, workdir), private_postgres() as postgres:
        env = BenchEnv(f"redis://127.0.0.1:{server.port}", workdir, postgres.url())
        print(
            f"bench: private redis-server on port {server.port}, PostgreSQL on port"
            f" {postgres.port}; work folder {workdir}"
        )
        clients: dict[str, InProcessClient] = {}
        for spec in APPS:
            client = InProcessClient(spec, spec.build(env))
            client.start()
            for call in (client.read, client.write):
                check(spec.name, "warm-up", [call() for _ in range(WARMUP)])
            clients[spec.name] = client
        print(
            f"bench: in process, {s.rounds} rounds of {s.iterations} requests per app and endpoint"
        )
        in_process = measure_in_process(clients, s)
        redis = count_redis(clients, server)
        print(f"bench: over HTTP, {s.http_rounds} rounds of {s.duration} s per app and endpoint")
        http, redis_http = measure_http(env, server, postgres, s)
        for client in clients.values():
            client.close()
    results: dict[str, Any] = {
        "machine": machine(),
        "settings": {
            **s.__dict__,
            "workers": 2,
            "connections": CONNECTIONS,
            "command": "make bench",
        },
        "apps": {spec.name: spec.label for spec in APPS},
        "in_process": in_process,
        "http": http,
        "redis": redis,
        "redis_http": redis_http,
        # Other people share this machine's CPU: its load, beside the figures.
        "load_average": {"start": load_at_start, "end": os.getloadavg()},
    }
    results["ratios"] = ratios(in_process, http)
    results["targets"] = targets(results)
    results["seconds"] = round(time.monotonic() - started, 1)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(table(results))
    if not a.no_plot:
        from .plot import plot

        plot(results, PLOT)
        print(f"bench: wrote {RESULTS.relative_to(ROOT)} and {PLOT.relative_to(ROOT)}")
    load = results["load_average"]
    print(
        f"bench: {results['seconds']} s; load average (1, 5, 15 min) at start"
        f" {', '.join(f'{x:.1f}' for x in load['start'])}, at end"
        f" {', '.join(f'{x:.1f}' for x in load['end'])}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
