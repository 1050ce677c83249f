"""The JS client, served by the ``session_guard`` blueprint, in Chromium under a sub-path.

The app lives under ``/shop`` (as behind a proxy's sub-path) with its session API
at ``/auth``: the page's script tag says ``data-api-prefix="/shop/auth"`` and the
client must call nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from .live import plain_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The plain app under gunicorn, mounted at /shop, session API at /auth."""
    with plain_server(
        tmp_path_factory.mktemp("shop"), PLAIN_MOUNT="/shop", PLAIN_API_PREFIX="/auth"
    ) as base:
        yield base


def test_client_under_a_sub_path(shop: str, chromium: Any) -> None:
    context = chromium.new_context()
    context.set_default_timeout(5000)
    paths: list[str] = []
    context.on("request", lambda r: paths.append(urlsplit(r.url).path))
    try:
        page = context.new_page()
        page.goto(shop + "/page")
        page.wait_for_function("() => window.sessionManager && sessionManager.getCSRFToken()")
        assert page.evaluate("sessionManager.getState()") == "none"
        token = page.evaluate("sessionManager.getCSRFToken()")
        login = context.request.post(shop + "/login", headers={"X-CSRF-Token": token})
        assert login.status == 200, login.text()
        page.evaluate("sessionManager.refresh()")
        page.wait_for_function("() => sessionManager.getState() === 'active'")
        extended = page.evaluate("sessionManager.extendSession()")
        assert extended["status"] == "success", extended
        # The client's fetch attaches the token to the app's own unsafe requests.
        note = page.evaluate(
            "sessionManager.fetch('/shop/note', {method: 'POST', body: '{}', "
            "headers: {'Content-Type': 'application/json'}}).then(r => r.json())"
        )
        assert note == {"saved": True}
        assert page.evaluate("sessionManager.clearSession()") is True
        assert page.evaluate("sessionManager.getState()") == "none"
        me = context.request.get(shop + "/me")
        assert me.status == 401
        assert json.loads(me.text())["error"] == "session_required"
    finally:
        context.close()
    api_calls = {p for p in paths if "/auth/" in p or "/api/" in p}
    assert api_calls == {
        "/shop/auth/csrf-token",
        "/shop/auth/info",
        "/shop/auth/extend",
        "/shop/auth/clear",
    }, paths
    assert "/shop/_session_guard/static/session-manager.js" in paths
