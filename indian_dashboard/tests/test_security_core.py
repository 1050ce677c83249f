"""Each attack or bad input the session core names, as a test that fails without its defence."""

from __future__ import annotations

import base64
import hashlib
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, jsonify
from flask_session_guard.clock import ManualClock
from flask_session_guard.session_ids import CookieSigner, new_session_id, store_key
from itsdangerous import Signer
from tests.counting import CountingStore

from indian_dashboard import create_app
from indian_dashboard.session_manager import get_session_manager

from .conftest import SECRET, Visitor


@pytest.fixture
def counting(app: Flask) -> CountingStore:
    """The app's store, wrapped so that tests can count round trips."""
    interface = app.extensions["session_manager"].interface
    interface.store = CountingStore(interface.store)
    store: CountingStore = interface.store
    return store


def signed(session_id: str, secret: str = SECRET) -> str:
    return CookieSigner(secret).sign(session_id)


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
        assert client.get("/api/session/info").json["error"] == "session_expired"
        client.set_cookie("session", signed(planted))
        token = client.get("/api/session/csrf-token").json["csrf_token"]
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


class TestFixationAndLogout:
    def test_old_id_and_token_die_at_create_session(self, connected: Visitor) -> None:
        old_cookie, old_token = connected.cookie(), connected.token
        connected.connect("dhan", {"client_id": "D1", "access_token": "tok"})
        new_cookie, new_token = connected.cookie(), connected.token
        connected.client.set_cookie("session", old_cookie or "")
        assert connected.session_info().json["error"] == "session_expired"
        connected.client.set_cookie("session", new_cookie or "")
        response = connected.client.post("/api/session/extend", headers={"X-CSRF-Token": old_token})
        assert response.json["error"] == "csrf_invalid"
        ok = connected.client.post("/api/session/extend", headers={"X-CSRF-Token": new_token})
        assert ok.status_code == 200

    def test_pre_login_id_does_not_survive_login(self, visitor: Visitor) -> None:
        visitor.fetch_token()
        pre_login = visitor.cookie()
        visitor.connect()
        assert visitor.cookie() != pre_login
        visitor.client.set_cookie("session", pre_login or "")
        assert visitor.session_info().status_code == 401

    def test_old_id_dies_at_clear(self, connected: Visitor) -> None:
        cookie = connected.cookie()
        connected.logout()
        connected.client.set_cookie("session", cookie or "")
        assert connected.session_info().json["error"] == "session_expired"
        connected.client.set_cookie("session", cookie or "")
        assert connected.extend().status_code == 401

    def test_slow_request_does_not_resurrect_a_logged_out_session(self, app: Flask) -> None:
        holder: dict[str, Visitor] = {}

        @app.post("/t/slow")
        def slow() -> Any:
            manager = get_session_manager()
            assert manager.get_user_data("broker") == "kite"  # loaded before the logout
            other = holder["other"]
            assert other.logout().status_code == 200  # another tab logs out meanwhile
            manager.store_user_data("late", "write")
            manager.extend_session()
            return jsonify(status="success")

        tab1 = Visitor(app.test_client())
        tab1.connect()
        tab2 = Visitor(app.test_client())
        tab2.client.set_cookie("session", tab1.cookie() or "")
        tab2.token = tab1.token
        holder["other"] = tab2
        cookie = tab1.cookie()
        assert tab1.client.post("/t/slow", headers=tab1.headers()).status_code == 200
        store = app.extensions["session_manager"].store
        assert store.get(tab1.info["session_id"], 0) is None
        tab1.client.set_cookie("session", cookie or "")
        assert tab1.session_info().status_code == 401


class TestFailedRequests:
    def test_5xx_does_not_persist_session_changes(self, app: Flask) -> None:
        @app.post("/t/fail")
        def fail() -> Any:
            get_session_manager().store_user_data("broker", "changed")
            raise RuntimeError("boom")

        app.config["PROPAGATE_EXCEPTIONS"] = False
        visitor = Visitor(app.test_client())
        visitor.connect()
        assert visitor.client.post("/t/fail", headers=visitor.headers()).status_code == 500
        status = visitor.client.get("/api/broker/status").json
        assert status["broker"]["name"] == "kite"

    def test_5xx_does_not_create_a_session(self, app: Flask, counting: CountingStore) -> None:
        @app.post("/t/fail-create")
        def fail_create() -> Any:
            get_session_manager().create_session({"broker": "kite"})
            raise RuntimeError("boom")

        app.config["PROPAGATE_EXCEPTIONS"] = False
        visitor = Visitor(app.test_client())
        visitor.fetch_token()
        created_before = counting.calls["create"]
        response = visitor.client.post("/t/fail-create", headers=visitor.headers())
        assert response.status_code == 500
        assert "Set-Cookie" not in response.headers
        assert counting.calls["create"] == created_before


class TestStorage:
    @pytest.fixture
    def sqlite_app(self, tmp_path: Path, clock: ManualClock) -> Iterator[tuple[Flask, Path]]:
        path = tmp_path / "raw.sqlite3"
        app = create_app(
            {"SECRET_KEY": SECRET, "SESSION_STORE_URL": f"sqlite:///{path}"},
            clock=clock,
            instance_path=str(tmp_path),
        )
        yield app, path

    def test_values_are_json_and_ids_are_not_stored(self, sqlite_app: tuple[Flask, Path]) -> None:
        app, path = sqlite_app
        visitor = Visitor(app.test_client())
        visitor.connect()
        cookie = visitor.cookie()
        assert cookie is not None
        session_id = cookie.split(".")[0]
        with sqlite3.connect(path) as db:
            rows = db.execute("SELECT name, value FROM session_data").fetchall()
            ids = [r[0] for r in db.execute("SELECT id FROM sessions")]
            raw = b"".join(bytes(str(r), "utf-8") for r in db.execute("SELECT * FROM sessions"))
        assert dict(rows)["broker"] == '"kite"'
        assert ids == [visitor.info["session_id"]]
        assert session_id.encode() not in raw  # a copy of the store cannot log anyone in

    def test_undecodable_record_is_no_session(
        self, sqlite_app: tuple[Flask, Path], caplog: pytest.LogCaptureFixture
    ) -> None:
        app, path = sqlite_app
        visitor = Visitor(app.test_client())
        visitor.connect()
        with sqlite3.connect(path) as db:
            db.execute(
                "UPDATE session_data SET value = ? WHERE name = 'broker'",
                ("cos\nsystem\n(S'echo pwned'\ntR.",),
            )
        with caplog.at_level(logging.WARNING, logger="flask_session_guard.security"):
            response = visitor.session_info()
        assert response.status_code == 401
        assert any("does not decode" in r.getMessage() for r in caplog.records)
