"""Where a request's CSRF token is read from: the guide's header, Flask-WTF's, form, JSON."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from .plain import log_in
from .test_plain_app import assert_envelope


@pytest.fixture
def token(client: FlaskClient) -> str:
    """The logged-in client's token."""
    return log_in(client)


@pytest.mark.parametrize("header", ["X-CSRF-Token", "X-CSRFToken", "x-csrftoken"])
def test_either_header_is_accepted(client: FlaskClient, token: str, header: str) -> None:
    assert client.post("/ping", headers={header: token}).status_code == 200


@pytest.mark.parametrize("header", ["X-CSRF-Token", "X-CSRFToken"])
def test_a_forged_token_in_either_header_is_refused(client: FlaskClient, header: str) -> None:
    log_in(client)
    assert_envelope(client.post("/ping", headers={header: "forged"}), 403, "csrf_invalid")


def test_both_headers_with_the_same_token_pass(client: FlaskClient, token: str) -> None:
    headers = {"X-CSRF-Token": token, "X-CSRFToken": token}
    assert client.post("/ping", headers=headers).status_code == 200


def test_both_headers_with_different_tokens_are_refused(client: FlaskClient, token: str) -> None:
    # A valid token beside a forged one: no guessing which one counts.
    for headers in (
        {"X-CSRF-Token": token, "X-CSRFToken": "forged"},
        {"X-CSRF-Token": "forged", "X-CSRFToken": token},
    ):
        assert_envelope(client.post("/ping", headers=headers), 403, "csrf_invalid")


def test_form_field(client: FlaskClient, token: str) -> None:
    assert client.post("/ping", data={"csrf_token": token}).status_code == 200


def test_json_field(client: FlaskClient, token: str) -> None:
    assert client.post("/ping", json={"csrf_token": token}).status_code == 200


def test_query_string_never_counts(client: FlaskClient, token: str) -> None:
    assert_envelope(client.post(f"/ping?csrf_token={token}"), 403, "csrf_missing")


def test_a_json_token_that_is_not_a_string_is_400(client: FlaskClient, token: str) -> None:
    assert_envelope(client.post("/ping", json={"csrf_token": 5}), 400, "bad_request")
