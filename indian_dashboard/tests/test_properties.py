"""Property-based tests (hypothesis) of the token, cookie and JSON parsing paths.

Whatever arrives, the app answers below 500, every error is the envelope with a
code documented for its status (and the status documented for the operation),
and every success validates against the OpenAPI document. Runs are deterministic
(``derandomize``) and bounded; the number of examples tried is printed at the end
of the pytest run (see ``pytest_terminal_summary`` in conftest.py).
"""

from __future__ import annotations

import base64
import json
import string
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask_session_guard import csrf
from flask_session_guard.session_ids import CookieSigner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import HTTPException

from indian_dashboard import create_app

from .conftest import DHAN, KITE, SECRET, Visitor
from .contract import (
    FUZZ_SCALE,
    TRIED,
    assert_documented,
    assert_envelope_any,
)


def fuzz(max_examples: int) -> settings:
    """Deterministic, bounded (times ``FUZZ_SCALE``), no example database."""
    return settings(
        derandomize=True,
        database=None,
        deadline=None,
        max_examples=max_examples * FUZZ_SCALE,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def tried(name: str) -> None:
    TRIED["hypothesis"] += 1
    TRIED[f"hypothesis: {name}"] += 1


B64_ALPHABET = string.ascii_letters + string.digits + "-_"
#: What a WSGI header value can hold: latin-1 text without line breaks.
header_text = st.text(
    st.characters(min_codepoint=0, max_codepoint=255, exclude_characters="\r\n"), max_size=300
)
any_text = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
    st.text(B64_ALPHABET, max_size=200),
    st.integers(0, 200).map(lambda n: "A" * n),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """One app for a module's examples (memory store); each example makes its own visitor."""
    return create_app(
        {"TESTING": True, "SECRET_KEY": SECRET, "SESSION_STORE_URL": "memory://"},
        instance_path=str(tmp_path_factory.mktemp("fuzz") / "instance"),
    )


def connected_visitor(app: Flask) -> Visitor:
    visitor = Visitor(app.test_client())
    visitor.connect("dhan", DHAN)  # direct: one request per example
    return visitor


# -- the CSRF token path ------------------------------------------------------------------

secrets_ = st.binary(min_size=csrf.SECRET_BYTES, max_size=csrf.SECRET_BYTES).map(
    lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
)


class TestCsrfToken:
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


# -- the cookie path ----------------------------------------------------------------------

cookie_ids = st.text(B64_ALPHABET, min_size=43, max_size=43)
#: Cookie values that cannot end the pair or open a quoted string.
cookie_values = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters='";,\\'),
    max_size=120,
)
cookie_names = st.text(string.ascii_letters + string.digits + "_-", min_size=1, max_size=12).filter(
    lambda n: n != "session"
)


class TestCookies:
    @fuzz(1000)
    @given(
        cookie=st.one_of(
            any_text,
            st.tuples(cookie_ids, cookie_ids).map(".".join),
            st.tuples(cookie_ids, st.text(B64_ALPHABET, max_size=60)).map(".".join),
        )
    )
    def test_unsign_refuses_anything_not_signed_here(self, cookie: str) -> None:
        tried("CookieSigner.unsign(arbitrary)")
        assert CookieSigner(SECRET).unsign(cookie) is None

    @fuzz(300)
    @given(session_id=cookie_ids, key=st.text(min_size=1, max_size=40))
    def test_sign_then_unsign_round_trips_only_under_its_key(
        self, session_id: str, key: str
    ) -> None:
        tried("CookieSigner round trip")
        cookie = CookieSigner(key).sign(session_id)
        assert CookieSigner(key).unsign(cookie) == session_id
        assert CookieSigner(key + "x").unsign(cookie) is None
        assert CookieSigner("other", [key]).unsign(cookie) == session_id

    @fuzz(600)
    @given(cookie_header=header_text, token=st.none() | header_text)
    def test_arbitrary_cookie_headers_get_no_session(
        self, fuzz_app: Flask, cookie_header: str, token: str | None
    ) -> None:
        tried("Cookie header (arbitrary)")
        client = fuzz_app.test_client(use_cookies=False)
        info = client.get("/api/session/info", headers={"Cookie": cookie_header})
        assert info.status_code == 401
        assert_documented("/api/session/info", "GET", 401, info.mimetype, info.json)
        assert info.json["error"] == "session_required"
        headers = {"Cookie": cookie_header, **({} if token is None else {"X-CSRF-Token": token})}
        post = client.post("/api/watchlist", json={"symbol": "TCS"}, headers=headers)
        assert_documented("/api/watchlist", "POST", post.status_code, post.mimetype, post.json)
        assert post.status_code == 401

    @fuzz(400)
    @given(
        before=st.lists(st.tuples(cookie_names, cookie_values), max_size=5),
        after=st.lists(st.tuples(cookie_names, cookie_values), max_size=5),
        forged=st.lists(cookie_values, max_size=3),
    )
    def test_a_real_session_survives_any_cookies_beside_it(
        self,
        fuzz_app: Flask,
        before: list[tuple[str, str]],
        after: list[tuple[str, str]],
        forged: list[str],
    ) -> None:
        tried("Cookie header (real session among others)")
        visitor = connected_visitor(fuzz_app)
        pairs = [
            *before,
            *(("session", value) for value in forged),
            ("session", visitor.cookie() or ""),
            *after,
        ]
        header = "; ".join(f"{name}={value}" for name, value in pairs)
        client = fuzz_app.test_client(use_cookies=False)
        info = client.get("/api/session/info", headers={"Cookie": header})
        assert info.status_code == 200, info.json
        assert info.json["session"]["session_id"] == visitor.info["session_id"]


# -- JSON and body parsing on every unsafe route -------------------------------------------

UNSAFE_ROUTES = [
    ("POST", "/api/session/extend", "/api/session/extend"),
    ("POST", "/api/session/clear", "/api/session/clear"),
    ("POST", "/api/session/validate-csrf", "/api/session/validate-csrf"),
    ("POST", "/api/session/revoke-others", "/api/session/revoke-others"),
    ("DELETE", "/api/session/" + "A" * 22, "/api/session/{public_id}"),
    ("POST", "/api/broker/connect", "/api/broker/connect"),
    ("POST", "/api/broker/disconnect", "/api/broker/disconnect"),
    ("POST", "/api/watchlist", "/api/watchlist"),
    ("DELETE", "/api/watchlist/TCS", "/api/watchlist/{symbol}"),
]
content_types = (
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "application/json; charset=latin-1",
            "application/vnd.api+json",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/octet-stream",
            "",
        ]
    )
    | header_text
)
plausible_objects = st.fixed_dictionaries(
    {},
    optional={
        "symbol": st.one_of(st.text(string.ascii_uppercase + "&-0", max_size=22), json_values),
        "broker": st.one_of(st.sampled_from(["kite", "dhan", "Kite", ""]), json_values),
        "credentials": st.one_of(
            st.just(KITE),
            st.dictionaries(st.sampled_from([*KITE, "pin", "x"]), json_values, max_size=4),
            json_values,
        ),
        "csrf_token": st.one_of(st.text(B64_ALPHABET, max_size=100), json_values),
    },
)
bodies = st.one_of(
    st.binary(max_size=600),
    json_values.map(json.dumps),
    plausible_objects.map(json.dumps),
    plausible_objects.map(lambda o: json.dumps(o).encode("utf-16")),
    st.integers(1, 40_000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 40_000).map(lambda n: '{"a":' * n + "1" + "}" * n),
    st.text(max_size=200),
)


class TestBodies:
    @fuzz(900)
    @given(
        route=st.sampled_from(UNSAFE_ROUTES),
        body=bodies,
        content_type=content_types,
        token_in=st.sampled_from(["header", "body", "none"]),
    )
    def test_any_body_to_any_unsafe_route(
        self,
        fuzz_app: Flask,
        route: tuple[str, str, str],
        body: Any,
        content_type: str,
        token_in: str,
    ) -> None:
        tried("body x content type x unsafe route")
        method, path, template = route
        visitor = connected_visitor(fuzz_app)
        headers = dict(visitor.headers()) if token_in == "header" else {}
        if token_in == "body":
            body = with_body_token(body, visitor.token or "")
        if content_type:
            headers["Content-Type"] = content_type
        response = visitor.client.open(path, method=method, data=body, headers=headers)
        check_answer(method, template, response)

    @fuzz(400)
    @given(symbol=st.text(max_size=40))
    def test_any_symbol_in_the_delete_path(self, fuzz_app: Flask, symbol: str) -> None:
        tried("DELETE /api/watchlist/{arbitrary}")
        visitor = connected_visitor(fuzz_app)
        path = "/api/watchlist/" + quote(symbol, safe="")
        response = visitor.client.delete(path, headers=visitor.headers())
        if response.status_code == 308:
            # Werkzeug's routing sends "/api/watchlist/" and doubled slashes to the
            # canonical URL; a redirect within the API, not an error.
            assert response.headers["Location"].startswith(
                ("/api/watchlist", "http://localhost/api/")
            )
            return
        check_answer("DELETE", "/api/watchlist/{symbol}", response)


def check_answer(method: str, template: str, response: Any) -> None:
    """Below 500; an error in the envelope; status and body as documented."""
    if response.status_code >= 500:
        TRIED["5xx"] += 1
    assert response.status_code < 500, (method, template, response.get_data()[:300])
    if response.status_code >= 400:
        assert_envelope_any(response.status_code, response.mimetype, response.json)
    assert_documented(template, method, response.status_code, response.mimetype, response.json)


def with_body_token(body: Any, token: str) -> Any:
    """``body`` with ``csrf_token`` added when it is a JSON object; else as it is."""
    try:
        value = json.loads(body)
    except (TypeError, ValueError, RecursionError):
        return body
    if not isinstance(value, dict):
        return body
    return json.dumps({**value, "csrf_token": token})
