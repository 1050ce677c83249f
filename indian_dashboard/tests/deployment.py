"""The shipped deploy/ files as the deploy tests read them, and an HTTPS client for them."""

from __future__ import annotations

import socket
import ssl
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import requests

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ENV_FILE = DEPLOY / "systemd" / "indian-dashboard.env"


def shipped_env() -> dict[str, str]:
    """The settings of deploy/systemd/indian-dashboard.env (KEY=VALUE lines)."""
    env: dict[str, str] = {}
    for line in ENV_FILE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name] = value
    return env


def port_of(url: str) -> int:
    """The port of ``http://host:port``."""
    return int(url.rsplit(":", 1)[1])


def https_client(ca: Path) -> requests.Session:
    """A client that trusts the test CA ``ca`` (and ignores the environment's CA bundle,
    which would win over ``verify``) and no proxy."""
    client = requests.Session()
    client.trust_env = False
    client.verify = str(ca)
    return client


def wait_for_tls(
    port: int, ca: Path, process: subprocess.Popen[bytes], log: Callable[[], str], name: str
) -> None:
    """Wait (10 s at most) until ``process`` completes a TLS handshake on ``port`` that
    ``ca`` vouches for; raise with its ``log()`` if it exits or never does."""
    context = ssl.create_default_context(cafile=str(ca))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{log()}")
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=1) as raw,
                context.wrap_socket(raw, server_hostname="127.0.0.1"),
            ):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{name} did not answer within 10 s:\n{log()}")
