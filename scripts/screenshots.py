"""Write docs/img/*.png from the real pages, at desktop (1100 px) and phone (390 px) size.

Serves the app with gunicorn on a free loopback port and drives Debian's
/usr/bin/chromium through Playwright. The session's times are rewritten by the
tests' TimedSession, so the warning, the cannot-extend state and the end are shown
at once instead of waited for (the page runs on Playwright's clock).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "img"
sys.path[:0] = [str(ROOT), str(ROOT / "flask-session-guard")]


PHONE_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
DESKTOP = {"viewport": {"width": 1100, "height": 720}}
PHONE = {"viewport": {"width": 390, "height": 844}, "user_agent": PHONE_AGENT}
SYMBOLS = ("RELIANCE", "TCS", "HDFCBANK", "BAJAJ-AUTO", "ABCDEFGHIJKLMNOPQRST")


def connect(context: Any, url: str, client_id: str) -> None:
    """Sign in to Kite (at the broker emulator) as ``client_id`` with this context's cookies."""
    from indian_dashboard.tests.emulated import kite_credentials, sign_in

    token = context.request.get(url + "/api/session/csrf-token").json()["csrf_token"]
    answer = context.request.post(
        url + "/api/broker/connect",
        data=json.dumps({"broker": "kite", "credentials": kite_credentials(url)}),
        headers={"Content-Type": "application/json", "X-CSRF-Token": token},
    )
    if answer.status != 200:
        raise RuntimeError(f"connect failed: {answer.status} {answer.text()}")
    done = context.request.get(sign_in(answer.json()["redirect_url"], client_id), max_redirects=0)
    if done.status != 303:
        raise RuntimeError(f"broker callback failed: {done.status} {done.text()}")


def shoot(browser: Any, url: str, size: dict[str, Any], suffix: str, client_id: str) -> list[Path]:
    """Every screen at one size, for an account of its own; returns the files written."""
    from indian_dashboard.tests.timed_session import TimedSession

    written: list[Path] = []

    def save(page: Any, name: str) -> None:
        path = OUT / f"{name}{suffix}.png"
        page.clock.run_for(1100)  # the page's 1 s tick shows the new figures
        page.screenshot(path=str(path), full_page=name == "dashboard")
        written.append(path)

    # The same account on another device first, so the session panel lists two places.
    other = browser.new_context(user_agent=PHONE_AGENT)
    connect(other, url, client_id)
    context = browser.new_context(**size)
    context.add_init_script("window.sessionManagerConfig = {autoExtend: false};")
    page = context.new_page()
    page.goto(url + "/")
    page.wait_for_load_state("networkidle")
    save(page, "connect")

    connect(context, url, client_id)
    timed = TimedSession(idle=15 * 60, absolute=8 * 3600).attach(page)
    page.clock.install()  # the page's time moves only when told: the figures stay put
    page.goto(url + "/#other-sessions=1")  # where the broker sign-in sends the trader
    page.reload()  # the hash alone does not load the page again
    page.wait_for_function("() => sessionManager.getState() === 'active'")
    field = page.get_by_label("NSE symbol")
    for symbol in SYMBOLS:
        field.fill(symbol)
        field.press("Enter")
        page.wait_for_function(
            "s => document.querySelector('#watchlist').textContent.includes(s)", arg=symbol
        )
    field.fill("STRAßE")
    field.press("Enter")
    page.wait_for_function("() => document.querySelector('#watchlist-error').textContent")
    page.wait_for_function("() => document.querySelectorAll('#session-list li').length === 2")
    save(page, "dashboard")

    timed.set_remaining(4 * 60 + 35)
    page.evaluate("sessionManager.refresh()")
    page.wait_for_selector("#warning-dialog:not([hidden])")
    save(page, "session-warning")

    timed.absolute = timed.deadline()  # the session's maximum length is reached
    page.evaluate("sessionManager.refresh()")
    page.wait_for_selector("#warning-continue:not([hidden])")
    save(page, "session-cannot-extend")

    timed.advance(timed.remaining() + 1)  # both clocks: the session ran out
    page.wait_for_selector("#expired-dialog:not([hidden])")
    save(page, "session-expired")
    context.close()
    other.close()
    return written


def main() -> int:
    from playwright.sync_api import sync_playwright
    from tests.fixtures import CHROMIUM, CHROMIUM_ARGS

    from indian_dashboard.tests.servers import start_server

    OUT.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        # The real session outlives the run; TimedSession decides what the page is told.
        server = start_server(
            Path(tmp), env={"SESSION_TIMEOUT": "3600", "SESSION_ACTIVITY_INTERVAL": "0"}
        )
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                written += shoot(browser, server.url, DESKTOP, "", "AB1234")
                written += shoot(browser, server.url, PHONE, "-phone", "ZP4821")
                browser.close()
        finally:
            server.stop()
    for path in written:
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
