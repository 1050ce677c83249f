"""Write docs/img/{connect,dashboard,session-warning}.png from the real pages.

Serves the app with gunicorn on a free loopback port (a short session so the
warning comes quickly) and drives Debian's /usr/bin/chromium through Playwright.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "img"
sys.path[:0] = [str(ROOT), str(ROOT / "flask-session-guard")]


PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)


def main() -> int:
    from playwright.sync_api import sync_playwright

    from indian_dashboard.tests.browser import CHROMIUM, CHROMIUM_ARGS, KITE
    from indian_dashboard.tests.servers import start_server

    OUT.mkdir(parents=True, exist_ok=True)
    config = {"warningThreshold": 20, "minWarning": 20, "pollInterval": 1}
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(
            Path(tmp),
            env={"SESSION_TIMEOUT": "24", "SESSION_ACTIVITY_INTERVAL": "0"},
        )
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                # The same account on a phone first, so the session panel lists two places.
                phone = browser.new_context(user_agent=PHONE)
                token = phone.request.get(server.url + "/api/session/csrf-token").json()
                phone.request.post(
                    server.url + "/api/broker/connect",
                    data=json.dumps({"broker": "kite", "credentials": KITE}),
                    headers={
                        "Content-Type": "application/json",
                        "X-CSRF-Token": token["csrf_token"],
                    },
                )
                context = browser.new_context(viewport={"width": 1100, "height": 640})
                context.add_init_script(f"window.sessionManagerConfig = {json.dumps(config)};")
                page = context.new_page()
                page.goto(server.url + "/")
                page.get_by_label("Client ID").fill(KITE["client_id"])
                page.get_by_label("API key").fill(KITE["api_key"])
                page.get_by_label("API secret").fill(KITE["api_secret"])
                page.screenshot(path=str(OUT / "connect.png"))
                page.get_by_role("button", name="Connect").click()
                page.wait_for_selector("#watchlist-form")
                for symbol in ("RELIANCE", "TCS", "HDFCBANK", "INFY"):
                    page.get_by_label("NSE symbol").fill(symbol)
                    page.get_by_label("NSE symbol").press("Enter")
                    page.wait_for_function(
                        "s => [...document.querySelectorAll('#watchlist .symbol')]"
                        ".some(e => e.textContent === s)",
                        arg=symbol,
                    )
                page.mouse.click(5, 300)
                page.wait_for_timeout(1200)
                page.screenshot(path=str(OUT / "dashboard.png"))
                page.wait_for_selector("#warning-dialog:not([hidden])", timeout=10000)
                page.wait_for_timeout(1100)
                page.screenshot(path=str(OUT / "session-warning.png"))
                browser.close()
        finally:
            server.stop()
    for name in ("connect", "dashboard", "session-warning"):
        print(OUT / f"{name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
