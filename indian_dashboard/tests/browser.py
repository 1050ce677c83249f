"""Helpers for the browser tests: Debian's Chromium driven by Playwright.

A :class:`Person` is one browser context (one cookie jar, any number of tabs);
it records every request its tabs send, so tests can count what the server sees.
Each :class:`Tab` records the session events its page fires. Chromium itself is
the shared ``chromium`` fixture (tests/fixtures.py of the library).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, Page, Request, ViewportSize

from .emulated import kite_credentials, sign_in

#: Records the four session events on window.__events, before any page script runs.
RECORD_EVENTS = """
window.__events = [];
['sessionExpired', 'sessionWarning', 'sessionExtended', 'sessionCleared'].forEach(function (n) {
  window.addEventListener(n, function (e) {
    window.__events.push({type: n, detail: e.detail, at: performance.now(), wall: Date.now()});
  });
});
"""
NO_BROADCAST_CHANNEL = "delete window.BroadcastChannel;"


@dataclass
class Seen:
    """One request a tab sent."""

    at: float
    page: Page
    method: str
    url: str
    path: str
    headers: dict[str, str]


@dataclass
class Tab:
    """One page of a :class:`Person`."""

    page: Page
    person: Person

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.page.evaluate("window.__events")
        return [e for e in found if kind is None or e["type"] == kind]

    def wait_event(self, kind: str, timeout: float = 5.0) -> dict[str, Any]:
        """Wait until the page fired ``kind``; return its first occurrence."""
        self.page.wait_for_function(
            "k => window.__events.some(e => e.type === k)", arg=kind, timeout=timeout * 1000
        )
        return self.events(kind)[0]

    def state(self) -> str:
        return str(self.page.evaluate("sessionManager.getState()"))

    def info(self) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self.page.evaluate("sessionManager.getSessionInfo()")
        return result

    def wait_ready(self) -> None:
        """Wait until the client has its token and its first answer."""
        self.page.wait_for_function(
            "() => window.sessionManager && sessionManager.getCSRFToken() && "
            "sessionManager.getState() !== 'none'",
            timeout=5000,
        )

    def wiggle(self, seconds: float, step: float = 0.1) -> int:
        """Move the mouse to new coordinates every ``step`` seconds (real input)."""
        moves = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            moves += 1
            self.page.mouse.move(50 + moves % 200, 60 + moves % 97)
            self.page.wait_for_timeout(step * 1000)
        return moves

    def phantom_moves(self, seconds: float, step: float = 0.1) -> None:
        """Mouse moves that never change the position (what some systems send)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.page.evaluate(
                "document.body.dispatchEvent(new MouseEvent('mousemove', "
                "{bubbles: true, screenX: 7, screenY: 7}))"
            )
            self.page.wait_for_timeout(step * 1000)


@dataclass
class Person:
    """One browser context on one server: shared cookies, several tabs."""

    context: BrowserContext
    base_url: str
    seen: list[Seen] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        browser: Browser,
        base_url: str,
        config: dict[str, Any] | None = None,
        *,
        broadcast: bool = True,
        viewport: ViewportSize | None = None,
        bypass_csp: bool = False,
        ignore_https_errors: bool = False,
    ) -> Person:
        context = browser.new_context(
            viewport=viewport or {"width": 1280, "height": 720},
            bypass_csp=bypass_csp,
            # For a server whose certificate the test made itself.
            ignore_https_errors=ignore_https_errors,
        )
        context.set_default_timeout(5000)
        if config is not None:
            context.add_init_script(f"window.sessionManagerConfig = {json.dumps(config)};")
        if not broadcast:
            context.add_init_script(NO_BROADCAST_CHANNEL)
        context.add_init_script(RECORD_EVENTS)
        person = cls(context, base_url)
        context.on("request", person._record)
        return person

    def _record(self, request: Request) -> None:
        frame = request.frame
        self.seen.append(
            Seen(
                time.monotonic(),
                frame.page,
                request.method,
                request.url,
                urlsplit(request.url).path,
                request.headers,
            )
        )

    def connect(self, client_id: str = "AB1234") -> dict[str, Any]:
        """Sign in to Kite as ``client_id`` with this person's cookie jar (no page).

        The connect request and the callback go through the browser context; the
        login form at the emulator is filled in over HTTP. Returns the session info.
        """
        token = self.token()
        answer = self.context.request.post(
            self.base_url + "/api/broker/connect",
            data=json.dumps({"broker": "kite", "credentials": kite_credentials(self.base_url)}),
            headers={"Content-Type": "application/json", "X-CSRF-Token": token},
        )
        assert answer.status == 200, answer.text()
        callback = sign_in(answer.json()["redirect_url"], client_id)
        done = self.context.request.get(callback, max_redirects=0)
        assert done.status == 303, done.text()
        status, body = self.server_info()
        assert status == 200, body
        info: dict[str, Any] = body["session"]
        return info

    def token(self) -> str:
        answer = self.context.request.get(self.base_url + "/api/session/csrf-token")
        token: str = answer.json()["csrf_token"]
        return token

    def server_info(self) -> tuple[int, dict[str, Any]]:
        """The session as the server sees it (passive: does not extend)."""
        answer = self.context.request.get(self.base_url + "/api/session/info")
        return answer.status, answer.json()

    def open(self, path: str = "/", *, ready: bool = True) -> Tab:
        page = self.context.new_page()
        page.goto(self.base_url + path)
        tab = Tab(page, self)
        if ready:
            tab.wait_ready()
        return tab

    def count(self, method: str, path: str, *, since: float = 0.0, page: Page | None = None) -> int:
        return len(self.requests(method, path, since=since, page=page))

    def requests(
        self, method: str, path: str, *, since: float = 0.0, page: Page | None = None
    ) -> list[Seen]:
        return [
            s
            for s in self.seen
            if s.method == method
            and s.path == path
            and s.at >= since
            and (page is None or s.page is page)
        ]

    def close(self) -> None:
        self.context.close()


class Freezer:
    """Freeze a tab as Chrome freezes background tabs, and wake it again.

    Page.setWebLifecycleState is sent through the DevTools protocol, but headless
    Chromium ignores it for a page that is visible (and headless pages always are);
    so the tab's JavaScript is also stopped with the debugger (Debugger.pause):
    no timer, message or event handler of that tab runs until it wakes, while
    its other tabs go on. Waking resumes it, and its timers fire late, and
    Chromium's ``resume`` event is dispatched as on a real unfreeze.
    """

    def __init__(self, tab: Tab) -> None:
        self.tab = tab
        self.cdp = tab.page.context.new_cdp_session(tab.page)
        self.cdp.send("Debugger.enable")

    def freeze(self) -> None:
        self.tab.page.evaluate("document.dispatchEvent(new Event('freeze'))")
        self.cdp.send("Page.setWebLifecycleState", {"state": "frozen"})
        self.cdp.send("Debugger.pause")

    def wake(self) -> None:
        self.cdp.send("Debugger.disable")  # resumes, or cancels a pause not yet reached
        self.cdp.send("Page.setWebLifecycleState", {"state": "active"})
        self.tab.page.evaluate("document.dispatchEvent(new Event('resume'))")
