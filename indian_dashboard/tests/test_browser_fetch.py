"""sessionManager.fetch: where the CSRF token goes, where it never goes, and stale tokens."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from .browser import Tab

pytestmark = pytest.mark.browser

CONFIG = {"pollInterval": 30, "warningThreshold": 20}
HEADER = "x-csrf-token"


class Foreign:
    """Another origin on loopback that answers anything (CORS allowed) and records headers."""

    def __init__(self) -> None:
        seen: list[tuple[str, str, dict[str, str]]] = []

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                seen.append(
                    (self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
                )
                # /offer answers JSON holding a token, as a hostile API might.
                body = (
                    b'{"csrf_token": "planted-by-another-origin"}' if self.path == "/offer" else b""
                )
                self.send_response(200)
                self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin") or "*")
                self.send_header("Access-Control-Allow-Headers", "*")
                self.send_header("Access-Control-Allow-Methods", "*")
                if body:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.seen = seen
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def foreign() -> Iterator[Foreign]:
    server = Foreign()
    yield server
    server.close()


@pytest.fixture
def tab(servers: Any, people: Any) -> Tab:
    """A connected tab; the page's CSP is bypassed, or the browser itself would stop
    the foreign requests before the client's own defence could be seen."""
    person = people(servers(SESSION_TIMEOUT="60"), CONFIG, bypass_csp=True)
    person.connect()
    opened: Tab = person.open()
    return opened


def sent_headers(tab: Tab, method: str, path: str) -> list[dict[str, str]]:
    return [s.headers for s in tab.person.requests(method, path)]


def test_token_goes_on_same_origin_unsafe_methods_only(tab: Tab) -> None:
    token = tab.page.evaluate("sessionManager.getCSRFToken()")
    tab.page.evaluate(
        """async () => {
          for (const m of ['POST', 'PUT', 'PATCH', 'DELETE', 'GET', 'HEAD', 'OPTIONS']) {
            await sessionManager.fetch('/probe/' + m, {method: m});
          }
          await sessionManager.fetch(new URL('/probe/url', location.href), {method: 'POST'});
          await sessionManager.fetch(new Request('/probe/request', {method: 'PUT'}));
          await sessionManager.fetch('/probe/headers', {method: 'POST',
                                     headers: new Headers({'X-Other': '1'})});
          await sessionManager.fetch('/probe/mine', {method: 'POST',
                                     headers: {'X-CSRF-Token': 'caller-value'}});
        }"""
    )
    tab.page.wait_for_timeout(200)
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert sent_headers(tab, method, f"/probe/{method}")[0][HEADER] == token
    for method in ("GET", "HEAD", "OPTIONS"):
        assert HEADER not in sent_headers(tab, method, f"/probe/{method}")[0]
    assert sent_headers(tab, "POST", "/probe/url")[0][HEADER] == token
    assert sent_headers(tab, "PUT", "/probe/request")[0][HEADER] == token
    assert sent_headers(tab, "POST", "/probe/headers")[0][HEADER] == token
    assert sent_headers(tab, "POST", "/probe/mine")[0][HEADER] == "caller-value"  # not overwritten


def test_token_never_goes_to_another_origin(tab: Tab, foreign: Foreign) -> None:
    port = foreign.url.rsplit(":", 1)[1]
    tab.page.evaluate(
        """async ([url, port]) => {
          const tries = [
            () => sessionManager.fetch(url + '/string', {method: 'POST', body: 'x'}),
            () => sessionManager.fetch('//127.0.0.1:' + port + '/scheme-relative',
                                       {method: 'POST'}),
            () => sessionManager.fetch(new URL(url + '/url-object'), {method: 'PUT'}),
            () => sessionManager.fetch(new Request(url + '/request', {method: 'DELETE'})),
            () => sessionManager.fetch('http://localhost:' + port + '/other-host',
                                       {method: 'PATCH'}),
            () => sessionManager.fetch('http://[::1', {method: 'POST'}),
          ];
          for (const t of tries) { try { await t(); } catch (e) { /* refused */ } }
        }""",
        [foreign.url, port],
    )
    paths = {path for method, path, _ in foreign.seen if method != "OPTIONS"}
    assert {"/string", "/scheme-relative", "/url-object", "/request", "/other-host"} <= paths
    for _method, _path, headers in foreign.seen:
        assert HEADER not in headers
        assert (
            "access-control-request-headers" not in headers
            or HEADER not in (headers["access-control-request-headers"])
        )


def test_redirect_to_another_origin_does_not_carry_the_token(tab: Tab, foreign: Foreign) -> None:
    tab.page.route(
        "**/bounce",
        lambda route: route.fulfill(status=307, headers={"Location": foreign.url + "/sink"}),
    )
    outcome = tab.page.evaluate(
        """async () => {
          try {
            const r = await sessionManager.fetch('/bounce', {method: 'POST', body: 'x'});
            return 'answered ' + r.status;
          } catch (e) { return 'refused'; }
        }"""
    )
    assert outcome == "refused"
    assert HEADER in sent_headers(tab, "POST", "/bounce")[0]
    assert [s for s in foreign.seen if s[1] == "/sink"] == []


def test_stale_token_is_refreshed_once_for_five_parallel_calls(tab: Tab) -> None:
    person = tab.person
    person.connect()  # rotates the session id and its token behind the tab's back
    refreshes_before = person.count("GET", "/api/session/csrf-token", page=tab.page)
    statuses = tab.page.evaluate(
        """async () => Promise.all(['A1', 'B2', 'C3', 'D4', 'E5'].map(async s =>
             (await sessionManager.fetch('/api/watchlist', {method: 'POST',
               headers: {'Content-Type': 'application/json'},
               body: JSON.stringify({symbol: s})})).status))"""
    )
    tab.page.wait_for_timeout(200)
    assert statuses == [200] * 5
    assert person.count("GET", "/api/session/csrf-token", page=tab.page) == refreshes_before + 1
    assert person.count("POST", "/api/watchlist") == 10  # each failed once, retried once
    _, body = person.server_info()
    listed = person.context.request.get(person.base_url + "/api/watchlist").json()["watchlist"]
    assert sorted(listed) == ["A1", "B2", "C3", "D4", "E5"]
    assert body["status"] == "success"


def test_second_csrf_failure_goes_back_to_the_caller(tab: Tab) -> None:
    tab.page.route(
        "**/api/watchlist",
        lambda route: route.fulfill(
            status=403,
            content_type="application/json",
            body='{"status":"error","error":"csrf_invalid","message":"no"}',
        ),
    )
    status = tab.page.evaluate(
        """async () => (await sessionManager.fetch('/api/watchlist', {method: 'POST',
             body: '{}'})).status"""
    )
    assert status == 403
    assert tab.person.count("POST", "/api/watchlist") == 2  # one retry, no loop


def test_401_fires_session_expired(tab: Tab) -> None:
    person = tab.person
    person.context.request.post(
        person.base_url + "/api/session/clear", headers={"X-CSRF-Token": person.token()}
    )  # ended elsewhere; the tab polls only every 30 s
    status = tab.page.evaluate(
        """async () => (await sessionManager.fetch('/api/watchlist', {method: 'POST',
             headers: {'Content-Type': 'application/json'},
             body: JSON.stringify({symbol: 'INFY'})})).status"""
    )
    assert status in (401, 403)
    expired = tab.wait_event("sessionExpired", timeout=2)
    assert expired["detail"]["reason"] == "revoked"


@pytest.mark.parametrize("mode", ["cors", "no-cors", "same-origin"])
def test_caller_mode_and_a_redirect_elsewhere_never_carry_the_token(
    tab: Tab, foreign: Foreign, mode: str
) -> None:
    """A same-origin URL that answers 307 to another origin, whatever mode the caller set."""
    tab.page.route(
        "**/bounce",
        lambda route: route.fulfill(status=307, headers={"Location": foreign.url + "/sink"}),
    )
    outcome = tab.page.evaluate(
        """async (mode) => {
          try {
            const r = await sessionManager.fetch('/bounce', {method: 'POST', body: 'x', mode});
            return 'answered ' + r.status;
          } catch (e) { return 'refused'; }
        }""",
        mode,
    )
    assert outcome == "refused"
    assert HEADER in sent_headers(tab, "POST", "/bounce")[0]
    assert [s for s in foreign.seen if s[1] == "/sink"] == []


def test_an_answer_from_elsewhere_is_never_read_for_a_token(tab: Tab, foreign: Foreign) -> None:
    """A safe same-origin GET redirected to a CORS-open origin that offers a token."""
    tab.page.route(
        "**/leave",
        lambda route: route.fulfill(status=302, headers={"Location": foreign.url + "/offer"}),
    )
    before = tab.page.evaluate("sessionManager.getCSRFToken()")
    status = tab.page.evaluate("async () => (await sessionManager.fetch('/leave')).status")
    assert status == 200  # the caller gets its answer
    assert [p for m, p, _ in foreign.seen if m == "GET"] == ["/offer"]
    assert tab.page.evaluate("sessionManager.getCSRFToken()") == before
