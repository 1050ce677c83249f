"""Several tabs of one person: one deadline, one poller, news within a second.

Every cross-tab test runs twice: with BroadcastChannel, and with it deleted so
the localStorage ``storage`` event carries the messages.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from .browser import Freezer, Person, Tab

pytestmark = pytest.mark.browser

FAST = {"minWarning": 1, "warningThreshold": 2, "pollInterval": 1, "grace": 0.5}
INFO = "/api/session/info"
EXTEND = "/api/session/extend"
channels = pytest.mark.parametrize("broadcast", [True, False], ids=["broadcast", "storage"])


def two_tabs(
    servers: Any, people: Any, broadcast: bool, config: dict[str, Any], timeout: str = "4"
) -> tuple[Person, Tab, Tab]:
    person = people(servers(SESSION_TIMEOUT=timeout), config, broadcast=broadcast)
    person.connect()
    first = person.open()
    second = person.open()
    return person, first, second


@channels
def test_activity_in_one_tab_keeps_the_other_from_warning(
    servers: Any, people: Any, broadcast: bool
) -> None:
    person, polling, busy = two_tabs(
        servers, people, broadcast, {**FAST, "autoExtend": True}, timeout="6"
    )
    busy.wiggle(5.5)  # input only in the tab that does not poll
    assert person.count("POST", EXTEND) >= 1
    assert polling.events("sessionWarning") == []
    assert busy.events("sessionWarning") == []
    assert polling.state() == "active"


@channels
def test_extension_in_one_tab_clears_the_others_warning(
    servers: Any, people: Any, broadcast: bool
) -> None:
    # A warning 4 s before a 12 s session's end (at most a third of the session):
    # time for the click on a busy machine.
    config = {**FAST, "autoExtend": False, "warningThreshold": 4}
    _, first, second = two_tabs(servers, people, broadcast, config, timeout="12")
    first.wait_event("sessionWarning", timeout=10)
    second.wait_event("sessionWarning", timeout=2)
    assert second.page.locator("#warning-dialog").is_visible()
    first.page.locator("#warning-stay").click()
    here = first.wait_event("sessionExtended", timeout=3)
    there = second.wait_event("sessionExtended", timeout=3)
    assert there["wall"] - here["wall"] < 1000  # Date.now() of one machine, two tabs
    assert not second.page.locator("#warning-dialog").is_visible()
    assert second.info()["remaining_seconds"] >= 3  # type: ignore[index]


@channels
def test_logout_in_one_tab_reaches_the_other_within_a_second(
    servers: Any, people: Any, broadcast: bool
) -> None:
    _, first, second = two_tabs(servers, people, broadcast, {**FAST}, timeout="60")
    assert second.page.locator("#client-id").text_content() == "AB1234"
    first.page.evaluate(
        "addEventListener('sessionCleared', () => sessionStorage.setItem('cleared', Date.now()))"
    )  # sessionStorage: the page then goes to the connect page
    first.page.locator("#log-out").click()
    expired = second.wait_event("sessionExpired", timeout=3)
    first.page.wait_for_selector("#connect-form")
    cleared = int(first.page.evaluate("sessionStorage.getItem('cleared')"))
    assert expired["wall"] - cleared < 1000
    assert expired["detail"]["reason"] == "logout"
    assert second.page.locator("#expired-dialog").is_visible()
    assert "another tab" in (second.page.locator("#expired-desc").text_content() or "")
    assert second.page.locator("#client-id").text_content() == ""


@channels
def test_token_rotated_in_one_tab_is_used_by_the_other(
    servers: Any, people: Any, broadcast: bool
) -> None:
    person, first, second = two_tabs(servers, people, broadcast, {**FAST}, timeout="60")
    statuses: list[int] = []
    second.page.on("response", lambda r: statuses.append(r.status))
    before = second.page.evaluate("sessionManager.getCSRFToken()")
    rotated = first.page.evaluate(
        """async () => {
          const r = await sessionManager.fetch('/api/broker/connect', {
            method: 'POST', headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({broker: 'dhan',
                                  credentials: {client_id: 'D1', access_token: 'tok'}})});
          return r.status;
        }"""
    )
    assert rotated == 200
    # The channel carries the news, never the token: the other tab fetches its own
    # before its next write, so that write needs no 403 and no retry.
    second.page.wait_for_timeout(300)
    assert second.page.evaluate("sessionManager.getCSRFToken()") == before
    status = second.page.evaluate(
        """async () => (await sessionManager.fetch('/api/watchlist', {
             method: 'POST', headers: {'Content-Type': 'application/json'},
             body: JSON.stringify({symbol: 'TCS'})})).status"""
    )
    assert status == 200
    assert 403 not in statuses
    assert person.count("GET", "/api/session/csrf-token", page=second.page) == 2  # init, news
    assert person.count("POST", "/api/watchlist") == 1


def test_five_tabs_poll_about_as_often_as_one_and_hand_over(servers: Any, people: Any) -> None:
    config = {**FAST, "pollInterval": 0.5}
    server = servers(SESSION_TIMEOUT="60")
    alone = people(server, config)
    alone.connect()
    alone.open()
    alone.open().page.close()  # settle as the five do
    since = time.monotonic()
    alone.context.pages[0].wait_for_timeout(3000)
    one = alone.count("GET", INFO, since=since)

    crowd = people(server, config)
    crowd.connect()
    tabs = [crowd.open() for _ in range(5)]
    tabs[0].page.wait_for_timeout(500)
    since = time.monotonic()
    tabs[0].page.wait_for_timeout(3000)
    five = crowd.count("GET", INFO, since=since)
    assert one >= 4
    assert five <= one + 2, (one, five)
    pollers = {s.page for s in crowd.requests("GET", INFO, since=since)}
    assert len(pollers) == 1
    (leader,) = pollers

    leader.close()
    closed = time.monotonic()
    tabs[-1].page.wait_for_timeout(1500)
    after = crowd.requests("GET", INFO, since=closed)
    assert after, "no tab took over the polling"
    assert after[0].at - closed <= 0.5 + 0.6  # within one interval (plus slack)
    assert len({s.page for s in after}) == 1


def test_frozen_polling_tab_does_not_block_the_others(servers: Any, people: Any) -> None:
    person = people(servers(SESSION_TIMEOUT="60"), {**FAST, "pollInterval": 0.5})
    person.connect()
    leader, other = person.open(), person.open()
    leader.page.wait_for_timeout(1200)
    assert person.requests("GET", INFO, since=time.monotonic() - 1.0, page=other.page) == []
    freezer = Freezer(leader)
    freezer.freeze()
    frozen = time.monotonic()
    other.page.wait_for_timeout(3500)
    polled = person.requests("GET", INFO, since=frozen, page=other.page)
    assert polled, "the other tab waited for the frozen one"
    assert polled[0].at - frozen <= 2 * 0.5 + 1 + 0.5 + 0.5  # its watchdog, plus slack
    freezer.wake()


#: Another page of this origin speaking on the client's channel (BroadcastChannel
#: does not deliver a message to the object that sent it, so a second one is made).
FORGE = "m => new BroadcastChannel('sessionManager').postMessage(m)"
#: A minute's session that neither polls nor warns during these tests.
QUIET = {"pollInterval": 30, "warningThreshold": 20}


def test_a_token_injected_on_the_channel_is_never_used(servers: Any, people: Any) -> None:
    person = people(servers(SESSION_TIMEOUT="60"), QUIET)
    person.connect()
    tab = person.open()
    tab.page.evaluate(FORGE, {"t": "tok", "tok": "planted"})
    tab.page.wait_for_timeout(200)
    assert tab.page.evaluate("sessionManager.getCSRFToken()") != "planted"
    refreshes = person.count("GET", "/api/session/csrf-token", page=tab.page)
    status = tab.page.evaluate(
        """async () => (await sessionManager.fetch('/api/watchlist', {method: 'POST',
             headers: {'Content-Type': 'application/json'},
             body: JSON.stringify({symbol: 'TCS'})})).status"""
    )
    assert status == 200
    sent = [s.headers.get("x-csrf-token") for s in person.requests("POST", "/api/watchlist")]
    assert sent and "planted" not in sent
    # The news made the tab fetch its own token first (once), not retry after a 403.
    assert person.count("GET", "/api/session/csrf-token", page=tab.page) == refreshes + 1
    assert len(sent) == 1


def test_a_forged_end_is_checked_with_the_server(servers: Any, people: Any) -> None:
    person = people(servers(SESSION_TIMEOUT="60"), QUIET)
    person.connect()
    tab = person.open()
    checks = person.count("GET", INFO, page=tab.page)
    tab.page.evaluate(FORGE, {"t": "end", "reason": "logout"})
    tab.page.wait_for_timeout(500)
    assert person.count("GET", INFO, page=tab.page) == checks + 1  # asked the server
    assert tab.state() == "active"  # which said the session is live
    assert tab.events("sessionExpired") == []


#: Each is dropped: a wrong type, no time stamp, an unknown kind, not an object.
MALFORMED = [
    None,
    "not an object",
    [1, 2],
    {"t": "nonsense"},
    {"t": "ext", "rem": None, "at": "now"},
    {"t": "info", "rem": "soon", "at": "now"},
]


def test_malformed_messages_are_dropped(servers: Any, people: Any) -> None:
    person = people(servers(SESSION_TIMEOUT="60"), QUIET)
    person.connect()
    tab = person.open()
    before = tab.info()
    checks = person.count("GET", INFO, page=tab.page)
    for message in MALFORMED:
        tab.page.evaluate(
            "m => { if (m && m.at === 'now') m.at = Date.now();"
            " new BroadcastChannel('sessionManager').postMessage(m); }",
            message,
        )
    tab.page.wait_for_timeout(300)
    assert tab.state() == "active"
    assert tab.events("sessionExpired") == [] and tab.events("sessionWarning") == []
    # Dropped means no reaction at all: a bad time would have sent the tab to the server.
    assert person.count("GET", INFO, page=tab.page) == checks
    after = tab.info()
    assert before is not None and after is not None
    assert abs(after["remaining_seconds"] - before["remaining_seconds"]) <= 1


def test_a_forged_remaining_time_is_clamped_to_the_idle_timeout(servers: Any, people: Any) -> None:
    person = people(servers(SESSION_TIMEOUT="60"), QUIET)
    person.connect()
    tab = person.open()
    tab.page.evaluate(
        "m => { m.at = Date.now(); new BroadcastChannel('sessionManager').postMessage(m); }",
        {"t": "info", "rem": 1e12, "abs": False},
    )
    tab.page.wait_for_timeout(300)
    info = tab.info()
    assert info is not None and info["remaining_seconds"] <= 60
