"""The dashboard under gunicorn in a subprocess, for tests, the load test and the benchmarks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.processes import free_port, stop_process

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
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
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
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=full_env,
            cwd=tmp_path,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log()}")
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server did not answer within 20 s:\n{server.log()}")
