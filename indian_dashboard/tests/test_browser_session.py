"""One tab against a real server: polling, activity, auto-extension, warning, expiry, sleep.

Timeouts are seconds long; the client's warning floor (20 s in use) is lowered
through window.sessionManagerConfig so a warning comes after two seconds.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from .browser import Freezer, Tab
from .conftest import BROWSER_ENV
from .servers import start_server

pytestmark = pytest.mark.browser

#: A 4 s session warned 2 s before its end, checked at least every second.
FAST = {"minWarning": 1, "warningThreshold": 2, "pollInterval": 1, "grace": 0.5}
EXTEND = "/api/session/extend"
INFO = "/api/session/info"


def connected_tab(servers: Any, people: Any, config: dict[str, Any], **env: str) -> Tab:
    server = servers(**{"SESSION_TIMEOUT": "4", **env})
    person = people(server, config)
    person.connect()
    tab: Tab = person.open()
    return tab


def test_polling_alone_never_extends(servers: Any, people: Any) -> None:
    tab = connected_tab(servers, people, {**FAST, "pollInterval": 0.3, "autoExtend": True})
    tab.page.wait_for_timeout(2500)
    person = tab.person
    assert person.count("GET", INFO) >= 5  # it did watch
    assert person.count("POST", EXTEND) == 0
    status, body = person.server_info()
    assert status == 200
    assert body["session"]["elapsed_seconds"] >= 2  # the polls moved no activity


def test_real_input_extends_at_most_once_per_window(servers: Any, people: Any) -> None:
    tab = connected_tab(servers, people, {**FAST, "autoExtend": True}, SESSION_TIMEOUT="5")
    started = time.monotonic()
    moves = tab.wiggle(5.0)
    elapsed = time.monotonic() - started
    extends = tab.person.count("POST", EXTEND)
    assert moves > 20
    assert 1 <= extends <= elapsed  # throttled: never one per move
    assert tab.events("sessionWarning") == []
    assert tab.state() == "active"


def test_mouse_moves_at_the_same_coordinates_are_not_activity(servers: Any, people: Any) -> None:
    tab = connected_tab(servers, people, {**FAST, "autoExtend": True})
    tab.phantom_moves(2.5)
    assert tab.wait_event("sessionWarning", timeout=2)
    assert tab.person.count("POST", EXTEND) == 0


def test_focus_and_visibility_changes_do_not_extend(servers: Any, people: Any) -> None:
    tab = connected_tab(servers, people, {**FAST, "autoExtend": True})
    for _ in range(5):
        tab.page.evaluate(
            "window.dispatchEvent(new FocusEvent('focus'));"
            "document.dispatchEvent(new Event('visibilitychange'));"
            "window.dispatchEvent(new PageTransitionEvent('pageshow'));"
        )
        tab.page.wait_for_timeout(500)
    tab.wait_event("sessionWarning", timeout=2)
    assert tab.person.count("POST", EXTEND) == 0
    assert tab.person.count("GET", INFO) >= 5  # each sign of waking asked the server


def test_auto_extend_off_means_no_extension(servers: Any, people: Any) -> None:
    tab = connected_tab(servers, people, {**FAST, "autoExtend": False})
    tab.wiggle(2.5)
    tab.wait_event("sessionWarning", timeout=2)
    tab.wiggle(0.5)  # moving the mouse does not dismiss the warning either
    assert tab.person.count("POST", EXTEND) == 0
    assert tab.page.locator("#warning-dialog").is_visible()


def test_idle_tab_with_auto_extend_expires_once(servers: Any, people: Any) -> None:
    tab = connected_tab(servers, people, {**FAST, "autoExtend": True})
    expired = tab.wait_event("sessionExpired", timeout=6)
    assert expired["detail"]["reason"] == "timeout"
    assert expired["detail"]["message"]
    assert tab.person.count("POST", EXTEND) == 0
    tab.page.wait_for_timeout(300)
    after = time.monotonic()
    tab.wiggle(1.5)  # input after expiry does nothing, polling has stopped
    assert len(tab.events("sessionExpired")) == 1
    assert tab.person.requests("GET", INFO, since=after) == []
    assert tab.person.count("POST", EXTEND) == 0
    assert tab.page.locator("#expired-dialog").is_visible()


@pytest.mark.parametrize("shift_hours", [0, 2, -2])
def test_warning_fires_at_threshold_with_servers_figure(
    servers: Any, people: Any, shift_hours: int
) -> None:
    server = servers(SESSION_TIMEOUT="6")
    person = people(server, {**FAST, "warningThreshold": 2})  # a third of 6 s
    answers: list[dict[str, Any]] = []
    if shift_hours:
        person.context.clock.install(time=datetime.now() + timedelta(hours=shift_hours))
    person.connect()
    started = time.monotonic()
    page = person.context.new_page()
    page.on(
        "response",
        lambda r: answers.append(r.json()) if r.url.endswith(INFO) and r.ok else None,
    )
    page.goto(server.url + "/")
    tab = Tab(page, person)
    warning = tab.wait_event("sessionWarning", timeout=6)
    waited = time.monotonic() - started
    figure = warning["detail"]["remainingSeconds"]
    assert figure == answers[-1]["session"]["remaining_seconds"]
    assert 1 <= figure <= 2
    assert 3.0 <= waited <= 5.5
    assert len(tab.events("sessionWarning")) == 1


def test_warning_threshold_below_20_seconds_is_raised_to_20(servers: Any, people: Any) -> None:
    server = servers(SESSION_TIMEOUT="22")
    person = people(server, {"pollInterval": 1, "grace": 0.5, "warningThreshold": 5})
    person.connect()
    tab = person.open()
    assert tab.events("sessionWarning") == []
    warning = tab.wait_event("sessionWarning", timeout=5)
    assert 18 <= warning["detail"]["remainingSeconds"] <= 20


def _pause(tab: Tab) -> None:
    now = tab.page.evaluate("Date.now()")
    tab.page.clock.pause_at(now + 10)


def test_sleep_past_expiry_expires_without_warning(servers: Any, people: Any) -> None:
    server = servers(SESSION_TIMEOUT="3")
    person = people(server, {**FAST, "warningThreshold": 1, "pollInterval": 30})
    person.context.clock.install()
    person.connect()
    tab = person.open()
    _pause(tab)  # the laptop sleeps: no timer runs
    time.sleep(3.5)  # while the server's clock goes on
    tab.page.clock.fast_forward(3500)
    expired = tab.wait_event("sessionExpired", timeout=2)
    assert expired["detail"]["reason"] == "timeout"
    assert tab.events("sessionWarning") == []


def test_sleep_into_warning_window_warns_at_once(servers: Any, people: Any) -> None:
    server = servers(SESSION_TIMEOUT="6")
    person = people(server, {**FAST, "warningThreshold": 2, "pollInterval": 30})
    person.context.clock.install()
    person.connect()
    tab = person.open()
    _pause(tab)
    time.sleep(4.2)
    woke = time.monotonic()
    tab.page.clock.fast_forward(4200)
    warning = tab.wait_event("sessionWarning", timeout=1)
    assert time.monotonic() - woke < 1.0
    assert 0 <= warning["detail"]["remainingSeconds"] <= 2


def test_frozen_tab_is_right_within_a_second_of_unfreezing(servers: Any, people: Any) -> None:
    server = servers(SESSION_TIMEOUT="5")
    person = people(server, {**FAST, "autoExtend": False})
    person.connect()
    tab = person.open()
    freezer = Freezer(tab)
    freezer.freeze()
    time.sleep(3.2)  # past the warning boundary the tab had scheduled
    extended = person.context.request.post(
        person.base_url + EXTEND, headers={"X-CSRF-Token": person.token()}
    )  # extended elsewhere while the tab was frozen
    assert extended.ok
    woke = time.monotonic()
    freezer.wake()
    tab.page.wait_for_function(
        "() => sessionManager.getSessionInfo().remaining_seconds >= 4", timeout=1000
    )
    assert time.monotonic() - woke < 1.0
    tab.page.wait_for_timeout(300)
    assert tab.events("sessionWarning") == []  # no flash of a stale warning
    assert tab.state() == "active"


def test_frozen_tab_learns_of_revocation_within_a_second(servers: Any, people: Any) -> None:
    server = servers(SESSION_TIMEOUT="30")
    person = people(server, {**FAST, "pollInterval": 30})
    person.connect()
    tab = person.open()
    freezer = Freezer(tab)
    freezer.freeze()
    time.sleep(1.2)  # the dashboard's 1 s tick runs into the pause
    person.context.request.post(
        person.base_url + "/api/session/clear", headers={"X-CSRF-Token": person.token()}
    )  # ended from another device
    freezer.wake()
    expired = tab.wait_event("sessionExpired", timeout=1)
    assert expired["detail"]["reason"] == "revoked"


def test_absolute_lifetime_stops_auto_extension_without_a_loop(servers: Any, people: Any) -> None:
    server = servers(SESSION_TIMEOUT="5", SESSION_ABSOLUTE_TIMEOUT="7")
    person = people(server, {**FAST, "autoExtend": True})
    person.connect()
    tab = person.open()
    answers: list[bool] = []
    tab.page.on(
        "response",
        lambda r: answers.append(r.json()["extended"]) if r.url.endswith(EXTEND) else None,
    )
    tab.wiggle(5.5)  # an active person, up to and past the absolute limit's warning
    tab.wait_event("sessionWarning", timeout=2)
    tab.wiggle(1.0)
    expired = tab.wait_event("sessionExpired", timeout=3)
    assert expired["detail"]["reason"] == "absolute"
    assert answers[0] is True  # it did extend while it could
    assert answers.count(False) <= 1  # at most one refusal, then no more asking
    assert len(answers) <= 3


def test_unreachable_server_at_deadline_expires_locally_and_hides_data(
    tmp_path: Path, people: Any
) -> None:
    server = start_server(tmp_path, env={**BROWSER_ENV, "SESSION_TIMEOUT": "3"})
    try:
        person = people(server, {**FAST, "autoExtend": False})
        person.connect()
        tab = person.open()
        assert tab.page.locator("#broker-name").is_visible()
    finally:
        server.stop()
    stopped = time.monotonic()
    expired = tab.wait_event("sessionExpired", timeout=6)
    assert expired["detail"]["reason"] == "unreachable"
    tab.page.wait_for_timeout(500)
    assert len(person.requests("GET", INFO, since=stopped)) <= 4  # no retry storm
    assert not tab.page.locator("#broker-name").is_visible()
    assert tab.page.locator("#broker-name").text_content() == ""
    assert tab.page.locator("#expired-dialog").is_visible()


def test_init_twice_is_harmless_and_destroy_stops_everything(servers: Any, people: Any) -> None:
    tab = connected_tab(servers, people, {**FAST, "pollInterval": 0.5}, SESSION_TIMEOUT="30")
    same = tab.page.evaluate("sessionManager.init() === sessionManager.init()")
    assert same
    token_fetches = tab.person.count("GET", "/api/session/csrf-token")
    tab.page.wait_for_timeout(1200)
    assert tab.person.count("GET", "/api/session/csrf-token") == token_fetches
    assert tab.person.count("GET", INFO, since=time.monotonic() - 1.2) >= 1
    tab.page.evaluate("sessionManager.destroy()")
    tab.page.wait_for_timeout(300)  # requests sent before destroy are recorded by now
    after = time.monotonic()
    tab.wiggle(1.5)
    assert tab.person.requests("GET", INFO, since=after) == []
