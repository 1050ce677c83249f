"""``python -m broker_emulator --port P --dashboard URL``: serve the demo brokers."""

from __future__ import annotations

import argparse
import sys

from werkzeug.serving import run_simple

from . import create_emulator
from .demo import install
from .server import BrokerRequestHandler
from .state import Emulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m broker_emulator", description="Serve the demo brokers on loopback."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument(
        "--dashboard",
        default="http://127.0.0.1:5000",
        help="the dashboard's origin (the demo apps' callback URLs)",
    )
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the emulator only serves on loopback")
    state = Emulator()
    install(state, args.dashboard)
    run_simple(
        args.host,
        args.port,
        create_emulator(state),
        threaded=True,
        request_handler=BrokerRequestHandler,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
