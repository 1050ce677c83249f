"""A private PostgreSQL server for tests: its own data directory, loopback port and socket.

Never the machine's own PostgreSQL. Debian's server binaries (``make system-deps``
installs the ``postgresql`` package when they are missing) run from a fresh
``initdb`` in a temporary directory; the server is started as a child process
and stopped by its pid. PostgreSQL refuses to run as root, so under root (as in
CI) it runs as the ``postgres`` user when there is one, else as ``nobody``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

from .processes import free_port

#: Options for speed: the tests never survive a crash of their server, only clean stops.
FAST = {"fsync": "off", "full_page_writes": "off", "synchronous_commit": "off"}


def postgres_bindir() -> Path:
    """Where ``initdb`` and ``postgres`` are; a missing server is a clear failure, not a skip.

    ``PG_BINDIR`` wins; then ``initdb`` on PATH; then Debian's newest
    ``/usr/lib/postgresql/*/bin``; then ``pg_config --bindir``.
    """
    candidates: list[Path] = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(Path(os.environ["PG_BINDIR"]))
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(os.path.realpath(on_path)).parent)
    debian = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates += [Path(p) for p in debian]
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            )
            candidates.append(Path(out.stdout.strip()))
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "postgres").is_file():
            return candidate
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, postgres) not found: run `make system-deps`"
        " (Debian's postgresql), set PG_BINDIR, or deselect these tests with -m 'not postgres'"
    )


def _server_user() -> pwd.struct_passwd | None:
    """The unprivileged user to run as when we are root; ``None`` when we are not."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root and neither a postgres nor a nobody user exists")


class PostgresServer:
    """One PostgreSQL server under the test's control; the ``postgres`` superuser, trusted."""

    def __init__(self, settings: dict[str, str] | None = None) -> None:
        self.bindir = postgres_bindir()
        self.user = _server_user()
        # Not under pytest's tmp_path: that is root-only (0700), and the server user
        # must reach its data directory.
        self.directory = Path(tempfile.mkdtemp(prefix="fsg-postgres-"))
        self.data = self.directory / "data"
        self.socket_dir = self.directory / "socket"
        self.log_path = self.directory / "server.log"
        self.port = free_port()
        self.settings = {**FAST, **(settings or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self.socket_dir.mkdir()
        if self.user is not None:
            for path in (self.directory, self.socket_dir):
                os.chown(path, self.user.pw_uid, self.user.pw_gid)
        self._initdb()

    def url(self, database: str = "postgres", **params: str) -> str:
        """A URL of this server over loopback TCP."""
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}" + (
            f"?{query}" if query else ""
        )

    def _as_server_user(self) -> dict[str, Any]:
        if self.user is None:
            return {}
        return {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}

    def _initdb(self) -> None:
        args = [
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ]
        done = subprocess.run(
            args,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            cwd=self.directory,
            timeout=120,
            check=False,
            **self._as_server_user(),
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{done.stdout.decode()}{done.stderr.decode()}")

    def start(self) -> None:
        """Start (again, on the same port and data) and wait until it accepts connections."""
        args = [
            str(self.bindir / "postgres"),
            "-D",
            str(self.data),
            "-p",
            str(self.port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={self.socket_dir}",
            "-c",
            "max_connections=200",
            "-c",
            "log_line_prefix=%a|",
        ]
        for name, value in self.settings.items():
            args += ["-c", f"{name}={value}"]
        with open(self.log_path, "ab") as log:
            if self.user is not None:
                os.chown(self.log_path, self.user.pw_uid, self.user.pw_gid)
            self.process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
                **self._as_server_user(),
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited:\n{self.log()}")
            try:
                with psycopg.connect(self.url(), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"postgres did not accept connections within 30 s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """Fast shutdown by pid (SIGINT: clients are disconnected, data is kept) and wait."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def remove(self) -> None:
        """Stop, then delete the data directory."""
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    @classmethod
    @contextlib.contextmanager
    def running(cls, settings: dict[str, str] | None = None) -> Iterator[PostgresServer]:
        """A new server, started; stopped and its directory removed afterwards."""
        server = cls(settings)
        try:
            server.start()
            yield server
        finally:
            server.remove()

    @contextlib.contextmanager
    def connect(self, database: str = "postgres") -> Iterator[psycopg.Connection[Any]]:
        """A plain autocommit connection for the test's own checks."""
        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=5) as conn:
            yield conn

    def empty(self, database: str = "postgres") -> None:
        """Empty every table of ``database`` (faster than a new database per test)."""
        with self.connect(database) as conn:
            conn.execute(
                "DO $$ DECLARE t record; BEGIN"
                " FOR t IN SELECT schemaname, tablename FROM pg_tables"
                " WHERE schemaname NOT IN ('pg_catalog', 'information_schema') LOOP"
                " EXECUTE format('TRUNCATE %I.%I CASCADE', t.schemaname, t.tablename);"
                " END LOOP; END $$"
            )

    def statements(self, application_name: str) -> list[str]:
        """The statements connections named ``application_name`` sent so far, as the
        server logged them (with ``log_statement=all`` set on those connections)."""
        marker = f"{application_name}|"
        found = []
        for line in self.log().splitlines():
            if line.startswith(marker) and ("statement: " in line or "execute " in line):
                found.append(line.split(": ", 2)[-1])
        return found
