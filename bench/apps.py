"""The apps under test: what each one is, and how to build it from the bench's settings."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Every app uses this secret, so signing costs the same everywhere.
SECRET = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class BenchEnv:
    """Where the apps keep their state; passed to ``bench.serve`` through the environment."""

    redis_base: str  # redis://127.0.0.1:PORT (no database)
    workdir: Path
    postgres_url: str = ""  # postgresql://postgres@127.0.0.1:PORT/postgres

    def redis_url(self, db: int) -> str:
        return f"{self.redis_base}/{db}"

    def to_environ(self) -> dict[str, str]:
        return {
            "BENCH_REDIS": self.redis_base,
            "BENCH_DIR": str(self.workdir),
            "BENCH_POSTGRES": self.postgres_url,
        }

    @classmethod
    def from_environ(cls) -> BenchEnv:
        return cls(
            os.environ["BENCH_REDIS"],
            Path(os.environ["BENCH_DIR"]),
            os.environ.get("BENCH_POSTGRES", ""),
        )


@dataclass(frozen=True)
class AppSpec:
    """One app of the comparison."""

    name: str
    label: str
    module: str
    option: str
    #: ``flask`` apps run under Flask's test client in process, ``django`` under Django's.
    kind: str
    csrf_header: str
    #: The Redis database it uses (each app its own), or ``None``.
    redis_db: int | None

    def build(self, env: BenchEnv) -> Any:
        """The WSGI app (a Flask app, or Django's handler)."""
        make: Callable[[str, BenchEnv], Any] = importlib.import_module(self.module).make_app
        return make(self.option, env)


APPS = (
    AppSpec(
        "ours-sqlite", "ours (SQLite)", "bench.app_ours", "sqlite", "flask", "X-CSRF-Token", None
    ),
    AppSpec("ours-redis", "ours (Redis)", "bench.app_ours", "redis", "flask", "X-CSRF-Token", 1),
    AppSpec(
        "ours-postgres",
        "ours (PostgreSQL)",
        "bench.app_ours",
        "postgres",
        "flask",
        "X-CSRF-Token",
        None,
    ),
    AppSpec(
        "ours-postgres-unlogged",
        "ours (PostgreSQL, UNLOGGED)",
        "bench.app_ours",
        "postgres-unlogged",
        "flask",
        "X-CSRF-Token",
        None,
    ),
    AppSpec(
        "flask-session",
        "Flask-Session + Flask-WTF (Redis)",
        "bench.app_flask_session",
        "",
        "flask",
        "X-CSRFToken",
        2,
    ),
    AppSpec(
        "django",
        "Django cache sessions (Redis)",
        "bench.app_django",
        "",
        "django",
        "X-CSRFToken",
        3,
    ),
    AppSpec(
        "signed-cookie",
        "Flask signed cookie",
        "bench.app_signed_cookie",
        "",
        "flask",
        "X-CSRF-Token",
        None,
    ),
    AppSpec("bare", "bare Flask (no session)", "bench.app_bare", "", "flask", "X-CSRF-Token", None),
)
BY_NAME = {spec.name: spec for spec in APPS}
