"""What another origin's page can get from ours: no CORS grant, no embeddable answer,
no JSONP, no session data in scripts; and a logout control on every signed-in page."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from .conftest import Visitor

EVIL = "https://evil.example"
PATHS = ["/", "/api/session/info", "/api/session/csrf-token", "/api/watchlist", "/no-such"]


@pytest.mark.parametrize("path", PATHS)
def test_no_answer_grants_another_origin_access(connected: Visitor, path: str) -> None:
    """ASVS 5.0 V3.4.2: no Access-Control-* header at all, whatever Origin says."""
    answer = connected.client.get(path, headers={"Origin": EVIL})
    preflight = connected.client.options(
        path, headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"}
    )
    for response in (answer, preflight):
        names = [name.lower() for name, _ in response.headers.items()]
        assert not [n for n in names if n.startswith("access-control")]


@pytest.mark.parametrize("path", PATHS)
def test_every_answer_is_same_origin_only_as_a_resource(client: FlaskClient, path: str) -> None:
    """ASVS 5.0 V3.5.8 and V3.4.8: CORP and COOP same-origin on every answer."""
    headers = client.get(path).headers
    assert headers["Cross-Origin-Resource-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"


def test_session_cookie_is_far_below_the_4096_byte_limit(client: FlaskClient) -> None:
    """ASVS 5.0 V3.3.5: a fixed-size signed id, whatever the session holds."""
    visitor = Visitor(client)
    answer = visitor.connect()
    (cookie,) = [v for k, v in answer.headers.items() if k == "Set-Cookie"]
    name_value = cookie.split(";", 1)[0]
    assert len(name_value.encode()) < 200


@pytest.mark.parametrize("param", ["callback", "jsonp", "cb"])
def test_no_jsonp_anywhere(connected: Visitor, param: str) -> None:
    """ASVS 5.0 V3.5.6: a callback parameter changes nothing: JSON, never script."""
    for path in ("/api/session/info", "/api/watchlist", "/api/broker/status"):
        answer = connected.client.get(f"{path}?{param}=steal")
        assert answer.mimetype == "application/json"
        assert not answer.get_data(as_text=True).startswith("steal")


def test_scripts_carry_no_session_data(app: Flask, connected: Visitor) -> None:
    """ASVS 5.0 V3.5.7: the same static bytes with and without a session."""
    anonymous = app.test_client()
    page = connected.client.get("/").get_data(as_text=True)
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', page)
    assert scripts
    for src in scripts:
        with connected.client.get(src) as mine, anonymous.get(src) as theirs:
            assert mine.status_code == theirs.status_code == 200
            body = mine.get_data(as_text=True)
            assert body == theirs.get_data(as_text=True)
        assert connected.info["session_id"] not in body
        assert connected.token is not None and connected.token not in body


def test_the_signed_in_page_has_a_visible_log_out_button(connected: Visitor) -> None:
    """ASVS 5.0 V7.4.4: the dashboard (the one page that needs a session) offers it."""
    page = connected.client.get("/").get_data(as_text=True)
    match = re.search(r'<button id="log-out"[^>]*>([^<]+)</button>', page)
    assert match is not None and match.group(1).strip() == "Log out"
    assert "hidden" not in match.group(0)


@pytest.mark.parametrize("path", PATHS)
def test_every_answer_has_the_minimum_content_security_policy(
    client: FlaskClient, path: str
) -> None:
    """ASVS 5.0 V3.4.3 and V3.4.6: object-src and base-uri 'none', an allow list,
    frame-ancestors 'none', on every answer (errors too)."""
    directives = {
        d.strip().split(" ", 1)[0]: d.strip().split(" ", 1)[1]
        for d in client.get(path).headers["Content-Security-Policy"].split(";")
    }
    assert directives["object-src"] == "'none'" and directives["base-uri"] == "'none'"
    assert directives["script-src"] == "'self'" and directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
