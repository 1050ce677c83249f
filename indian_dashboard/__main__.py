"""``python -m indian_dashboard --host H --port P --workers N``: serve with gunicorn."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

from .config import ConfigError


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m indian_dashboard", description="Serve the dashboard with gunicorn."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="port (default 5000)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument(
        "--instance",
        default=None,
        help="instance folder for the SQLite file and development key (default: ./instance)",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error("--port must be between 0 and 65535")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Build the app once (so a bad setting stops here, in one line), then serve it."""
    args = _parse(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

    from .app import create_app

    try:
        app = create_app(instance_path=args.instance and os.path.abspath(args.instance))
    except ConfigError as err:
        print(f"indian_dashboard: {err}", file=sys.stderr)
        return 2

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{args.host}:{args.port}")
            self.cfg.set("workers", args.workers)
            self.cfg.set("worker_class", "sync")
            self.cfg.set("timeout", 30)
            self.cfg.set("graceful_timeout", 5)
            # gunicorn's control socket is one fixed path per user: several servers
            # on one machine (tests, blue/green) would fight over it.
            if "control_socket_disable" in self.cfg.settings:
                self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            return app

    _Server().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
