"""The dashboard at every session length: warning, extension, the absolute limit, the end.

Sessions of 30 s to 12 h run on Playwright's clock (page.clock) with the session's
times rewritten by :class:`TimedSession`; nothing waits for a session to run out.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

from indian_dashboard.api.watchlist import ALLOWED

from .browser import Person, Tab
from .timed_session import TimedSession

pytestmark = pytest.mark.browser

#: The page's own settings, except that it never extends by itself.
MANUAL = {"autoExtend": False}
#: The real session outlives any test; TimedSession decides what the page is told.
LONG = {"SESSION_TIMEOUT": "3600"}
#: Where the warning opens for an idle timeout: a third of it, at least 20 s, at most 300 s.
THRESHOLDS = {30: 20, 45: 20, 90: 30, 300: 100, 900: 300, 3600: 300, 4 * 3600: 300, 43200: 300}
#: Controls that act on the session: none may be offered once it has ended.
#: What a time on the account card shows before the first answer (an en dash).
NOT_YET = "\u2013"
SESSION_CONTROLS = ["#stay-signed-in", "#log-out", "#revoke-others", "#other-sessions-offer"]


def dashboard(person: Person, timed: TimedSession, *, clock: bool = True) -> Tab:
    """The dashboard in a new tab whose session checks ``timed`` answers."""
    person.connect()
    page = person.context.new_page()
    if clock:
        page.clock.install()
    timed.attach(page)
    page.goto(person.base_url + "/")
    tab = Tab(page, person)
    tab.wait_ready()
    return tab


def visible(page: Page, selector: str) -> bool:
    return page.locator(selector).is_visible()


def test_warning_threshold_is_capped_below_the_session_from_30_s_to_12_h(
    servers: Any, people: Any
) -> None:
    timed = TimedSession(idle=30, absolute=1e7)
    tab = dashboard(people(servers(**LONG), MANUAL), timed, clock=False)
    page = tab.page
    for idle, threshold in THRESHOLDS.items():
        timed.idle = idle
        timed.extend_elsewhere()
        timed.set_remaining(threshold + 3)  # margins for a loaded machine's slow calls
        page.evaluate("sessionManager.refresh()")
        assert tab.state() == "active", idle
        assert not visible(page, "#warning-dialog"), idle
        timed.set_remaining(threshold - 3)
        page.evaluate("sessionManager.refresh()")
        assert tab.state() == "warning", idle
        assert visible(page, "#warning-dialog"), idle
        timed.extend_elsewhere()  # the whole session is left: the warning must end
        page.evaluate("sessionManager.refresh()")
        assert tab.state() == "active", idle
        page.wait_for_selector("#warning-dialog", state="hidden")
    assert len(tab.events("sessionWarning")) == len(THRESHOLDS)


@pytest.mark.parametrize("idle", [30, 300, 3600])
def test_warning_extension_and_end_at_each_session_length(
    servers: Any, people: Any, idle: int
) -> None:
    threshold = THRESHOLDS[idle]
    timed = TimedSession(idle=idle)
    tab = dashboard(people(servers(**LONG), MANUAL), timed)
    page = tab.page
    assert tab.state() == "active"  # no warning the moment the page loads
    timed.advance(idle - threshold - 5)
    assert tab.info()["remaining_seconds"] == threshold + 5  # type: ignore[index]
    assert tab.state() == "active"
    assert not visible(page, "#warning-dialog")

    timed.advance(10)
    tab.wait_event("sessionWarning")
    assert visible(page, "#warning-dialog")
    assert page.evaluate("document.activeElement.id") == "warning-stay"
    page.locator("#warning-stay").click()
    tab.wait_event("sessionExtended")
    page.wait_for_selector("#warning-dialog", state="hidden")  # and it stays closed
    note = page.locator("#session-note")
    assert (note.text_content() or "").startswith("Done: you stay signed in until")
    assert note.get_attribute("role") == "status"
    assert tab.state() == "active"

    timed.advance(idle + 5)
    expired = tab.wait_event("sessionExpired")
    assert expired["detail"]["reason"] == "timeout"
    page.wait_for_selector("#expired-dialog")
    for control in SESSION_CONTROLS:
        assert not visible(page, control), control
    assert page.locator("#session-list li").count() == 0
    assert page.locator("#session-note").text_content() == "Your session has ended."


def test_after_the_absolute_limit_nothing_offers_to_extend(servers: Any, people: Any) -> None:
    timed = TimedSession(idle=300, absolute=320)
    tab = dashboard(people(servers(**LONG), MANUAL), timed)
    page = tab.page
    timed.advance(205)
    tab.wait_event("sessionWarning")
    page.locator("#warning-stay").click()  # moves the end to the absolute limit, no further
    page.wait_for_selector("#warning-dialog", state="hidden")
    page.wait_for_selector("#stay-signed-in", state="hidden")
    assert "cannot be extended" in (page.locator("#session-note").text_content() or "")

    page.locator("#symbol").focus()
    timed.advance(20)  # the last 100 s: the warning says so and offers what is possible
    page.wait_for_function(
        "() => window.__events.filter(e => e.type === 'sessionWarning').length === 2"
    )
    assert tab.events("sessionWarning")[1]["detail"]["canExtend"] is False
    assert page.locator("#warning-title").text_content() == "Your session ends soon"
    assert "cannot be extended" in (page.locator("#warning-desc").text_content() or "")
    assert not visible(page, "#warning-stay")
    assert page.evaluate("document.activeElement.id") == "warning-continue"
    assert page.locator("#warning-logout").text_content() == "Log out now"
    page.keyboard.press("Escape")  # keep working until then: no extension is asked for
    page.wait_for_selector("#warning-dialog", state="hidden")
    assert page.evaluate("document.activeElement.id") == "symbol"
    assert tab.person.count("POST", "/api/session/extend") == 1

    timed.advance(100)
    assert tab.wait_event("sessionExpired")["detail"]["reason"] == "absolute"
    assert "maximum length" in (page.locator("#expired-desc").text_content() or "")


def test_watchlist_says_what_is_wrong_and_changes_nothing_silently(
    servers: Any, people: Any
) -> None:
    person = people(servers(**LONG), MANUAL, viewport={"width": 390, "height": 800})
    person.connect()
    page = person.open().page
    field = page.get_by_label("NSE symbol")
    error = page.locator("#watchlist-error")
    cases = {
        "A" * 21: "An NSE symbol has at most 20 characters; this one has 21.",
        "STRAßE": "An NSE symbol cannot contain “ß”: " + ALLOWED,
        " TCS": "Remove the space at the start or end: an NSE symbol has no spaces.",
        "": "Type an NSE symbol, for example RELIANCE.",
    }
    for typed, message in cases.items():
        field.fill(typed)
        field.press("Enter")
        page.wait_for_function(
            "m => document.querySelector('#watchlist-error').textContent === m", arg=message
        )
        assert field.input_value() == typed  # what was typed stays as typed
        assert field.get_attribute("aria-invalid") == "true"
    field.press_sequentially("X")
    assert error.text_content() == ""  # the message goes once the field changes
    assert field.get_attribute("aria-invalid") is None
    assert page.locator("#watchlist li").count() == 0

    longest = "ABCDEFGHIJKLMNOPQRST"
    for typed in ("tcs", longest):
        field.fill(typed)
        field.press("Enter")
        page.wait_for_function(
            "s => document.querySelector('#watchlist').textContent.includes(s)", arg=typed.upper()
        )
    assert page.locator("#watchlist .symbol").all_text_contents() == ["TCS", longest]
    row = page.locator("#watchlist li").nth(1).bounding_box()
    remove = page.get_by_role("button", name="Remove " + longest).bounding_box()
    assert row and remove
    assert remove["x"] + remove["width"] <= row["x"] + row["width"] + 0.5  # inside its row
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_skip_link_and_focus_on_the_dashboard(servers: Any, people: Any) -> None:
    person = people(servers(**LONG), MANUAL)
    page = person.open(ready=False).page
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert visible(page, ".skip-link")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "app"
    person.connect()
    page.goto(person.base_url + "/#other-sessions=2")  # where the broker sign-in sends one
    page.reload()  # a new hash alone loads nothing
    page.wait_for_function("() => document.activeElement.id === 'broker-title'")
    offer = page.locator("#other-sessions-offer").text_content() or ""
    assert offer.startswith("Your account is also signed in on 2 other devices or browsers.")
    assert page.evaluate("location.hash") == ""  # a reload does not offer it again
    facts = page.locator(".facts").inner_text()
    assert "Zerodha Kite" in facts and "AB1234" in facts
    page.wait_for_function(
        "d => document.querySelector('#session-idle-end').textContent !== d", arg=NOT_YET
    )
    for fact in ("#session-started", "#session-absolute-end"):
        assert page.locator(fact).text_content() != NOT_YET
