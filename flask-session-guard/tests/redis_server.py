"""A private ``redis-server`` for tests: its own loopback port and directory.

Never the shared Redis on 6379. Started with Debian's ``/usr/bin/redis-server``
(``make system-deps`` installs it), polled until it answers PING, and stopped by
its pid. Tests may pause it (SIGSTOP), resume it, stop it and start it again on
the same port, with or without its append-only file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from .processes import free_port, stop_process

REDIS_SERVER = os.environ.get("REDIS_SERVER", "/usr/bin/redis-server")


def redis_server_binary() -> str:
    """The redis-server to run; a missing one is a clear failure, not a skip."""
    found = REDIS_SERVER if os.access(REDIS_SERVER, os.X_OK) else shutil.which("redis-server")
    if not found:
        raise RuntimeError(
            "redis-server not found: run `make system-deps` (Debian's redis-server),"
            " or deselect these tests with -m 'not redis'"
        )
    return found


class RedisServer:
    """One redis-server process under the test's control."""

    def __init__(
        self,
        directory: Path,
        *,
        appendonly: bool = False,
        unix_socket: bool = False,
        extra_args: Sequence[str] = (),
        tls: TlsFiles | None = None,
    ) -> None:
        self.directory = directory
        self.appendonly = appendonly
        #: More redis-server options (replicaof, cluster-enabled, user...).
        self.extra_args = list(extra_args)
        self.host = "127.0.0.1"
        #: Serve TLS only (the plain port is off), with these files.
        self.tls = tls
        #: Also listen on ``DIRECTORY/redis.sock`` (mode 700) when asked.
        self.unix_socket = directory / "redis.sock" if unix_socket else None
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.paused = False
        self._clients: list[redis.Redis] = []
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def client(self, *, timeout: float = 5.0, **options: Any) -> redis.Redis:
        """A plain client of this server, for the test's own checks; closed by
        :meth:`close_clients` (the fixtures call it at teardown)."""
        tls: dict[str, Any] = {}
        if self.tls is not None:
            tls = {
                "ssl": True,
                "ssl_ca_certs": str(self.tls.ca),
                "ssl_certfile": str(self.tls.client_cert),
                "ssl_keyfile": str(self.tls.client_key),
            }
        made = redis.Redis(
            host=self.host,
            port=self.port,
            decode_responses=True,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            **{**tls, **options},
        )
        self._clients.append(made)
        return made

    def close_clients(self) -> None:
        """Close every client :meth:`client` made."""
        clients, self._clients = self._clients, []
        for made in clients:
            made.close()

    def start(self) -> None:
        """Start (again, on the same port and directory) and wait for PING."""
        ports = ["--port", str(self.port)]
        if self.tls is not None:
            ports = [
                "--port",
                "0",
                "--tls-port",
                str(self.port),
                "--tls-cert-file",
                str(self.tls.server_cert),
                "--tls-key-file",
                str(self.tls.server_key),
                "--tls-ca-cert-file",
                str(self.tls.ca),
                "--tls-auth-clients",
                "optional",
            ]
        args = [
            redis_server_binary(),
            *ports,
            "--bind",
            self.host,
            "--dir",
            str(self.directory),
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            "always",
            "--daemonize",
            "no",
            "--protected-mode",
            "yes",
            "--logfile",
            str(self.directory / "redis.log"),
        ]
        if self.unix_socket is not None:
            args += ["--unixsocket", str(self.unix_socket), "--unixsocketperm", "700"]
        args += self.extra_args
        self.process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        self.paused = False
        deadline = time.monotonic() + 10
        probe = self.client(timeout=0.5)
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"redis-server exited:\n{self.log()}")
                try:
                    if probe.ping():
                        return
                except (redis.ConnectionError, redis.TimeoutError):
                    time.sleep(0.05)

        except BaseException:
            self.stop()
            raise
        finally:
            probe.close()
        self.stop()
        raise RuntimeError(f"redis-server did not answer PING within 10 s:\n{self.log()}")

    def log(self) -> str:
        path = self.directory / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def pause(self) -> None:
        """SIGSTOP: connections are accepted by the kernel but nothing answers."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        """SIGCONT after :meth:`pause`."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)
        self.paused = False

    def kill(self) -> None:
        """SIGKILL by pid (a machine lost at once: nothing is flushed), and wait."""
        self.close_clients()
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)

    def stop(self) -> None:
        """Stop by pid (SIGTERM, so the append-only file is complete) and wait."""
        self.close_clients()
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        if self.paused:
            os.kill(process.pid, signal.SIGCONT)
            self.paused = False
        stop_process(process)

    def wipe(self) -> None:
        """Remove the data files, so the next start is empty."""
        shutil.rmtree(self.directory / "appendonlydir", ignore_errors=True)
        for path in self.directory.glob("*.rdb"):
            path.unlink()


@dataclass(frozen=True)
class TlsFiles:
    """A test CA and the server's and a client's certificates, as PEM files."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


@dataclass
class Command:
    """One command Redis executed: from a client connection or from inside a script."""

    name: str
    from_script: bool


@contextlib.contextmanager
def recorded_commands(server: RedisServer) -> Iterator[list[Command]]:
    """Record every command ``server`` executes inside the ``with`` block (MONITOR).

    Commands sent by clients are round trips; those a Lua script runs show as
    ``from_script``. The list is complete when the block exits.
    """
    seen: list[Command] = []
    marker = f"end-of-recording-{os.getpid()}-{time.monotonic_ns()}"
    monitor_client = server.client()
    started = threading.Event()
    finished = threading.Event()

    def listen() -> None:
        with monitor_client.monitor() as monitor:  # type: ignore[no-untyped-call]
            started.set()
            for entry in monitor.listen():
                words = entry["command"].split()
                if not words:
                    continue
                if marker in entry["command"]:
                    break
                seen.append(Command(words[0].lower(), entry["client_type"] == "lua"))
        finished.set()

    # Its connection is opened now, so that its handshake is not recorded.
    signal_client = server.client()
    signal_client.ping()
    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    if not started.wait(5):
        raise RuntimeError("MONITOR did not start")
    recorded: list[Command] = []
    try:
        yield recorded
    finally:
        try:
            signal_client.echo(marker)
        finally:
            signal_client.close()
        if not finished.wait(5):
            raise RuntimeError("MONITOR did not see the end marker")
        thread.join(5)
        monitor_client.close()
        recorded.extend(seen)
