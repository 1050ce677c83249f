"""The shipped deployment, tested: Debian's nginx with deploy/nginx/indian-dashboard.conf,
a certificate made here, the app behind it with deploy/systemd/indian-dashboard.env,
and Chromium over HTTPS through connect, watchlist, extend and logout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from tests.processes import free_port

from .deployment import DEPLOY, Certificate, https_client, make_certificate, port_of, shipped_env
from .emulated import DHAN
from .nginx import Nginx, start_nginx
from .servers import SECRET, LiveServer, start_server

pytestmark = pytest.mark.server

UNIT = DEPLOY / "systemd" / "indian-dashboard.service"


@dataclass
class Deployment:
    """The app (as the systemd unit runs it) behind nginx (as shipped)."""

    app: LiveServer
    nginx: Nginx
    certificate: Certificate
    folder: Path
    env: dict[str, str]

    def session(self) -> requests.Session:
        """An HTTPS client that trusts the test CA."""
        return https_client(self.certificate.ca)


def _app_env(folder: Path, public_origin: str) -> dict[str, str]:
    env = shipped_env()
    assert env["FLASK_SECRET_KEY"].startswith("REPLACE"), "the shipped file holds no real key"
    env.update(
        FLASK_SECRET_KEY=SECRET,
        SESSION_PUBLIC_ORIGIN=public_origin,
        SESSION_AUDIT_LOG=str(folder / "audit.jsonl"),
        SESSION_METRICS="true",
    )
    return env


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """nginx on free loopback ports in front of one app server on SQLite."""
    folder = tmp_path_factory.mktemp("deploy")
    certificate = make_certificate(folder / "tls")
    https_port = free_port()
    env = _app_env(folder, f"https://127.0.0.1:{https_port}")
    app = start_server(folder, env=env, args=("--access-log", str(folder / "access.log")))
    try:
        nginx = start_nginx(
            folder / "nginx",
            upstreams=[port_of(app.url)],
            certificate=certificate,
            https_port=https_port,
        )
        try:
            yield Deployment(app, nginx, certificate, folder, env)
        finally:
            nginx.stop()
    finally:
        app.stop()


@pytest.mark.browser
def test_chromium_over_https_connects_adds_extends_and_logs_out(
    deployed: Deployment, people: Any, tmp_path: Path
) -> None:
    person = people(
        deployed.nginx, {"pollInterval": 30, "warningThreshold": 20}, ignore_https_errors=True
    )
    page = person.context.new_page()
    failed: list[tuple[int, str]] = []
    errors: list[str] = []
    page.on("response", lambda r: failed.append((r.status, r.url)) if r.status >= 400 else None)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(deployed.nginx.url + "/")
    page.wait_for_selector("#connect-form")
    page.wait_for_load_state("networkidle")
    # The connect page loads without a failing request (no 401 in the console), favicon too.
    assert failed == [] and errors == []
    assert page.evaluate("window.isSecureContext") is True
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert icon is not None
    fetched = person.context.request.get(deployed.nginx.url + icon)
    assert fetched.status == 200 and fetched.headers["content-type"].startswith("image/svg")

    # Dhan's direct sign-in (a Web-made token) at the emulator, through the form.
    page.get_by_label("Broker", exact=True).select_option("dhan")
    page.get_by_label("Sign in with").select_option(label="Access token (this form)")
    page.get_by_label("Client ID").fill(DHAN["client_id"])
    page.get_by_label("Access token").fill(DHAN["access_token"])
    page.get_by_role("button", name="Connect").click()
    page.wait_for_selector("#watchlist-form")
    cookie = next(c for c in person.context.cookies() if c["name"] == "__Host-session")
    assert cookie["secure"] and cookie["httpOnly"] and cookie["path"] == "/"

    page.get_by_label("NSE symbol").fill("INFY")
    page.get_by_label("NSE symbol").press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#watchlist li').length === 1")
    with page.expect_response(lambda r: r.url.endswith("/api/session/extend")) as extended:
        page.get_by_role("button", name="Stay signed in").click()
    assert extended.value.status == 200 and extended.value.json()["extended"] in (True, False)
    page.wait_for_function("() => document.querySelectorAll('#session-list li').length >= 1")
    # The device list shows the browser's address as nginx saw it, not a forwarded guess.
    assert "127.0.0.1" in (page.locator("#session-list").text_content() or "")
    shot = tmp_path / "dashboard-https.png"
    page.screenshot(path=str(shot))
    if os.environ.get("DEPLOY_SCREENSHOT"):  # `make screenshots`-style copy for the docs
        shutil.copy(shot, os.environ["DEPLOY_SCREENSHOT"])
    assert failed == [] and errors == []

    with page.expect_response(lambda r: r.url.endswith("/api/session/clear")) as cleared:
        page.get_by_role("button", name="Log out").click()
    assert cleared.value.status == 200
    page.wait_for_selector("#connect-form")
    after = person.context.request.get(deployed.nginx.url + "/api/session/info")
    # Logged out: no session, or only the connect page's new pre-login one.
    assert after.status == 401 or after.json()["session"]["is_active"] is False
    assert not [status for status, _ in failed if status >= 500]
    # Every request went through nginx over https to the one app server.
    assert "POST /api/session/extend" in (deployed.folder / "access.log").read_text()


def test_plain_http_only_redirects_to_https(deployed: Deployment) -> None:
    answer = requests.get(
        deployed.nginx.http_url + "/api/session/csrf-token?x=1", allow_redirects=False, timeout=5
    )
    assert answer.status_code == 301
    assert answer.headers["Location"] == deployed.nginx.url + "/api/session/csrf-token?x=1"
    assert "Set-Cookie" not in answer.headers


def test_every_https_answer_carries_hsts(deployed: Deployment) -> None:
    client = deployed.session()
    for path, status in (("/", 200), ("/api/session/info", 401), ("/nowhere", 404)):
        answer = client.get(deployed.nginx.url + path, timeout=5)
        assert answer.status_code == status
        assert answer.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
        assert "nginx/" not in answer.headers.get("Server", "")


def test_metrics_are_served_on_the_app_port_only(deployed: Deployment) -> None:
    assert requests.get(deployed.app.url + "/metrics", timeout=5).status_code == 200
    answer = deployed.session().get(deployed.nginx.url + "/metrics", timeout=5)
    assert answer.status_code == 403
    assert "dashboard_" not in answer.text


def test_an_oversized_body_stops_at_nginx(deployed: Deployment) -> None:
    answer = deployed.session().post(
        deployed.nginx.url + "/api/watchlist?big=1", data=b"x" * 100_000, timeout=5
    )
    assert answer.status_code == 413
    assert "/api/watchlist?big=1" not in (deployed.folder / "access.log").read_text()


def test_prelogin_endpoints_are_rate_limited(deployed: Deployment, tmp_path: Path) -> None:
    # Its own nginx, so the limit's counters do not reach the other tests.
    nginx = start_nginx(
        tmp_path / "nginx", upstreams=[port_of(deployed.app.url)], certificate=deployed.certificate
    )
    try:
        client = deployed.session()
        statuses = [
            client.post(nginx.url + "/api/broker/connect", json={}, timeout=5).status_code
            for _ in range(12)
        ]
        assert statuses[0] == 403  # reached the app: no CSRF token
        assert 429 in statuses and statuses.count(429) >= 5
        # Other endpoints are not limited.
        assert all(client.get(nginx.url + "/healthz", timeout=5).ok for _ in range(12))
    finally:
        nginx.stop()


def test_sessions_check_passes_against_the_deployment(deployed: Deployment) -> None:
    env = {**os.environ, **deployed.env}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "indian_dashboard",
            "sessions",
            "--instance",
            str(deployed.folder / "instance"),
            "check",
            "--url",
            deployed.nginx.url,
            "--cafile",
            str(deployed.certificate.ca),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=deployed.folder,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    names = ("secret key", "secure cookie", "hsts", "proxies", "public origin", "store")
    for name in (*names, "key file permissions"):
        assert any(line.startswith(f"ok    {name}:") for line in lines), result.stdout
    assert lines[-1] == "all checks passed"


def test_the_systemd_unit_verifies_and_its_command_parses(tmp_path: Path) -> None:
    from indian_dashboard.__main__ import _parse
    from indian_dashboard.config import config_from_env

    text = UNIT.read_text()
    exec_start = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    python, _, command = exec_start.removeprefix("ExecStart=").partition(" -m indian_dashboard ")
    args = _parse(command.split())
    assert (args.host, args.instance, args.access_log) == (
        "127.0.0.1",
        "/var/lib/indian-dashboard",
        "-",
    )
    assert "StateDirectory=indian-dashboard" in text and "User=indian-dashboard" in text
    assert "EnvironmentFile=/etc/indian-dashboard/env" in text
    config = config_from_env(shipped_env())
    assert config["SESSION_COOKIE_SECURE"] is True and config["SESSION_TRUSTED_PROXIES"] == 1
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is missing: run `make system-deps`")
    unit = tmp_path / "indian-dashboard.service"
    unit.write_text(text.replace(python, sys.executable))
    checked = subprocess.run(
        [analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0 and checked.stderr.strip() == "", checked.stderr
