"""The session JSON API: opt-in under ``SESSION_API_PREFIX``, bringing its own converter."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from .live import plain_server
from .plain import MakeApp, log_in
from .test_plain_app import assert_envelope

#: A well-formed public id that names no session.
NOBODY = "A" * 22


def api_rules(app: Flask) -> set[str]:
    return {r.rule for r in app.url_map.iter_rules() if r.endpoint.startswith("session_api.")}


def test_no_routes_unless_a_prefix_is_set(app: Flask) -> None:
    assert api_rules(app) == set()
    assert "public_id" not in app.url_map.converters
    assert app.test_client().get("/api/session/info").status_code == 404


def test_routes_under_the_prefix_alone(make_app: MakeApp) -> None:
    app = make_app(SESSION_API_PREFIX="/auth")
    assert api_rules(app) == {
        "/auth/info",
        "/auth/csrf-token",
        "/auth/extend",
        "/auth/clear",
        "/auth/validate-csrf",
        "/auth/list",
        "/auth/revoke-others",
        "/auth/<public_id:public_id>",
    }
    client = app.test_client()
    assert_envelope(client.get("/auth/info"), 401, "session_required")
    token = log_in(client)
    assert client.get("/auth/info").json["session"]["is_active"] is True  # type: ignore[index]
    response = client.delete(f"/auth/{NOBODY}", headers={"X-CSRF-Token": token})
    assert_envelope(response, 404, "not_found")
    assert client.post("/auth/clear", headers={"X-CSRF-Token": token}).status_code == 200
    assert_envelope(client.get("/me"), 401, "session_required")


def test_api_errors_are_json_to_a_browser_too(make_app: MakeApp) -> None:
    client = make_app(SESSION_API_PREFIX="/auth").test_client()
    response = client.get("/auth/info", headers={"Accept": "text/html"})
    assert_envelope(response, 401, "session_required")


def get_json(url: str, method: str = "GET") -> tuple[int, Any]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.mark.server
def test_registered_alone_under_gunicorn(tmp_path: Path) -> None:
    with plain_server(tmp_path, PLAIN_API_PREFIX="/auth") as base:
        assert get_json(base + "/auth/info") == (
            401,
            {
                "status": "error",
                "error": "session_required",
                "message": "An active session is required.",
            },
        )
        status, body = get_json(base + f"/auth/{NOBODY}", "DELETE")
        assert (status, body["error"]) == (401, "session_required")
        status, body = get_json(base + "/auth/csrf-token")
        assert status == 200 and len(body["csrf_token"]) == 86
