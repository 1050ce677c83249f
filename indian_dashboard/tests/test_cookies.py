"""The session cookie: malformed, tampered, foreign and planted cookies get nothing; the
signature's format, the ``__Host-`` prefix, key rotation, and the signer's properties."""

from __future__ import annotations

import base64
import hashlib
import logging
import string
from pathlib import Path

import pytest
from flask import Flask
from flask_session_guard.session_ids import CookieSigner, new_session_id, store_key
from hypothesis import given
from hypothesis import strategies as st
from itsdangerous import Signer
from tests.counting import CountingStore

from .apps import HttpsClient, json_of, make_app, signed
from .conftest import Visitor
from .contract import assert_documented
from .fuzzing import B64_ALPHABET, any_text, connected_visitor, fuzz, header_text, tried
from .servers import SECRET


class TestCookies:
    @pytest.mark.parametrize(
        "value",
        [
            "",
            "x" * 8192,
            "é" * 87,
            "../../etc/passwd",
            "a\x00b",
            "*",
            "[a-z]?*",
            "%00",
            "A" * 43 + "." + "B" * 43,
        ],
    )
    def test_malformed_cookie_costs_no_lookup_and_no_500(
        self, app: Flask, counting: CountingStore, value: str
    ) -> None:
        client = app.test_client(use_cookies=False)
        for path in ("/api/session/info", "/api/broker/status", "/"):
            response = client.get(path, headers={"Cookie": f"session={value}"})
            assert response.status_code in (200, 401)
        assert counting.calls["get"] == 0

    def test_tampered_cookie_is_refused_without_lookup(
        self, connected: Visitor, counting: CountingStore, caplog: pytest.LogCaptureFixture
    ) -> None:
        cookie = connected.cookie()
        assert cookie is not None
        flipped = ("B" if cookie[5] != "B" else "C").join((cookie[:5], cookie[6:]))
        connected.client.set_cookie("session", flipped)
        with caplog.at_level(logging.INFO, logger="flask_session_guard.security"):
            response = connected.session_info()
        assert response.status_code == 401
        assert response.json["error"] == "session_required"
        assert counting.calls["get"] == 0
        assert any("bad signature" in r.getMessage() for r in caplog.records)
        assert all(flipped not in r.getMessage() for r in caplog.records)

    def test_cookie_signed_with_another_key_is_refused(
        self, connected: Visitor, counting: CountingStore
    ) -> None:
        cookie = connected.cookie()
        assert cookie is not None
        session_id = cookie.split(".")[0]
        connected.client.set_cookie("session", signed(session_id, "another-secret"))
        assert connected.session_info().json["error"] == "session_required"
        assert counting.calls["get"] == 0

    def test_signatures_are_itsdangerous_hmac_signer_ones(self) -> None:
        """Cookies issued before the signer derived its keys once still verify, and back."""
        session_id = new_session_id()
        reference = Signer(
            [b"old-secret", SECRET.encode()],
            salt="indian-dashboard.session-id",
            key_derivation="hmac",
            digest_method=hashlib.sha256,
        )
        ours = CookieSigner(SECRET, ["old-secret"])
        assert ours.sign(session_id) == reference.sign(session_id).decode()
        assert ours.unsign(reference.sign(session_id).decode()) == session_id
        under_fallback = CookieSigner("old-secret").sign(session_id)
        assert ours.unsign(under_fallback) == session_id

    def test_store_key_is_unchanged(self) -> None:
        session_id = new_session_id()
        digest = hashlib.sha256(b"indian-dashboard.session-key\x00" + session_id.encode()).digest()
        assert store_key(session_id) == base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")

    def test_signature_with_other_unused_base64_bits_is_refused(self) -> None:
        """43 characters carry 258 bits for 256: the last one's two low bits are unused."""
        signer = CookieSigner(SECRET)
        cookie = signer.sign(new_session_id())
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        last = alphabet.index(cookie[-1])
        for low_bits in range(1, 4):
            variant = cookie[:-1] + alphabet[last ^ low_bits]
            assert signer.unsign(variant) is None

    def test_unknown_signed_id_is_never_adopted(self, app: Flask) -> None:
        """An id the server never issued gets no record, even when a session is made."""
        planted = new_session_id()
        client = app.test_client()
        client.set_cookie("session", signed(planted))
        assert json_of(client.get("/api/session/info"))["error"] == "session_expired"
        client.set_cookie("session", signed(planted))
        token = json_of(client.get("/api/session/csrf-token"))["csrf_token"]
        issued = client.get_cookie("session")
        assert issued is not None and issued.value.split(".")[0] != planted
        store = app.extensions["session_manager"].store
        assert store.get(store_key(planted), 0) is None
        client.post(
            "/api/broker/connect",
            json={
                "broker": "dhan",
                "credentials": {"client_id": "C1", "access_token": "t"},
            },
            headers={"X-CSRF-Token": token},
        )
        assert store.get(store_key(planted), 0) is None

    def test_anonymous_flood_writes_nothing(self, app: Flask, counting: CountingStore) -> None:
        client = app.test_client()
        for _ in range(50):
            client.get("/")
            client.get("/healthz")
            client.get("/api/session/info")
            client.get("/api/broker/status")
            client.post("/api/session/extend")
            client.post("/api/watchlist", json={"symbol": "TCS"})
        assert counting.calls["create"] == 0
        assert counting.calls["update"] == 0
        assert counting.calls["get"] == 0


class TestCookieSettingsAndKeys:
    def test_secure_cookie_takes_host_prefix(self, tmp_path: Path) -> None:
        app = make_app(tmp_path, SESSION_COOKIE_SECURE=True)
        app.test_client_class = HttpsClient
        client = app.test_client()
        header = client.get("/api/session/csrf-token").headers["Set-Cookie"]
        assert header.startswith("__Host-session=")
        assert "Path=/;" in header and "Secure" in header and "Domain" not in header
        visitor = Visitor(client)
        visitor.connect()
        assert client.get("/api/session/info").status_code == 200

    def test_secret_key_fallbacks_keep_old_cookies(self, tmp_path: Path) -> None:
        old_key, new_key = "old-key-" + "o" * 32, "new-key-" + "n" * 32
        store = f"sqlite:///{tmp_path / 's.db'}"
        old = make_app(tmp_path, SECRET_KEY=old_key, SESSION_STORE_URL=store)
        visitor = Visitor(old.test_client())
        visitor.connect()
        cookie = visitor.cookie()
        new = make_app(
            tmp_path,
            SECRET_KEY=new_key,
            SECRET_KEY_FALLBACKS=[old_key],
            SESSION_STORE_URL=store,
        )
        client = new.test_client()
        client.set_cookie("session", cookie or "")
        status = client.get("/api/broker/status")
        assert status.status_code == 200  # signature and sealed credentials both open
        fresh = Visitor(new.test_client())
        fresh.connect()
        fresh_id = CookieSigner(new_key).unsign(fresh.cookie() or "")
        assert fresh_id is not None
        assert CookieSigner(old_key).unsign(fresh.cookie() or "") is None
        without = make_app(tmp_path, SECRET_KEY=new_key, SESSION_STORE_URL=store)
        other = without.test_client()
        other.set_cookie("session", cookie or "")
        assert other.get("/api/broker/status").status_code == 401

    @pytest.mark.parametrize(
        ("first", "second", "status"),
        [("valid", "forged", 200), ("forged", "valid", 200), ("valid", "other", 401)],
    )
    def test_planted_second_cookie(self, app: Flask, first: str, second: str, status: int) -> None:
        alice, mallory = Visitor(app.test_client()), Visitor(app.test_client())
        alice.connect()
        mallory.connect()
        values = {
            "valid": alice.cookie(),
            "other": mallory.cookie(),
            "forged": CookieSigner("attacker").sign("A" * 43),
        }
        client = app.test_client(use_cookies=False)
        header = f"session={values[first]}; session={values[second]}"
        response = client.get("/api/broker/status", headers={"Cookie": header})
        assert response.status_code == status


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


class TestCookieProperties:
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
        assert json_of(info)["error"] == "session_required"
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
        assert json_of(info)["session"]["session_id"] == visitor.info["session_id"]
