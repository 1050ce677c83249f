"""``python -m bench.serve APP PORT``: one bench app under gunicorn, 2 sync workers.

Every app gets exactly these settings, which are the dashboard's own
(``python -m indian_dashboard``): the app is built once in the master, then forked.
"""

from __future__ import annotations

import sys
from typing import Any

from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

from .apps import BY_NAME, BenchEnv

WORKERS = 2


def main(argv: list[str]) -> None:
    name, port = argv[0], int(argv[1])
    app = BY_NAME[name].build(BenchEnv.from_environ())

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"127.0.0.1:{port}")
            self.cfg.set("workers", WORKERS)
            self.cfg.set("worker_class", "sync")
            self.cfg.set("timeout", 30)
            self.cfg.set("graceful_timeout", 5)
            self.cfg.set("loglevel", "warning")
            if "control_socket_disable" in self.cfg.settings:
                self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            return app

    _Server().run()


if __name__ == "__main__":
    main(sys.argv[1:])
