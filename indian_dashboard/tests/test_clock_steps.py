"""The clock policy on every store: a clock stepped or skewed either way is never a
500, never a session that outlives its idle timeout by more than the step, and
never a logout of sessions the step did not pass (README "Clocks")."""

from __future__ import annotations

import pytest
from flask import Flask
from flask_session_guard import ManualClock

from .conftest import Visitor

IDLE = 600  # the ``app`` fixture's SESSION_TIMEOUT


def _remaining(visitor: Visitor) -> int:
    answer = visitor.session_info()
    assert answer.status_code == 200, answer.json
    return int(answer.json["session"]["remaining_seconds"])


@pytest.mark.parametrize("step", [-1.5, -30, -3600, 1.5])
def test_a_stepped_clock_is_never_a_500(
    connected: Visitor, clock: ManualClock, step: float
) -> None:
    clock.advance(step)
    assert connected.extend().status_code == 200
    assert connected.client.get("/api/watchlist").status_code == 200
    added = connected.client.post(
        "/api/watchlist", json={"symbol": "SBIN"}, headers=connected.headers()
    )
    assert added.status_code == 200
    assert connected.extend().status_code == 200
    assert _remaining(connected) <= IDLE


def test_after_a_step_back_remaining_is_never_above_the_idle_timeout(
    connected: Visitor, clock: ManualClock
) -> None:
    clock.advance(-7200)
    assert _remaining(connected) <= IDLE
    # Activity stores the bounded stamps: the session ends one idle timeout after it,
    # not two hours and an idle timeout later.
    assert connected.client.get("/api/watchlist").status_code == 200
    clock.advance(IDLE + 1)
    assert connected.session_info().status_code == 401


def test_extend_on_a_clock_behind_the_stamp_stays_within_the_idle_timeout(
    connected: Visitor, clock: ManualClock
) -> None:
    clock.advance(-100)
    answer = connected.extend()
    assert answer.status_code == 200
    assert answer.json["session"]["remaining_seconds"] <= IDLE
    clock.advance(IDLE + 1)
    assert connected.session_info().status_code == 401


def test_a_session_from_a_server_ahead_is_bounded_on_the_others(
    app: Flask, clock: ManualClock
) -> None:
    """A server 30 min ahead made the session; servers on time see at most the idle
    timeout left, and after their activity it ends one idle timeout later."""
    clock.advance(1800)
    visitor = Visitor(app.test_client())
    visitor.connect()
    clock.advance(-1800)
    assert _remaining(visitor) <= IDLE
    assert visitor.extend().status_code == 200
    clock.advance(IDLE + 1)
    assert visitor.session_info().status_code == 401


def test_a_step_forward_ends_only_the_sessions_it_passes(app: Flask, clock: ManualClock) -> None:
    early = Visitor(app.test_client())
    early.connect()
    clock.advance(300)
    late = Visitor(app.test_client())
    late.connect()
    clock.advance(400)  # past early's deadline (600 s), not late's (900 s)
    assert early.session_info().status_code == 401
    assert _remaining(late) == IDLE - 400
    assert late.extend().status_code == 200
    assert _remaining(late) == IDLE


def test_small_skew_between_servers_costs_no_write(
    connected: Visitor, clock: ManualClock, app: Flask
) -> None:
    """Two servers a second apart: reads on the one behind write nothing extra."""
    store = app.extensions["session_manager"].store
    clock.advance(-1)
    before = store.get(connected.info["session_id"], clock.now().timestamp())
    assert connected.session_info().status_code == 200
    assert connected.client.get("/api/watchlist").status_code == 200
    after = store.get(connected.info["session_id"], clock.now().timestamp())
    assert before is not None and after is not None
    assert (after.last_activity, after.expires_at) == (before.last_activity, before.expires_at)
