"""The dashboard under gunicorn in a subprocess, for tests, the load test and the benchmarks."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.processes import free_port, start_logged, stop_process, wait_until_answers

from .emulated import emulator

#: The secret key test servers use unless told otherwise.
SECRET = "test-secret-key-that-is-long-enough-0123456789"


@dataclass
class LiveServer:
    """The dashboard under gunicorn in a subprocess."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.process)


def start_server(
    tmp_path: Path,
    *,
    workers: int = 2,
    env: dict[str, str] | None = None,
    name: str = "server",
    args: tuple[str, ...] = (),
) -> LiveServer:
    """Start ``python -m indian_dashboard`` on a free port and wait until it answers.

    ``args`` are more command-line options (``--threads``, ``--access-log``).
    """
    port = free_port()
    log_path = tmp_path / f"{name}.log"
    full_env = {
        **os.environ,
        # Its brokers are the emulator (in this process, on loopback), never real ones.
        **emulator().settings(),
        "FLASK_SECRET_KEY": SECRET,
        "SESSION_STORE_URL": f"sqlite:///{tmp_path / 'live.sqlite3'}",
        **(env or {}),
    }
    # A value of "" in ``env`` removes the variable (e.g. to test the generated key).
    full_env = {k: v for k, v in full_env.items() if v != ""}
    process = start_logged(
        [
            sys.executable,
            "-m",
            "indian_dashboard",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--instance",
            str(tmp_path / "instance"),
            *args,
        ],
        log_path=log_path,
        env=full_env,
        cwd=tmp_path,
    )
    server = LiveServer(f"http://127.0.0.1:{port}", process, log_path)
    wait_until_answers(process, server.url + "/healthz", log_path)
    return server


def serving(tmp_path: Path, **options: Any) -> Iterator[LiveServer]:
    """``start_server(tmp_path, **options)`` for a fixture to ``yield from``; stopped after."""
    server = start_server(tmp_path, **options)
    try:
        yield server
    finally:
        server.stop()


def start_up_refusal(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``python -m indian_dashboard`` with ``env`` where start-up should stop (exit 2)."""
    return subprocess.run(
        [sys.executable, "-m", "indian_dashboard", "--port", "0"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
