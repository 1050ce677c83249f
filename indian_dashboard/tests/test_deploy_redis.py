"""Two app servers on one Redis behind the shipped nginx upstream (upstream-several.conf):
one of them stops mid-session and the session goes on, through the other."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from tests.processes import free_port
from tests.redis_server import RedisServer

from .deployment import https_client, make_certificate, port_of, shipped_env
from .emulated import DHAN
from .nginx import start_nginx
from .servers import SECRET, LiveServer, start_server

pytestmark = [pytest.mark.server, pytest.mark.redis]


def _served(server: LiveServer, log: Path, path: str) -> int:
    return sum(1 for line in log.read_text().splitlines() if f" {path} " in line)


def test_a_session_survives_one_of_two_servers_stopping(
    own_redis: RedisServer, tmp_path: Path
) -> None:
    env = shipped_env()
    # Behind a proxy the public origin is configuration (start-up stops without it):
    # nginx's own https port, picked first.
    https_port = free_port()
    env["SESSION_PUBLIC_ORIGIN"] = f"https://127.0.0.1:{https_port}"
    env.update(
        FLASK_SECRET_KEY=SECRET,
        SESSION_STORE_URL=own_redis.url,
        SESSION_AUDIT_LOG=str(tmp_path / "audit.jsonl"),
    )
    logs = [tmp_path / "a.access.log", tmp_path / "b.access.log"]
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    servers = [
        start_server(
            tmp_path / name, workers=1, env=env, name=name, args=("--access-log", str(log))
        )
        for name, log in zip(("a", "b"), logs, strict=True)
    ]
    certificate = make_certificate(tmp_path / "tls")
    nginx = start_nginx(
        tmp_path / "nginx",
        upstreams=[port_of(s.url) for s in servers],
        certificate=certificate,
        https_port=https_port,
    )
    try:
        client = https_client(certificate.ca)
        base = nginx.url
        # What a hostile client adds to every request: nginx must overwrite or drop each.
        client.headers.update(
            {
                "Origin": base,
                "X-Forwarded-For": "203.0.113.9",
                "X-Forwarded-Host": "evil.example",
                "X-Forwarded-Port": "8443",
                "X-Forwarded-Proto": "http",
                "Forwarded": "for=203.0.113.9;host=evil.example;proto=http",
            }
        )

        def token_post(path: str, token: str, **kwargs: object) -> requests.Response:
            return client.post(base + path, headers={"X-CSRF-Token": token}, timeout=5, **kwargs)  # type: ignore[arg-type]

        pre = client.get(base + "/api/session/csrf-token", timeout=5).json()["csrf_token"]
        connected = token_post(
            "/api/broker/connect", pre, json={"broker": "dhan", "credentials": DHAN}
        )
        assert connected.status_code == 200, connected.text
        token = connected.json()["csrf_token"]
        assert client.cookies.get("__Host-session")
        for symbol in ("INFY", "TCS", "SBIN", "ITC"):
            added = token_post("/api/watchlist", token, json={"symbol": symbol})
            assert added.status_code in (200, 201), added.text
        # Round robin: both servers served this session.
        assert all(_served(s, log, "/api/watchlist") for s, log in zip(servers, logs, strict=True))

        servers[0].stop()  # mid-session
        served_before = _served(servers[1], logs[1], "/api/watchlist")
        for _ in range(4):
            listed = client.get(base + "/api/watchlist", timeout=5)
            assert listed.status_code == 200, listed.text
            assert listed.json()["watchlist"] == ["INFY", "TCS", "SBIN", "ITC"]
        assert token_post("/api/watchlist", token, json={"symbol": "WIPRO"}).status_code in (
            200,
            201,
        )
        extended = token_post("/api/session/extend", token)
        assert extended.status_code == 200, extended.text
        assert _served(servers[1], logs[1], "/api/watchlist") == served_before + 5
        # The client's address is the one nginx saw, never the forged one.
        sessions = client.get(base + "/api/session/list", timeout=5).json()["sessions"]
        assert [s["ip"] for s in sessions] == ["127.0.0.1"]
        assert "203.0.113.9" not in (tmp_path / "audit.jsonl").read_text()

        assert token_post("/api/session/clear", token).status_code == 200
        assert client.get(base + "/api/session/info", timeout=5).status_code == 401
    finally:
        nginx.stop()
        for server in servers:
            server.stop()
