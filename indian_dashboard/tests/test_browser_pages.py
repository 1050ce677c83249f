"""The pages as a person uses them: connect form, watchlist, dialogs by keyboard alone."""

from __future__ import annotations

from typing import Any

import pytest

from .browser import Tab
from .emulated import kite_credentials

pytestmark = pytest.mark.browser


def test_connect_page_connects_through_the_form(servers: Any, people: Any) -> None:
    person = people(servers(SESSION_TIMEOUT="60"), {"pollInterval": 30, "warningThreshold": 20})
    page = person.open(ready=False).page
    broker = page.get_by_label("Broker", exact=True)
    broker.select_option("angelone")
    assert page.get_by_label("MPIN").is_visible()
    broker.select_option("dhan")
    page.get_by_label("Sign in with").select_option(label="Access token (this form)")
    assert page.get_by_label("Access token").get_attribute("type") == "password"
    assert page.get_by_label("MPIN").count() == 0
    page.get_by_role("button", name="Connect").click()
    assert "Client ID" in (page.locator("#connect-error").text_content() or "")
    page.get_by_label("Client ID").fill("DH42")
    page.get_by_label("Access token").fill("secret-token")
    page.get_by_role("button", name="Connect").click()
    page.wait_for_selector("#watchlist-form")
    assert page.locator("#broker-name").text_content() == "Dhan"
    assert page.locator("#client-id").text_content() == "DH42"
    connect = person.requests("POST", "/api/broker/connect")[0]
    assert "x-csrf-token" in connect.headers
    assert "secret-token" not in connect.url


def test_watchlist_add_and_remove_through_the_page(servers: Any, people: Any) -> None:
    person = people(servers(SESSION_TIMEOUT="60"), {"pollInterval": 30, "warningThreshold": 20})
    person.connect()
    page = person.open().page
    page.get_by_label("NSE symbol").fill("reliance")
    page.get_by_role("button", name="Add").click()
    page.get_by_label("NSE symbol").fill("TCS")
    page.get_by_label("NSE symbol").press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#watchlist li').length === 2")
    assert page.locator("#watchlist .symbol").all_text_contents() == ["RELIANCE", "TCS"]
    page.get_by_role("button", name="Remove RELIANCE").click()
    page.wait_for_function("() => document.querySelectorAll('#watchlist li').length === 1")
    listed = person.context.request.get(person.base_url + "/api/watchlist").json()
    assert listed["watchlist"] == ["TCS"]
    page.get_by_label("NSE symbol").fill("not a symbol!")
    page.get_by_role("button", name="Add").click()
    page.wait_for_function("() => document.querySelector('#watchlist-error').textContent !== ''")
    page.reload()
    page.wait_for_function("() => document.querySelectorAll('#watchlist li').length === 1")


def test_dialogs_work_by_keyboard_alone(servers: Any, people: Any) -> None:
    config = {
        "minWarning": 1,
        "warningThreshold": 3,
        "pollInterval": 1,
        "grace": 0.5,
        "autoExtend": False,
    }
    person = people(servers(SESSION_TIMEOUT="5"), config)
    person.connect()
    tab: Tab = person.open()
    page = tab.page
    page.get_by_label("NSE symbol").focus()
    tab.wait_event("sessionWarning", timeout=4)
    dialog = page.locator("#warning-dialog")
    assert dialog.get_attribute("role") == "alertdialog"
    assert dialog.get_attribute("aria-modal") == "true"
    assert page.locator("#" + dialog.get_attribute("aria-labelledby")).is_visible()  # type: ignore[operator]
    assert page.locator("#" + dialog.get_attribute("aria-describedby")).is_visible()  # type: ignore[operator]
    assert page.locator(".countdown").get_attribute("aria-hidden") == "true"
    assert page.evaluate("document.activeElement.id") == "warning-stay"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "warning-logout"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "warning-stay"  # Tab stays inside
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.id") == "warning-logout"
    assert page.title().startswith("⚠")
    page.wait_for_function("() => document.querySelector('#session-announcer').textContent !== ''")
    page.keyboard.press("Escape")  # Escape means stay signed in
    tab.wait_event("sessionExtended", timeout=2)
    assert not dialog.is_visible()
    assert page.evaluate("document.activeElement.id") == "symbol"  # focus returned
    assert not page.title().startswith("⚠")
    assert person.count("POST", "/api/session/extend") == 1

    tab.wait_event("sessionExpired", timeout=8)
    assert page.evaluate("document.activeElement.id") == "expired-connect"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "expired-connect"
    page.keyboard.press("Enter")
    page.wait_for_selector("#connect-form")


@pytest.mark.parametrize("width", [360, 1280])
def test_pages_fit_phone_and_desktop_widths(servers: Any, people: Any, width: int) -> None:
    person = people(
        servers(SESSION_TIMEOUT="60"),
        {"pollInterval": 30, "warningThreshold": 20},
        viewport={"width": width, "height": 800},
    )
    page = person.open(ready=False).page
    overflow = "document.documentElement.scrollWidth <= window.innerWidth"
    assert page.evaluate(overflow)
    person.connect()
    page.goto(person.base_url + "/")
    page.wait_for_selector("#watchlist-form")
    assert page.evaluate(overflow)
    assert page.locator("#stay-signed-in").is_visible()
    assert not page.locator("#warning-dialog").is_visible()


def test_pages_work_under_a_strict_content_security_policy(servers: Any, people: Any) -> None:
    person = people(servers(SESSION_TIMEOUT="60"), {"pollInterval": 30, "warningThreshold": 20})
    person.context.add_init_script(
        "window.__violations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " e => window.__violations.push(e.violatedDirective));"
    )
    tab = person.open(ready=False)
    page = tab.page
    answer = page.request.get(person.base_url + "/")
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    kite = kite_credentials(person.base_url)
    page.get_by_label("API key").fill(kite["api_key"])
    page.get_by_label("API secret").fill(kite["api_secret"])
    page.get_by_role("button", name="Connect").click()
    page.get_by_label("User ID").fill("AB1234")
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_selector("#watchlist-form")
    page.get_by_label("NSE symbol").fill("SBIN")
    page.get_by_role("button", name="Add").click()
    page.wait_for_function("() => document.querySelectorAll('#watchlist li').length === 1")
    assert page.evaluate("window.__violations") == []


def test_dashboard_whose_session_is_gone_at_load_hides_its_data(servers: Any, people: Any) -> None:
    person = people(servers(SESSION_TIMEOUT="60"), {"pollInterval": 30, "warningThreshold": 20})
    person.connect()
    person.context.route(
        "**/api/session/info",
        lambda route: route.fulfill(
            status=401,
            content_type="application/json",
            body='{"status":"error","error":"session_expired","message":"gone"}',
        ),
    )
    tab = person.open(ready=False)
    expired = tab.wait_event("sessionExpired", timeout=3)
    assert expired["detail"]["reason"] == "revoked"
    assert tab.page.locator("#client-id").text_content() == ""
    assert tab.page.locator("#expired-dialog").is_visible()


def test_connect_page_without_a_session_fires_nothing(servers: Any, people: Any) -> None:
    person = people(servers(SESSION_TIMEOUT="60"), {"pollInterval": 30, "warningThreshold": 20})
    tab = person.open(ready=False)
    tab.page.wait_for_function("() => sessionManager.getCSRFToken()")
    tab.page.wait_for_timeout(500)
    assert tab.events() == []
    assert tab.state() == "none"


def test_dashboard_whose_first_check_fails_tries_again(servers: Any, people: Any) -> None:
    person = people(servers(SESSION_TIMEOUT="60"), {"pollInterval": 1, "warningThreshold": 20})
    person.connect()
    calls: list[int] = []

    def flaky(route: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            route.abort()  # the first check finds no server
        else:
            route.continue_()

    person.context.route("**/api/session/info", flaky)
    tab = person.open(ready=False)
    tab.page.wait_for_function("() => sessionManager.getSessionInfo() !== null", timeout=4000)
    assert tab.events("sessionExpired") == []
    assert tab.state() == "active"
    assert tab.page.locator("#client-id").text_content() == "AB1234"


def test_session_panel_ends_another_device(servers: Any, people: Any) -> None:
    """The laptop lists the phone's session and ends it; the phone is told why."""
    server = servers(SESSION_TIMEOUT="60")
    config = {"pollInterval": 1, "warningThreshold": 20}
    laptop, phone = people(server, config), people(server, config)
    laptop.connect("PANEL1")  # an account of its own: servers are shared between tests
    phone.connect("PANEL1")
    phone_tab: Tab = phone.open()
    page = laptop.open().page
    page.wait_for_function("() => document.querySelectorAll('#session-list li').length === 2")
    rows = page.locator("#session-list li").all_text_contents()
    assert sum("this device" in row for row in rows) == 1
    assert page.get_by_role("button", name="Sign out everywhere else").is_visible()
    page.locator("#session-list li button").click()  # the one row that is not this device
    page.wait_for_function("() => document.querySelectorAll('#session-list li').length === 1")
    assert not page.get_by_role("button", name="Sign out everywhere else").is_visible()
    ended = phone_tab.wait_event("sessionExpired", timeout=4)
    assert ended["detail"]["reason"] == "revoked"
    assert "ended from another device" in (
        phone_tab.page.locator("#expired-desc").text_content() or ""
    )
    assert laptop.server_info()[0] == 200


def test_reconnect_offers_to_sign_out_everywhere_else(servers: Any, people: Any) -> None:
    server = servers(SESSION_TIMEOUT="60")
    config = {"pollInterval": 30, "warningThreshold": 20}
    old_device, new_device = people(server, config), people(server, config)
    old_device.connect("OFFER1")
    page = new_device.open(ready=False).page
    page.get_by_label("Broker", exact=True).select_option("kite")
    kite = kite_credentials(server.url)
    page.get_by_label("API key").fill(kite["api_key"])
    page.get_by_label("API secret").fill(kite["api_secret"])
    page.get_by_role("button", name="Connect").click()
    # Back from the broker, the count comes in the URL's fragment.
    page.get_by_label("User ID").fill("OFFER1")
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_selector("#other-sessions-offer:not([hidden])")
    offer = page.locator("#other-sessions-offer").text_content() or ""
    assert "also signed in on one other device or browser" in offer
    page.get_by_role("button", name="Sign out everywhere else").click()
    page.wait_for_function("() => document.querySelectorAll('#session-list li').length === 1")
    assert old_device.server_info()[1]["error"] == "session_revoked"


def test_answers_out_of_order_never_leave_an_older_list(servers: Any, people: Any) -> None:
    """Two adds overlap and the first one's answer comes back last: the page shows both."""
    person = people(servers(SESSION_TIMEOUT="60"), {"pollInterval": 30, "warningThreshold": 20})
    person.connect()
    page = person.open().page
    held: list[tuple[Any, Any]] = []

    def hold_the_first_answer(route: Any) -> None:
        if route.request.method == "POST" and not held:
            held.append((route, route.fetch()))  # the server added it; answered later
        else:
            route.continue_()

    page.route("**/api/watchlist", hold_the_first_answer)
    page.get_by_label("NSE symbol").fill("RELIANCE")
    page.get_by_role("button", name="Add").click()
    for _ in range(50):  # the server has added RELIANCE before TCS is sent
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the first add was not held"
    page.get_by_label("NSE symbol").fill("TCS")
    page.get_by_label("NSE symbol").press("Enter")
    both = ["RELIANCE", "TCS"]
    for _ in range(50):  # the server has both once the second add is through
        if (
            person.context.request.get(person.base_url + "/api/watchlist").json()["watchlist"]
            == both
        ):
            break
        page.wait_for_timeout(100)
    route, answer = held[0]
    route.fulfill(response=answer)  # the first add's answer, [RELIANCE] alone, comes last
    shown = "() => [...document.querySelectorAll('#watchlist .symbol')].map(e => e.textContent)"
    page.wait_for_function(f"() => ({shown})().join() === 'RELIANCE,TCS'")
    page.wait_for_timeout(500)  # and it stays so
    assert page.evaluate(f"({shown})()") == both
