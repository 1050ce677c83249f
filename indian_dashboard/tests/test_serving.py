"""How ``python -m indian_dashboard`` serves: gthread workers, forwarded headers, access log,
the start-up line and ``--help``."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .emulated import DHAN
from .servers import start_server

pytestmark = pytest.mark.server


def _get(url: str, headers: dict[str, str] | None = None, timeout: float = 3) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_two_slow_header_connections_do_not_block_the_server(tmp_path: Path) -> None:
    server = start_server(tmp_path, workers=2)
    host, port = server.url.removeprefix("http://").split(":")
    slow = []
    try:
        for _ in range(2):
            sock = socket.create_connection((host, int(port)))
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # never finished
            slow.append(sock)
        time.sleep(0.3)  # both connections are in the server's hands now
        started = time.monotonic()
        for _ in range(5):
            assert _get(server.url + "/healthz", timeout=2)[0] == 200
        assert time.monotonic() - started < 2
    finally:
        for sock in slow:
            sock.close()
        server.stop()


def test_forwarded_proto_from_loopback_is_not_trusted_without_proxies(tmp_path: Path) -> None:
    """SESSION_TRUSTED_PROXIES=0: X-Forwarded-Proto: https from 127.0.0.1 makes no https
    request, so an https Origin is still a foreign one."""
    server = start_server(tmp_path, env={"SESSION_TRUSTED_PROXIES": "0"})
    try:
        https_origin = server.url.replace("http://", "https://")
        jar = urllib.request.HTTPCookieProcessor()
        opener = urllib.request.build_opener(jar)
        with opener.open(server.url + "/api/session/csrf-token", timeout=3) as answer:
            token = json.load(answer)["csrf_token"]
        body = json.dumps(
            {
                "broker": "dhan",
                "credentials": DHAN,
            }
        ).encode()
        request = urllib.request.Request(
            server.url + "/api/broker/connect",
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-CSRF-Token": token,
                "Origin": https_origin,
                "X-Forwarded-Proto": "https",
                "X-Forwarded-Ssl": "on",
                "X-Forwarded-Protocol": "ssl",
            },
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            opener.open(request, timeout=3)
        assert refused.value.code == 403
        assert json.load(refused.value)["error"] == "origin_mismatch"
    finally:
        server.stop()
    assert "X-Forwarded-For arrives" not in server.log()  # no XFF was sent


def test_access_log_has_one_line_per_request_and_no_secret(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    server = start_server(tmp_path, args=("--access-log", str(log)))
    try:
        _get(server.url + "/healthz", headers={"X-Forwarded-For": "198.51.100.7"})
        _get(server.url + "/api/session/info", headers={"Cookie": "session=secret-cookie-value"})
    finally:
        server.stop()
    lines = log.read_text().splitlines()
    assert len(lines) == 3  # the start-up probe's /healthz, then these two
    assert '127.0.0.1 xff="198.51.100.7"' in lines[1] and '"GET /healthz HTTP/1.1" 200' in lines[1]
    assert '"GET /api/session/info HTTP/1.1" 401' in lines[2]
    assert "secret-cookie-value" not in log.read_text()


def test_one_start_up_line_says_which_settings_are_in_force(tmp_path: Path) -> None:
    server = start_server(
        tmp_path,
        env={
            "SESSION_COOKIE_SECURE": "true",
            "SESSION_TRUSTED_PROXIES": "1",
            "SESSION_PUBLIC_ORIGIN": "https://dash.example.com",
            "SESSION_TIMEOUT": "1800",
        },
    )
    server.stop()
    lines = [line for line in server.log().splitlines() if "settings in force" in line]
    assert len(lines) == 1
    line = lines[0]
    for part in (
        f"store sqlite:///{tmp_path / 'live.sqlite3'}",
        "cookie __Host-session (Secure, HttpOnly, SameSite=Lax)",
        "trusted proxies 1",
        "public origin https://dash.example.com",
        "idle timeout 1800 s, absolute timeout 43200 s",
    ):
        assert part in line


def test_help_documents_the_serving_options() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "indian_dashboard", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    for option in (
        "--threads",
        "--workers",
        "--timeout",
        "--access-log",
        "--instance",
        "gthread",
        "SESSION_TRUSTED_PROXIES",
        "./instance",
    ):
        assert option in result.stdout
