"""``flask --app indian_dashboard sessions check`` and ``sessions --instance``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from tests.redis_server import RedisServer

from indian_dashboard import create_app
from indian_dashboard.config import ConfigError

from .conftest import Visitor
from .servers import SECRET

GOOD = {
    "SECRET_KEY": SECRET,
    "SESSION_STORE_URL": "memory://",
    "SESSION_COOKIE_SECURE": True,
    "SESSION_TRUSTED_PROXIES": 1,
    "SESSION_PUBLIC_ORIGIN": "https://dash.example.com",
}


def _check(app: Flask, *args: str) -> tuple[int, dict[str, str]]:
    result = app.test_cli_runner().invoke(args=["sessions", "check", *args])
    lines = {}
    for line in result.output.splitlines():
        status, _, rest = line.partition("  ")
        name, _, message = rest.strip().partition(": ")
        lines[name] = f"{status.strip()} {message}"
    return result.exit_code, lines


def test_a_production_configuration_passes(tmp_path: Path) -> None:
    app = create_app(GOOD, instance_path=str(tmp_path / "instance"))
    code, lines = _check(app)
    assert code == 0, lines
    for name in ("secret key", "secure cookie", "proxies", "public origin", "store"):
        assert lines[name].startswith("ok "), lines
    assert lines["key file permissions"].startswith("ok ")
    assert lines["hsts"].startswith("skip ") and "--url" in lines["hsts"]


def test_each_mistake_is_named_with_its_fix(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    app = create_app(
        {"SESSION_STORE_URL": "memory://", "SESSION_PUBLIC_ORIGIN": "http://dash.example.com"},
        instance_path=str(instance),
    )
    (instance / "secret_key").chmod(0o644)
    code, lines = _check(app)
    assert code == 1
    assert (
        lines["secure cookie"].startswith("fix ")
        and "SESSION_COOKIE_SECURE=true" in (lines["secure cookie"])
    )
    assert lines["proxies"].startswith("fix ") and "SESSION_TRUSTED_PROXIES=1" in lines["proxies"]
    assert lines["public origin"].startswith("fix ") and "https://" in lines["public origin"]
    permissions = lines["key file permissions"]
    assert permissions.startswith("fix ") and f"chmod 600 {instance / 'secret_key'}" in permissions
    assert "set FLASK_SECRET_KEY" in permissions  # the generated key is in use


def test_a_weak_secret_stops_start_up_naming_the_fix(tmp_path: Path) -> None:
    # The app refuses a short key before any check could run: the message is the fix.
    with pytest.raises(ConfigError, match=r"FLASK_SECRET_KEY.*secrets\.token_hex"):
        create_app({**GOOD, "SECRET_KEY": "changeme"}, instance_path=str(tmp_path / "i"))


def test_a_live_answer_without_hsts_is_named(tmp_path: Path) -> None:
    from .servers import start_server

    server = start_server(tmp_path)
    try:
        app = create_app(GOOD, instance_path=str(tmp_path / "check"))
        code, lines = _check(app, "--url", server.url)
    finally:
        server.stop()
    assert code == 1
    assert lines["hsts"].startswith("fix ") and "Strict-Transport-Security" in lines["hsts"]
    assert "make them equal" in lines["public origin"]  # --url is not the public origin


@pytest.mark.redis
def test_an_unreachable_store_is_named(own_redis: RedisServer, tmp_path: Path) -> None:
    app = create_app(
        {
            **GOOD,
            "SESSION_STORE_URL": f"redis://:pw@127.0.0.1:{own_redis.port}/0",
            "SESSION_REDIS_CONNECT_TIMEOUT": 0.5,
            "SESSION_REDIS_SOCKET_TIMEOUT": 0.5,
        },
        instance_path=str(tmp_path / "instance"),
    )
    own_redis.stop()
    _, lines = _check(app)
    assert lines["store"].startswith("fix ") and "does not answer" in lines["store"]
    assert "pw@" not in lines["store"] and ":***@" in lines["store"]
    app.extensions["session_manager"].store.close()


def _flask(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "SESSION_"))}
    env["FLASK_SECRET_KEY"] = SECRET
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "indian_dashboard", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=60,
        check=False,
    )


def test_sessions_commands_read_the_store_of_instance(tmp_path: Path) -> None:
    served = tmp_path / "srv"
    app = create_app({"SECRET_KEY": SECRET}, instance_path=str(served))
    Visitor(app.test_client()).connect()
    app.extensions["session_manager"].store.close()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = _flask(elsewhere, "sessions", "--instance", str(served), "stats")
    assert result.returncode == 0, result.stderr
    assert "live sessions: 1" in result.stdout and "kite:AB1234: 1" in result.stdout
    missing = _flask(elsewhere, "sessions", "--instance", str(tmp_path / "typo"), "stats")
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert not (tmp_path / "typo").exists()


def test_the_default_instance_folder_is_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = create_app({"SECRET_KEY": SECRET, "SESSION_STORE_URL": "memory://"})
    assert app.instance_path == str(tmp_path / "instance")
    assert (tmp_path / "instance").is_dir()
