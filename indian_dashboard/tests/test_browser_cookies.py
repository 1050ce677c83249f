"""Cookie tossing in Chromium: a sibling subdomain plants its session cookie for the parent.

Chromium resolves ``*.example.test`` to 127.0.0.1 (``--host-resolver-rules``), so the
dashboard is ``app.example.test`` and the attacker's page ``evil.example.test``, a
tiny server of the test's own that sets ``session=<attacker's cookie>;
Domain=example.test``. Without ``__Host-`` (``SESSION_COOKIE_SECURE=false``, the local
default) the browser then sends both cookies to the dashboard.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Browser
from tests.fixtures import CHROMIUM, CHROMIUM_ARGS

from .browser import Person
from .emulated import DHAN, dhan_account
from .http_visitor import HttpVisitor
from .servers import LiveServer

pytestmark = pytest.mark.browser

CONNECT = """async (credentials) => {
  const token = (await (await fetch('/api/session/csrf-token')).json()).csrf_token;
  const answer = await fetch('/api/broker/connect', {
    method: 'POST',
    headers: {'Content-Type': 'application/json', 'X-CSRF-Token': token},
    body: JSON.stringify({broker: 'dhan', credentials: credentials}),
  });
  return answer.status;
}"""
STATUS = "async () => (await fetch('/api/broker/status')).status"


@pytest.fixture(scope="module")
def tossing_browser(chromium: Browser) -> Iterator[Browser]:
    """Chromium that resolves every ``*.example.test`` name to loopback.

    Launched from the shared browser's Playwright: one process may run only one.
    """
    args = [*CHROMIUM_ARGS, "--host-resolver-rules=MAP *.example.test 127.0.0.1"]
    browser = chromium.browser_type.launch(executable_path=CHROMIUM, headless=True, args=args)
    yield browser
    browser.close()


class _Planter(BaseHTTPRequestHandler):
    """The sibling's page: sets the attacker's cookie for the whole parent domain."""

    cookie = ""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Set-Cookie", f"session={self.cookie}; Domain=example.test; Path=/")
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<p>nothing to see</p>")

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def sibling() -> Iterator[tuple[type[_Planter], int]]:
    """``evil.example.test``: an HTTP server on a free loopback port, stopped afterwards."""
    handler = type("Planter", (_Planter,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_planted_parent_domain_cookie_is_never_adopted(
    servers: Any, tossing_browser: Browser, sibling: tuple[type[_Planter], int]
) -> None:
    server: LiveServer = servers()
    port = server.url.rsplit(":", 1)[1]
    app_url = f"http://app.example.test:{port}"
    attacker = HttpVisitor(server.url)  # the attacker needs no name: a cookie is a value
    try:
        attacker.connect()  # the attacker's own account, dhan:<DHAN client id>
        attackers_cookie = attacker.cookie()
        handler, sibling_port = sibling
        handler.cookie = attackers_cookie

        victim = Person.start(tossing_browser, app_url)
        try:
            # Through the page: Playwright's own request context has no resolver rules.
            page = victim.context.new_page()
            page.goto(app_url + "/")
            assert page.evaluate(CONNECT, dhan_account("VICTIM1")) == 200
            page.goto(f"http://evil.example.test:{sibling_port}/")
            planted = [c for c in victim.context.cookies() if c["name"] == "session"]
            assert {c["domain"] for c in planted} == {"app.example.test", ".example.test"}

            # Both cookies reach the dashboard: neither is adopted, both sessions end,
            # and every variant of the cookie is expired (the planted one too).
            page.goto(app_url + "/healthz")
            assert page.evaluate(STATUS) == 401
            # The browser's cookie store may take a moment to apply the expiries.
            for _ in range(20):
                left = [c for c in victim.context.cookies() if c["name"] == "session"]
                if not left:
                    break
                page.wait_for_timeout(100)
            assert left == []
            page.goto(app_url + "/")
            assert DHAN["client_id"] not in page.content()  # never the attacker's account
            # The attacker's own copy is dead too: nobody is switched into it later.
            assert attacker.get("/api/broker/status").json()["error"] == "session_revoked"
        finally:
            victim.close()
    finally:
        attacker.close()
