"""The plain app (tests/wsgi_app.py) under gunicorn in a subprocess, on a free port."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .processes import start_logged, stop_process, wait_until_answers

#: The folder that holds the ``tests`` package.
LIBRARY_ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def plain_server(tmp_path: Path, *, workers: int = 2, **env: str) -> Iterator[str]:
    """Serve the plain app with gunicorn; yields its base URL (mount included).

    The test binds the listening socket itself and hands it to gunicorn
    (``--bind fd://N``): no other process can take the port between choosing
    it and serving on it, as can happen with a port picked first and bound later.
    """
    log_path = tmp_path / "gunicorn.log"
    full_env = {
        **os.environ,
        "PLAIN_STORE_URL": f"sqlite:///{tmp_path / 'plain.sqlite3'}",
        **env,
    }
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        port = listener.getsockname()[1]
        process = start_logged(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"fd://{listener.fileno()}",
                "--workers",
                str(workers),
                "tests.wsgi_app:application",
            ],
            log_path=log_path,
            env=full_env,
            cwd=LIBRARY_ROOT,
            pass_fds=(listener.fileno(),),
        )
    base = f"http://127.0.0.1:{port}{env.get('PLAIN_MOUNT', '')}"
    try:
        wait_until_answers(process, base + "/healthz", log_path)
        yield base
    finally:
        stop_process(process)
