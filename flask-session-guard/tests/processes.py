"""Processes the tests start (redis-server, gunicorn, nginx...): free ports, sure stops."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate ``process`` and wait for it; kill it if it takes over 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def start_logged(
    args: list[str],
    *,
    log_path: Path,
    env: dict[str, str],
    cwd: Path,
    pass_fds: tuple[int, ...] = (),
) -> subprocess.Popen[bytes]:
    """Start ``args`` with stdout and stderr into ``log_path``, no stdin.

    ``pass_fds`` stay open in the child (e.g. a listening socket it serves on).
    """
    with log_path.open("wb") as log_file:
        return subprocess.Popen(
            args,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            pass_fds=pass_fds,
        )


def wait_until_answers(
    process: subprocess.Popen[bytes], url: str, log_path: Path, timeout: float = 20
) -> None:
    """Poll ``url`` until it answers 200; else stop ``process`` and raise with its log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = log_path.read_text(errors="replace")
            raise RuntimeError(f"server exited with {process.returncode}:\n{log}")
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.1)
    stop_process(process)
    log = log_path.read_text(errors="replace")
    raise RuntimeError(f"server did not answer within {timeout:g} s:\n{log}")
