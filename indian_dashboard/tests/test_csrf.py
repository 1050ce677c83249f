"""CSRF: every unsafe view needs the token unless exempt, a refusal changes nothing, and
the token's masking and where it is read from hold for any input (properties)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask, jsonify
from flask_session_guard import csrf
from flask_session_guard.clock import ManualClock
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.exceptions import HTTPException

from indian_dashboard.session_manager import csrf_exempt, get_session_manager

from .apps import json_of, make_app
from .conftest import Visitor
from .fuzzing import B64_ALPHABET, any_text, fuzz, header_text, json_values, tried
from .test_session_api import assert_envelope


class TestGlobalCsrf:
    @pytest.fixture
    def app(self, tmp_path: Path) -> Flask:
        app = make_app(tmp_path)

        @app.post("/plain")
        def plain() -> Any:
            get_session_manager().store_user_data("touched", True)
            return jsonify(status="success")

        @app.post("/exempt/hook")
        @csrf_exempt
        def hook() -> Any:
            return jsonify(status="success")

        @app.route("/propfind", methods=["PROPFIND"])
        def propfind() -> Any:
            return jsonify(status="success")

        return app

    def test_undecorated_unsafe_view_needs_a_token(self, app: Flask) -> None:
        visitor = Visitor(app.test_client())
        visitor.connect()
        assert_envelope(visitor.client.post("/plain"), 403, "csrf_missing")
        assert visitor.client.post("/plain", headers=visitor.headers()).status_code == 200

    def test_unknown_methods_are_unsafe(self, app: Flask) -> None:
        visitor = Visitor(app.test_client())
        visitor.connect()
        assert visitor.client.open("/propfind", method="PROPFIND").status_code == 403
        ok = visitor.client.open("/propfind", method="PROPFIND", headers=visitor.headers())
        assert ok.status_code == 200

    def test_unknown_method_on_the_api_is_json_405(self, app: Flask) -> None:
        response = app.test_client().open("/api/session/info", method="BREW")
        assert_envelope(response, 405, "method_not_allowed")

    def test_method_override_header_bypasses_nothing(self, app: Flask) -> None:
        visitor = Visitor(app.test_client())
        visitor.connect()
        response = visitor.client.post("/plain", headers={"X-HTTP-Method-Override": "GET"})
        assert_envelope(response, 403, "csrf_missing")

    def test_exempt_view_needs_no_token(self, app: Flask) -> None:
        assert app.test_client().post("/exempt/hook").status_code == 200

    @pytest.mark.parametrize(
        "path",
        [
            "/exempt/../api/watchlist",
            "/exempt/hook/../../api/watchlist",
            "//api/watchlist",
            "/api/watchlist/",
            "/api%2Fwatchlist",
            "/API/watchlist",
            "/exempt/hook/",
            "/exempt/%2E%2E/api/watchlist",
        ],
    )
    def test_path_tricks_never_reach_a_protected_view(self, app: Flask, path: str) -> None:
        visitor = Visitor(app.test_client())
        visitor.connect()
        response = visitor.client.post(path, json={"symbol": "TCS"})
        assert response.status_code != 200 or json_of(response).get("watchlist") is None
        assert response.status_code < 500
        assert json_of(visitor.client.get("/api/watchlist"))["watchlist"] == []

    def test_enforcement_can_be_turned_off(self, tmp_path: Path) -> None:
        app = make_app(tmp_path, SESSION_CSRF_ENFORCE=False)

        @app.post("/plain")
        def plain() -> Any:
            return jsonify(status="success")

        assert app.test_client().post("/plain").status_code == 200
        # The decorators still protect the API.
        assert app.test_client().post("/api/session/clear").status_code == 401

    def test_csrf_failure_changes_nothing(self, tmp_path: Path) -> None:
        clock = ManualClock()
        app = make_app(tmp_path, clock)
        visitor = Visitor(app.test_client())
        visitor.connect()
        before = app.extensions["session_manager"].store.get(visitor.info["session_id"], 0)
        clock.advance(30)  # activity would be due
        response = visitor.client.post(
            "/api/watchlist", json={"symbol": "TCS"}, headers={"X-CSRF-Token": "forged"}
        )
        assert_envelope(response, 403, "csrf_invalid")
        after = app.extensions["session_manager"].store.get(visitor.info["session_id"], 0)
        assert after == before
        assert before is not None
        assert before.csrf_secret not in response.get_data(as_text=True)
        assert visitor.token is not None
        assert visitor.token not in response.get_data(as_text=True)


# -- the CSRF token path ------------------------------------------------------------------

secrets_ = st.binary(min_size=csrf.SECRET_BYTES, max_size=csrf.SECRET_BYTES).map(
    lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
)


class TestCsrfTokenProperties:
    @fuzz(1500)
    @given(secret=secrets_, token=st.one_of(any_text, st.none(), st.integers(), st.binary()))
    def test_matches_refuses_anything_made_up(self, secret: str, token: Any) -> None:
        tried("csrf.matches(arbitrary)")
        assert csrf.matches(secret, token) is False

    @fuzz(500)
    @given(secret=secrets_, data=st.data())
    def test_every_mask_validates_and_every_edit_breaks_it(
        self, secret: str, data: st.DataObject
    ) -> None:
        tried("csrf.matches(edited mask)")
        token = csrf.mask(secret)
        assert csrf.matches(secret, token) is True
        # The last character carries 4 unused bits, so it is left out of the edits.
        at = data.draw(st.integers(0, len(token) - 2))
        # The pad is random, so the replacement is drawn as a shift, not a character.
        shift = data.draw(st.integers(1, len(B64_ALPHABET) - 1))
        other = B64_ALPHABET[(B64_ALPHABET.index(token[at]) + shift) % len(B64_ALPHABET)]
        assert csrf.matches(secret, token[:at] + other + token[at + 1 :]) is False
        cut = data.draw(st.integers(1, len(token)))
        assert csrf.matches(secret, token[:-cut]) is False
        extra = data.draw(st.text(B64_ALPHABET, min_size=1, max_size=50))
        assert csrf.matches(secret, token + extra) is False

    @fuzz(800)
    @given(
        header=st.none() | header_text,
        content_type=st.sampled_from(
            [
                "application/json",
                "application/json; charset=utf-8",
                "application/problem+json",
                "text/plain",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x",
                "multipart/form-data",
                "",
            ]
        )
        | header_text,
        body=st.one_of(
            st.binary(max_size=500),
            json_values.map(json.dumps),
            st.dictionaries(st.just("csrf_token"), json_values).map(json.dumps),
            st.text(max_size=200).map(lambda t: f"csrf_token={quote(t)}"),
        ),
    )
    def test_token_from_request(
        self, fuzz_app: Flask, header: str | None, content_type: str, body: Any
    ) -> None:
        tried("csrf.token_from_request")
        headers = {} if header is None else {csrf.HEADER: header}
        if content_type:
            headers["Content-Type"] = content_type
        with fuzz_app.test_request_context(
            "/api/session/extend?csrf_token=QUERY-ONLY",
            method="POST",
            headers=headers,
            data=body,
        ) as ctx:
            try:
                token = csrf.token_from_request(ctx.request)
            except HTTPException as err:
                assert err.code == 400  # a JSON body that is not JSON, or a non-string token
                assert ctx.request.is_json and not header
                return
        if header:
            assert token == header  # the header comes first, as sent
        assert token is None or isinstance(token, str)
        assert token != "QUERY-ONLY"  # the query string never counts
        if token is not None and not header:
            assert ctx.request.is_json or ctx.request.mimetype in (
                "application/x-www-form-urlencoded",
                "multipart/form-data",
            )

    @fuzz(300)
    @given(secret=secrets_)
    def test_a_text_plain_body_is_never_read_for_a_token(self, secret: str) -> None:
        tried("csrf.token_from_request(text/plain)")
        app = Flask(__name__)
        token = csrf.mask(secret)
        for body in (json.dumps({"csrf_token": token}), f"csrf_token={token}"):
            with app.test_request_context(
                "/", method="POST", data=body, content_type="text/plain"
            ) as ctx:
                assert csrf.token_from_request(ctx.request) is None
