"""``create_session(absolute_expires_at=...)``: one session ends before the configured lifetime."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask_session_guard import ManualClock, SessionManager, get_session_manager


def _app(clock: ManualClock) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="library-test-secret-key-long-enough-0123456789",
        SESSION_STORE_URL="memory://",
        SESSION_TIMEOUT=600,
        SESSION_ABSOLUTE_TIMEOUT=3600,
        SESSION_API_PREFIX="",
    )
    SessionManager(app, clock=clock)

    @app.get("/login/<int:cap>")
    def login(cap: int) -> dict[str, object]:
        manager = get_session_manager()
        at = None if cap == 0 else manager.clock.now().timestamp() + cap
        return manager.create_session({"who": "x"}, absolute_expires_at=at)

    @app.get("/state")
    def state() -> dict[str, str]:
        return {"state": get_session_manager().session_state()}

    return app


@pytest.mark.parametrize(
    ("cap", "lifetime", "idle"),
    [(0, 3600, 600), (7200, 3600, 600), (1200, 1200, 600), (300, 300, 300)],
)
def test_the_earlier_of_the_cap_and_the_setting_bounds_the_session(
    clock: ManualClock, cap: int, lifetime: int, idle: int
) -> None:
    client = _app(clock).test_client()
    info = client.get(f"/login/{cap}").json
    assert info is not None
    assert info["remaining_seconds"] == idle
    start = clock.now()
    assert info["absolute_expires_at"].startswith(
        (start + timedelta(seconds=lifetime)).strftime("%Y-%m-%dT%H:%M:%S")
    )
    # Keep it busy so the idle timeout never ends it; the cap does.
    for _ in range(lifetime // 100 - 1):
        clock.advance(100)
        assert client.get("/state").json == {"state": "active"}
    clock.advance(100)
    assert client.get("/state").json == {"state": "expired"}
