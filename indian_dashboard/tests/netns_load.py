"""The app side of the network-fault test, run inside the app's network namespace.

    python -m indian_dashboard.tests.netns_load WORKDIR REDIS_URL SOCKET_TIMEOUT

Starts the dashboard under gunicorn (2 workers) on the namespace's loopback, on
the Redis at ``REDIS_URL``, logs traders in, prints ``ready`` and runs the load
until a line arrives on stdin; then checks what was acknowledged and prints one
JSON line: every answer (times are CLOCK_MONOTONIC, shared with the test) and
the acknowledged writes that were lost.
"""

from __future__ import annotations

import json
import sys
from dataclasses import astuple
from pathlib import Path

from .redis_load import TraderLoad
from .servers import start_server


def main(workdir: str, url: str, timeout: str) -> None:
    env = {
        "SESSION_STORE_URL": url,
        "SESSION_REDIS_SOCKET_TIMEOUT": timeout,
        "SESSION_REDIS_CONNECT_TIMEOUT": timeout,
        "SESSION_STORE_RETRY_AFTER": "1",
    }
    server = start_server(Path(workdir), env=env, name="netns-app")
    try:
        load = TraderLoad(server.url, traders=2, timeout=30)
        try:
            load.start()
            print("ready", flush=True)
            sys.stdin.readline()
            load.stop()
            lost = load.lost()
            answers = [astuple(a) for a in load.answers]
        finally:
            load.close()
        log = server.log()
    finally:
        server.stop()
    print(json.dumps({"answers": answers, "lost": lost, "traceback": "Traceback" in log}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
