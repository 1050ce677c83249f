"""Sessions of any length in a browser test, without waiting for them.

A :class:`TimedSession` stands between a page and the real server on
``/api/session/info`` and ``/api/session/extend``: the server still answers (its
cookie, CSRF check and session are real), and only the times in the answer are
rewritten from a virtual clock the test moves. Moved together with Playwright's
``page.clock``, a one-hour session's warning, extension and expiry take seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from playwright.sync_api import Page, Route

EXPIRED = {
    "status": "error",
    "error": "session_expired",
    "message": "The session has expired or was ended; connect again.",
}


@dataclass
class TimedSession:
    """An idle timeout and an absolute limit (seconds) on a virtual clock starting at 0."""

    idle: float
    absolute: float = 12 * 3600.0
    now: float = 0.0
    last_activity: float = 0.0
    started: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    page: Page | None = None

    def attach(self, page: Page) -> TimedSession:
        """Answer ``page``'s session checks and extensions from now on."""
        self.page = page
        page.route("**/api/session/info", self._info)
        page.route("**/api/session/extend", self._extend)
        return self

    def deadline(self) -> float:
        return min(self.last_activity + self.idle, self.absolute)

    def remaining(self) -> float:
        return self.deadline() - self.now

    def set_remaining(self, seconds: float) -> None:
        """Move the virtual clock so ``seconds`` are left (the page's clock is not moved)."""
        self.now = self.deadline() - seconds

    def advance(self, seconds: float) -> None:
        """Move both clocks: the virtual one first, so the checks the page's timers
        send on the way are answered with the new time."""
        self.now += seconds
        assert self.page is not None
        self.page.clock.fast_forward(int(seconds * 1000))

    def extend_elsewhere(self) -> None:
        """Activity in another tab or device: the deadline moves, as the server's would."""
        self.last_activity = self.now

    def _iso(self, at: float) -> str:
        return (self.started + timedelta(seconds=at)).isoformat(timespec="seconds")

    def _times(self, session: dict[str, Any]) -> dict[str, Any]:
        left = max(0, int(self.remaining()))
        return {
            **session,
            "created_at": self._iso(0),
            "last_activity": self._iso(self.last_activity),
            "elapsed_seconds": int(self.now - self.last_activity),
            "remaining_seconds": left,
            "is_active": left > 0,
            "expires_at": self._iso(self.deadline()),
            "absolute_expires_at": self._iso(self.absolute),
            "idle_timeout_seconds": round(self.idle),
        }

    def _answer(self, route: Route, change: Any) -> None:
        response = route.fetch()
        if self.remaining() <= 0:
            route.fulfill(status=401, json=EXPIRED)
            return
        body = response.json()
        if response.ok and isinstance(body.get("session"), dict):
            change(body)
            body["session"] = self._times(body["session"])
        route.fulfill(response=response, body=json.dumps(body))

    def _info(self, route: Route) -> None:
        self._answer(route, lambda body: None)

    def _extend(self, route: Route) -> None:
        def extend(body: dict[str, Any]) -> None:
            before = self.deadline()
            self.last_activity = self.now
            body["extended"] = self.deadline() > before

        self._answer(route, extend)
