"""The shipped Caddyfile, tested: Debian's Caddy with a certificate made here, the app
behind it. Only the site's address and ports, the certificate files and the app's port
are filled in (plus global options that keep Caddy inside the test's temp dir)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from tests.processes import free_port, stop_process

from .deployment import (
    DEPLOY,
    Certificate,
    https_client,
    make_certificate,
    shipped_env,
    wait_for_tls,
)
from .emulated import DHAN
from .servers import SECRET, LiveServer, start_server

pytestmark = pytest.mark.server

CADDYFILE = DEPLOY / "caddy" / "Caddyfile"


def _replace(text: str, old: str, new: str) -> str:
    if old not in text:
        raise AssertionError(f"the shipped Caddyfile no longer contains {old!r}")
    return text.replace(old, new)


@dataclass
class Caddy:
    process: subprocess.Popen[bytes]
    url: str
    http_url: str
    app: LiveServer
    certificate: Certificate

    def client(self) -> requests.Session:
        return https_client(self.certificate.ca)


def _caddy_binary() -> str:
    found = shutil.which("caddy")
    if not found:
        pytest.fail("caddy not found: run `make system-deps` (Debian's caddy)")
    return found


@pytest.fixture(scope="module")
def caddy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Caddy]:
    folder = tmp_path_factory.mktemp("caddy")
    certificate = make_certificate(folder / "tls")
    https_port, http_port = free_port(), free_port()
    env = shipped_env()
    # Behind a proxy the public origin is configuration (start-up stops without it).
    env["SESSION_PUBLIC_ORIGIN"] = f"https://127.0.0.1:{https_port}"
    env.update(
        FLASK_SECRET_KEY=SECRET,
        SESSION_AUDIT_LOG=str(folder / "audit.jsonl"),
        SESSION_METRICS="true",
    )
    app = start_server(folder, env=env)
    text = CADDYFILE.read_text()
    text = _replace(
        text,
        "dash.example.com {\n",
        f"https://127.0.0.1:{https_port} {{\n\ttls {certificate.chain} {certificate.key}\n",
    )
    text = _replace(text, "reverse_proxy 127.0.0.1:5000 {", f"reverse_proxy {app.url[7:]} {{")
    config = folder / "Caddyfile"
    config.write_text(
        f"{{\n\tadmin off\n\thttp_port {http_port}\n\thttps_port {https_port}\n"
        f"\tstorage file_system {folder / 'data'}\n\tskip_install_trust\n}}\n\n{text}"
    )
    caddy_env = {
        **os.environ,
        "HOME": str(folder),
        "XDG_DATA_HOME": str(folder / "data"),
        "XDG_CONFIG_HOME": str(folder / "config"),
    }
    command = [_caddy_binary(), "run", "--config", str(config), "--adapter", "caddyfile"]
    with (folder / "caddy.log").open("wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=caddy_env, cwd=folder
        )
    served = Caddy(
        process,
        f"https://127.0.0.1:{https_port}",
        f"http://127.0.0.1:{http_port}",
        app,
        certificate,
    )
    try:
        wait_for_tls(https_port, certificate.ca, process, (folder / "caddy.log").read_text, "caddy")
        yield served
    finally:
        stop_process(process)
        app.stop()


def test_caddy_serves_the_flow_over_https_with_hsts(caddy: Caddy) -> None:
    client = caddy.client()
    base = caddy.url
    pre = client.get(base + "/api/session/csrf-token", timeout=5)
    assert pre.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    headers = {"X-CSRF-Token": pre.json()["csrf_token"], "Origin": base}
    connected = client.post(
        base + "/api/broker/connect",
        json={"broker": "dhan", "credentials": DHAN},
        headers={
            **headers,
            # What a hostile client adds: Caddy drops or overwrites each.
            "X-Forwarded-For": "203.0.113.9",
            "X-Forwarded-Host": "evil.example",
            "X-Forwarded-Port": "8443",
            "X-Forwarded-Proto": "http",
            "Forwarded": "for=203.0.113.9;host=evil.example;proto=http",
        },
        timeout=5,
    )
    assert connected.status_code == 200, connected.text
    assert client.cookies.get("__Host-session")
    sessions = client.get(base + "/api/session/list", timeout=5).json()["sessions"]
    assert [s["ip"] for s in sessions] == ["127.0.0.1"]
    token = connected.json()["csrf_token"]
    assert (
        client.post(base + "/api/session/clear", headers={"X-CSRF-Token": token}, timeout=5)
    ).status_code == 200


def test_caddy_redirects_http_keeps_metrics_internal_and_limits_bodies(caddy: Caddy) -> None:
    redirect = requests.get(caddy.http_url + "/x?y=1", allow_redirects=False, timeout=5)
    assert redirect.status_code in (301, 308)
    assert redirect.headers["Location"].startswith("https://127.0.0.1")
    client = caddy.client()
    assert client.get(caddy.url + "/metrics", timeout=5).status_code == 403
    assert requests.get(caddy.app.url + "/metrics", timeout=5).status_code == 200
    big = client.post(caddy.url + "/api/watchlist", data=b"x" * 100_000, timeout=5)
    assert big.status_code == 413
