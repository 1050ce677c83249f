"""The plain app (tests/wsgi_app.py) under gunicorn in a subprocess, on a free port."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .processes import free_port, start_logged, stop_process, wait_until_answers

#: The folder that holds the ``tests`` package.
LIBRARY_ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def plain_server(tmp_path: Path, *, workers: int = 2, **env: str) -> Iterator[str]:
    """Serve the plain app with gunicorn; yields its base URL (mount included)."""
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    # /healthz answers this: the poll then knows it reached this server, not another
    # process that took the port before gunicorn could.
    nonce = secrets.token_hex(8)
    full_env = {
        **os.environ,
        "PLAIN_STORE_URL": f"sqlite:///{tmp_path / 'plain.sqlite3'}",
        "PLAIN_HEALTH_NONCE": nonce,
        **env,
    }
    process = start_logged(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "tests.wsgi_app:application",
        ],
        log_path=log_path,
        env=full_env,
        cwd=LIBRARY_ROOT,
    )
    base = f"http://127.0.0.1:{port}{env.get('PLAIN_MOUNT', '')}"
    try:
        wait_until_answers(process, base + "/healthz", log_path, expect=nonce.encode())
        yield base
    finally:
        stop_process(process)
