"""``make demo``: the dashboard and the broker emulator together, on loopback.

The dashboard runs as ``make run`` would, with its ``BROKER_*`` URLs pointing at
the emulator and ``BROKER_DEMO=1`` (a banner on every page says so). Ctrl-C
stops both. The demo accounts are in the README and on the emulator's home page.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from broker_emulator import base_urls  # noqa: E402

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000, help="the dashboard's port")
    parser.add_argument("--brokers-port", type=int, default=5001, help="the emulator's port")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if args.host not in LOOPBACK:
        parser.error("the demo serves on loopback only")
    dashboard = f"http://{args.host}:{args.port}"
    brokers = f"http://{args.host}:{args.brokers_port}"
    emulator = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "broker_emulator",
            "--host",
            args.host,
            "--port",
            str(args.brokers_port),
            "--dashboard",
            dashboard,
        ],
        cwd=ROOT,
    )
    env = {**os.environ, **base_urls(brokers), "BROKER_DEMO": "1"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "indian_dashboard",
            "--host",
            args.host,
            "--port",
            str(args.port),
            "--workers",
            str(args.workers),
        ],
        cwd=ROOT,
        env=env,
    )
    # A plain kill (SIGTERM) also stops both children.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(
        f"Demo: the dashboard at {dashboard}, the demo brokers at {brokers} "
        "(accounts on its home page). Ctrl-C stops both.",
        flush=True,
    )
    try:
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        for process in (server, emulator):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()


if __name__ == "__main__":
    sys.exit(main())
