"""``python -m indian_dashboard``: serve the dashboard with gunicorn (see ``--help``)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

from .config import ConfigError

log = logging.getLogger("indian_dashboard")

#: The access log line: the peer, then the client as the proxy reported it (X-Forwarded-For),
#: time, request line, status, size, duration and user agent. Never a cookie or a token.
ACCESS_LOG_FORMAT = '%(h)s xff="%({x-forwarded-for}i)s" %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'

DESCRIPTION = """\
Serve the dashboard with gunicorn's gthread workers: each worker process runs
--threads threads, so a slow client (or a stalled session store) holds one thread,
never a whole worker, and /healthz keeps answering.

gunicorn itself trusts no forwarded header from any peer (forwarded_allow_ips and
secure_scheme_headers are empty): the app alone reads X-Forwarded-For/-Proto/-Host/-Port,
and only through SESSION_TRUSTED_PROXIES proxies (0, the default: never).
"""


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m indian_dashboard",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="port (default 5000)")
    parser.add_argument(
        "--workers", type=int, default=2, help="gunicorn worker processes (default 2)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=8,
        help="threads per worker (gthread); requests served at once = workers x threads "
        "(default 8)",
    )
    parser.add_argument(
        "--timeout",
        type=int,
        default=30,
        help="seconds a worker may stay silent before gunicorn restarts it (default 30)",
    )
    parser.add_argument(
        "--instance",
        default=None,
        help="instance folder for the SQLite file and development key "
        "(default: ./instance under the working directory)",
    )
    parser.add_argument(
        "--access-log",
        default=None,
        metavar="PATH",
        help="write one access log line per request to PATH ('-' for standard output); "
        "default: no access log",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error("--port must be between 0 and 65535")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    if args.timeout < 1:
        parser.error("--timeout must be at least 1")
    return args


def gunicorn_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The gunicorn settings ``args`` stand for (a plain dict, so tests can read it)."""
    settings: dict[str, Any] = {
        "bind": f"{args.host}:{args.port}",
        "workers": args.workers,
        "worker_class": "gthread",
        "threads": args.threads,
        "timeout": args.timeout,
        "graceful_timeout": 5,
        # An idle kept-alive connection is closed after this many seconds.
        "keepalive": 5,
        # Forwarded headers are the app's business (SESSION_TRUSTED_PROXIES, ProxyFix):
        # gunicorn's defaults would turn X-Forwarded-Proto: https from 127.0.0.1 into
        # an https request even when no proxy is trusted.
        "forwarded_allow_ips": "",
        "secure_scheme_headers": {},
    }
    if args.access_log:
        settings["accesslog"] = args.access_log
        settings["access_log_format"] = ACCESS_LOG_FORMAT
    return settings


def main(argv: list[str] | None = None) -> int:
    """Build the app once (so a bad setting stops here, in one line), then serve it."""
    args = _parse(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from flask_session_guard.deployment import describe_settings
    from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

    from .app import create_app

    try:
        app = create_app(instance_path=args.instance and os.path.abspath(args.instance))
    except ConfigError as err:
        print(f"indian_dashboard: {err}", file=sys.stderr)
        return 2
    log.info("%s; instance folder %s", describe_settings(app), app.instance_path)
    settings = gunicorn_settings(args)

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for name, value in settings.items():
                self.cfg.set(name, value)
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
