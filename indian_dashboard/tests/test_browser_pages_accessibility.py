"""axe-core 4 on every state of the pages, at desktop and phone width: no violation passes.

axe-core comes from npm (tests-js/, installed by ``make test``). It is injected as a
script file, so the audit's browser context bypasses the Content-Security-Policy;
only this audit does (the other tests keep the policy on).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from .browser import Tab
from .test_browser_screens import LONG, MANUAL, dashboard
from .timed_session import TimedSession

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "tests-js" / "node_modules" / "axe-core" / "axe.min.js"


def violations(page: Page) -> list[str]:
    """axe's violations on the page as it is now, one readable line each."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations)"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(" ".join(node["target"]) for node in v["nodes"])
        for v in found
    ]


@pytest.mark.parametrize("width", [1280, 390])
def test_axe_finds_nothing_on_any_page_state(servers: Any, people: Any, width: int) -> None:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make js-tools` (npm ci in tests-js/)")
    person = people(
        servers(**LONG), MANUAL, viewport={"width": width, "height": 800}, bypass_csp=True
    )
    found: dict[str, list[str]] = {}

    connect = person.open(ready=False).page
    connect.wait_for_load_state("networkidle")  # whatever the connect page asks for at load
    found["connect page"] = violations(connect)

    timed = TimedSession(idle=300, absolute=1000)
    tab: Tab = dashboard(person, timed, clock=False)
    page = tab.page
    for symbol in ("RELIANCE", "ABCDEFGHIJKLMNOPQRST"):
        page.get_by_label("NSE symbol").fill(symbol)
        page.get_by_label("NSE symbol").press("Enter")
        page.wait_for_function(
            "s => document.querySelector('#watchlist').textContent.includes(s)", arg=symbol
        )
    page.get_by_label("NSE symbol").fill("BAD SYMBOL")
    page.get_by_label("NSE symbol").press("Enter")
    page.wait_for_function("() => document.querySelector('#watchlist-error').textContent")
    found["dashboard with symbols and an error"] = violations(page)

    timed.set_remaining(60)
    page.evaluate("sessionManager.refresh()")
    page.wait_for_selector("#warning-dialog:not([hidden])")
    found["warning dialog"] = violations(page)

    timed.absolute = timed.deadline()  # the limit is reached: extending cannot help
    page.evaluate("sessionManager.refresh()")
    page.wait_for_selector("#warning-continue:not([hidden])")
    found["cannot-extend warning"] = violations(page)
    page.keyboard.press("Escape")
    page.wait_for_selector("#warning-dialog", state="hidden")
    found["cannot-extend dashboard"] = violations(page)

    timed.set_remaining(0)
    page.evaluate("sessionManager.refresh()")
    page.wait_for_selector("#expired-dialog:not([hidden])")
    found["expiry dialog"] = violations(page)

    assert {state: v for state, v in found.items() if v} == {}
