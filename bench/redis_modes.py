"""This session layer on one Redis, on Sentinel and on a Redis Cluster, in process.

    python -m bench.redis_modes [--rounds 7] [--iterations 300]

Starts a redis-server, a Sentinel deployment (master, two replicas, three
Sentinels) and a Cluster (three masters, a replica each) of its own on loopback,
builds the benchmark's own app (``bench.app_ours``) on each, and measures the
median microseconds per request of ``GET /read`` and ``POST /write`` under
Flask's test client, rounds interleaved so that machine noise hits all alike.
Prints a table. Everything it starts is stopped by pid.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "flask-session-guard"))

from tests.redis_server import RedisServer
from tests.redis_topology import ClusterDeployment, SentinelDeployment

from .apps import AppSpec, BenchEnv
from .clients import InProcessClient


def _spec(name: str, url: str) -> AppSpec:
    return AppSpec(name, name, "bench.app_ours", url, "flask", "X-CSRF-Token", None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--iterations", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-redis-modes-") as folder:
        work = Path(folder)
        single = RedisServer(work / "single")
        # No append-only file anywhere (the standalone one has none either): the
        # difference measured is the client path, not an fsync per write.
        sentinel = SentinelDeployment(work / "sentinel", appendonly=False)
        cluster = ClusterDeployment(work / "cluster", appendonly=False)
        try:
            single.start()
            sentinel.start()
            cluster.start()
            env = BenchEnv(f"redis://127.0.0.1:{single.port}", work)
            specs = [
                _spec("standalone", single.url),
                _spec("sentinel", sentinel.url()),
                _spec("cluster", cluster.url()),
            ]
            clients = {}
            for spec in specs:
                client = InProcessClient(spec, spec.build(env))
                client.start()
                for _ in range(200):  # warm-up
                    client.read()
                    client.write()
                clients[spec.name] = client
            timings: dict[tuple[str, str], list[float]] = {}
            for _ in range(args.rounds):
                for name, client in clients.items():
                    for endpoint, call in (("GET", client.read), ("POST", client.write)):
                        started = time.perf_counter()
                        for _ in range(args.iterations):
                            if call() != 200:
                                raise RuntimeError(f"{name} {endpoint}: not 200")
                        spent = (time.perf_counter() - started) / args.iterations * 1e6
                        timings.setdefault((name, endpoint), []).append(spent)
        finally:
            cluster.stop()
            sentinel.stop()
            single.stop()
    print("| Redis | GET /read µs (min-max) | POST /write µs (min-max) |")
    print("|---|---:|---:|")
    for spec in specs:
        cells = []
        for endpoint in ("GET", "POST"):
            runs = timings[(spec.name, endpoint)]
            cells.append(f"{statistics.median(runs):.0f} ({min(runs):.0f}-{max(runs):.0f})")
        print(f"| {spec.name} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
