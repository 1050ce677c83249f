"""Debian's nginx with the SHIPPED site config (deploy/nginx), for the deploy tests.

The config is used as shipped; only its ports, certificate paths and upstream
addresses are replaced (each replacement must match, so a changed file fails
loudly here rather than testing something else). nginx runs from
a temp dir on free loopback ports, with a certificate made by the test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.processes import free_port, stop_process

from .deployment import DEPLOY, Certificate, wait_for_tls

SITE = DEPLOY / "nginx" / "indian-dashboard.conf"
SEVERAL = DEPLOY / "nginx" / "upstream-several.conf"
_UPSTREAM_BLOCK = re.compile(r"^upstream indian_dashboard \{\n.*?^\}\n", re.M | re.S)


def nginx_binary() -> str:
    """Debian's nginx; missing, a clear failure (``make system-deps`` installs it)."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", 1) else "")
    if not found:
        raise RuntimeError("nginx not found: run `make system-deps` (Debian's nginx)")
    return found


def _replace(text: str, old: str, new: str) -> str:
    if old not in text:
        raise AssertionError(f"the shipped nginx config no longer contains {old!r}")
    return text.replace(old, new)


def render_site(
    *, https_port: int, http_port: int, upstreams: list[int], certificate: Certificate
) -> str:
    """The shipped site with test ports, certificate and app servers (one: the single
    upstream as shipped; several: upstream-several.conf in its place, as docs/deploy.md says)."""
    text = SITE.read_text()
    for old, new in (
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("    listen [::]:80;\n", ""),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        ("    listen [::]:443 ssl http2;\n", ""),
        ("/etc/letsencrypt/live/dash.example.com/fullchain.pem", str(certificate.chain)),
        ("/etc/letsencrypt/live/dash.example.com/privkey.pem", str(certificate.key)),
        # The redirect names the https port, which is not 443 here.
        ("https://$host$request_uri", f"https://$host:{https_port}$request_uri"),
    ):
        text = _replace(text, old, new)
    if len(upstreams) == 1:
        return _replace(text, "server 127.0.0.1:5000 ", f"server 127.0.0.1:{upstreams[0]} ")
    several = SEVERAL.read_text()
    for address, port in zip(("10.0.0.11:5000", "10.0.0.12:5000"), upstreams, strict=True):
        several = _replace(several, f"server {address} ", f"server 127.0.0.1:{port} ")
    block = _UPSTREAM_BLOCK.search(several)
    assert block is not None, "upstream-several.conf has no upstream block"
    if not _UPSTREAM_BLOCK.search(text):
        raise AssertionError("the shipped nginx config has no upstream block")
    return _UPSTREAM_BLOCK.sub(lambda _: block.group(0), text, count=1)


@dataclass
class Nginx:
    """nginx in a temp dir: ``url`` is https, ``http_url`` the redirecting plain port."""

    process: subprocess.Popen[bytes]
    url: str
    http_url: str
    folder: Path

    def error_log(self) -> str:
        path = self.folder / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        stop_process(self.process)


def start_nginx(
    folder: Path,
    *,
    upstreams: list[int],
    certificate: Certificate,
    https_port: int | None = None,
    http_port: int | None = None,
) -> Nginx:
    """Run nginx with the shipped site in front of the app servers on ``upstreams``.

    Its ports are free ones unless given (the app's public origin names the https one).
    """
    folder.mkdir(parents=True, exist_ok=True)
    https_port = https_port or free_port()
    http_port = http_port or free_port()
    site = folder / "site.conf"
    site.write_text(
        render_site(
            https_port=https_port,
            http_port=http_port,
            upstreams=upstreams,
            certificate=certificate,
        )
    )
    temp = "\n".join(
        f"    {kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi")
    )
    # What Debian's /etc/nginx/nginx.conf gives a site: the http block around it.
    (folder / "nginx.conf").write_text(
        f"""daemon off;
worker_processes 1;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} info;
{"user root;" if os.geteuid() == 0 else ""}
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    access_log {folder / "access.log"};
{temp}
    uwsgi_temp_path {folder / "uwsgi"};
    scgi_temp_path {folder / "scgi"};
    include {site};
}}
"""
    )
    command = [nginx_binary(), "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e"]
    command.append(str(folder / "error.log"))
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
    if checked.returncode != 0:
        raise RuntimeError(f"nginx -t refused the shipped config:\n{checked.stderr}")
    with (folder / "stderr.log").open("wb") as err:
        process = subprocess.Popen(command, stdout=err, stderr=err, stdin=subprocess.DEVNULL)
    server = Nginx(
        process, f"https://127.0.0.1:{https_port}", f"http://127.0.0.1:{http_port}", folder
    )
    try:
        wait_for_tls(https_port, certificate.ca, process, server.error_log, "nginx")
    except RuntimeError:
        server.stop()
        raise
    return server
