"""Issue 5: origin checks, global CSRF, masked tokens, sealed values, key rotation, headers."""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, jsonify
from flask.testing import FlaskClient
from flask_session_guard.clock import ManualClock
from flask_session_guard.session_ids import CookieSigner

from indian_dashboard import create_app
from indian_dashboard.config import ConfigError
from indian_dashboard.session_manager import csrf_exempt, get_session_manager

from .conftest import KITE, SECRET, Visitor
from .test_session_api import assert_envelope

HOST = "https://dash.example"


def make_app(tmp_path: Path, clock: ManualClock | None = None, **config: Any) -> Flask:
    return create_app(
        {"SECRET_KEY": SECRET, "SESSION_STORE_URL": "memory://", **config},
        clock=clock,
        instance_path=str(tmp_path),
    )


class HttpsClient(FlaskClient):
    """A test client whose requests go to https://dash.example."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("base_url", HOST)
        return super().open(*args, **kwargs)


@pytest.fixture
def https_visitor(tmp_path: Path) -> Visitor:
    """A connected visitor of https://dash.example."""
    app = make_app(tmp_path, SESSION_TRUSTED_ORIGINS=["https://partner.example"])
    app.test_client_class = HttpsClient
    visitor = Visitor(app.test_client())
    visitor.connect()
    return visitor


def post_extend(visitor: Visitor, **headers: str) -> Any:
    return visitor.client.post(
        "/api/session/extend",
        headers={**visitor.headers(), **{k.replace("_", "-"): v for k, v in headers.items()}},
    )


class TestOrigin:
    @pytest.mark.parametrize(
        "origin",
        [
            "https://dash.example.evil.com",
            "https://evildash.example",
            "https://dash.example:8443",
            "http://dash.example",
            "https://dash.example@evil.com",
            "null",
            "https://dash.example/",
            "garbage",
        ],
    )
    def test_look_alike_origins_are_refused(self, https_visitor: Visitor, origin: str) -> None:
        response = post_extend(https_visitor, Origin=origin)
        assert_envelope(response, 403, "origin_mismatch")
        assert "Origin" in response.json["message"]

    @pytest.mark.parametrize(
        "origin", ["https://dash.example", "https://DASH.example:443", "https://partner.example"]
    )
    def test_own_and_trusted_origins_pass(self, https_visitor: Visitor, origin: str) -> None:
        assert post_extend(https_visitor, Origin=origin).status_code == 200

    def test_fetch_metadata_cross_site_is_refused(self, https_visitor: Visitor) -> None:
        response = post_extend(https_visitor, Sec_Fetch_Site="cross-site", Origin=HOST)
        assert_envelope(response, 403, "origin_mismatch")

    def test_fetch_metadata_same_site_is_refused_unless_configured(self, tmp_path: Path) -> None:
        for allow, status in ((False, 403), (True, 200)):
            app = make_app(tmp_path, SESSION_CSRF_ALLOW_SAME_SITE=allow)
            visitor = Visitor(app.test_client())
            visitor.connect()
            response = post_extend(visitor, Sec_Fetch_Site="same-site")
            assert response.status_code == status

    @pytest.mark.parametrize("site", ["same-origin", "none"])
    def test_fetch_metadata_same_origin_passes(self, https_visitor: Visitor, site: str) -> None:
        assert post_extend(https_visitor, Sec_Fetch_Site=site).status_code == 200

    def test_referer_of_another_origin_is_refused_on_https(self, https_visitor: Visitor) -> None:
        response = post_extend(https_visitor, Referer="https://evil.com/page")
        assert_envelope(response, 403, "origin_mismatch")
        assert post_extend(https_visitor, Referer=f"{HOST}/dashboard").status_code == 200

    def test_no_origin_headers_still_needs_the_token(self, https_visitor: Visitor) -> None:
        response = https_visitor.client.post("/api/session/extend")
        assert_envelope(response, 403, "csrf_missing")

    def test_forwarded_host_is_ignored_without_a_trusted_proxy(
        self, https_visitor: Visitor
    ) -> None:
        response = post_extend(
            https_visitor, Origin="https://evil.com", X_Forwarded_Host="evil.com"
        )
        assert_envelope(response, 403, "origin_mismatch")

    def test_behind_a_trusted_proxy_the_origin_is_the_configured_one(self, tmp_path: Path) -> None:
        app = make_app(
            tmp_path, SESSION_TRUSTED_PROXIES=1, SESSION_PUBLIC_ORIGIN="https://public.example"
        )
        visitor = Visitor(app.test_client())
        visitor.connect()
        response = post_extend(
            visitor,
            Origin="https://public.example",
            X_Forwarded_Host="internal:8000",
            X_Forwarded_Proto="https",
        )
        assert response.status_code == 200
        # The forwarded host is never this site's origin, whatever the proxy says.
        forged = post_extend(visitor, Origin="https://evil.com", X_Forwarded_Host="evil.com")
        assert_envelope(forged, 403, "origin_mismatch")

    def test_public_origin_setting_wins_over_the_request(self, tmp_path: Path) -> None:
        app = make_app(tmp_path, SESSION_PUBLIC_ORIGIN="https://public.example")
        visitor = Visitor(app.test_client())
        visitor.connect()
        assert post_extend(visitor, Origin="http://localhost").status_code == 403
        assert post_extend(visitor, Origin="https://public.example").status_code == 200

    @pytest.mark.parametrize(
        "origin", ["dash.example", "https://dash.example/path", "null", "ftp://x", ""]
    )
    def test_bad_trusted_origins_stop_start_up(self, tmp_path: Path, origin: str) -> None:
        with pytest.raises(ConfigError, match="SESSION_TRUSTED_ORIGINS"):
            make_app(tmp_path, SESSION_TRUSTED_ORIGINS=[origin or " "])


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
        assert response.status_code != 200 or response.json.get("watchlist") is None
        assert response.status_code < 500
        assert visitor.client.get("/api/watchlist").json["watchlist"] == []

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
        assert visitor.token not in response.get_data(as_text=True)


class TestCookiesAndKeys:
    def test_logout_clears_site_data(self, connected: Visitor) -> None:
        response = connected.logout()
        # Not "cookies": Chromium clears those for every sibling host and the parent.
        assert response.headers["Clear-Site-Data"] == '"cache", "storage"'
        connected.token = None
        assert "Clear-Site-Data" not in connected.connect().headers

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

    def test_rotate_session_keeps_data_and_kills_old_id(self, tmp_path: Path) -> None:
        app = make_app(tmp_path)

        @app.post("/t/rotate")
        def rotate() -> Any:
            return jsonify(csrf_token=get_session_manager().rotate_session())

        visitor = Visitor(app.test_client())
        visitor.connect()
        visitor.client.post("/api/watchlist", json={"symbol": "SBIN"}, headers=visitor.headers())
        old_cookie, old_token = visitor.cookie(), visitor.token
        response = visitor.client.post("/t/rotate", headers=visitor.headers())
        new_token = response.json["csrf_token"]
        assert visitor.cookie() != old_cookie
        assert visitor.client.get("/api/watchlist").json["watchlist"] == ["SBIN"]
        info = visitor.session_info().json["session"]
        assert info["created_at"] == visitor.info["created_at"]  # lifetime not reset
        assert info["session_id"] != visitor.info["session_id"]
        refused = visitor.client.post("/api/session/extend", headers={"X-CSRF-Token": old_token})
        assert_envelope(refused, 403, "csrf_invalid")
        ok = visitor.client.post("/api/session/extend", headers={"X-CSRF-Token": new_token})
        assert ok.status_code == 200
        visitor.client.set_cookie("session", old_cookie or "")
        assert_envelope(visitor.session_info(), 401, "session_expired")

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


class TestEncryptionAtRest:
    @pytest.fixture
    def sqlite_app(self, tmp_path: Path) -> tuple[Flask, Path]:
        path = tmp_path / "raw.sqlite3"
        return make_app(tmp_path, SESSION_STORE_URL=f"sqlite:///{path}"), path

    def raw_bytes(self, path: Path) -> bytes:
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file())

    def test_no_plaintext_credential_on_disk(self, sqlite_app: tuple[Flask, Path]) -> None:
        app, path = sqlite_app
        visitor = Visitor(app.test_client())
        visitor.connect()
        raw = self.raw_bytes(path)
        assert b"kite-secret-value" not in raw
        assert b"kite-key" not in raw
        assert visitor.client.get("/api/broker/status").status_code == 200
        with sqlite3.connect(path) as db:
            (value,) = db.execute(
                "SELECT value FROM session_data WHERE name = 'credentials'"
            ).fetchone()
        assert value.startswith("!v1:")

    def test_sensitive_flag_seals_any_value(self, sqlite_app: tuple[Flask, Path]) -> None:
        app, path = sqlite_app

        @app.post("/t/pan")
        def pan() -> Any:
            get_session_manager().store_user_data("pan", "ABCDE1234F", sensitive=True)
            return jsonify(pan=get_session_manager().get_user_data("pan"))

        visitor = Visitor(app.test_client())
        visitor.connect()
        assert visitor.client.post("/t/pan", headers=visitor.headers()).json["pan"] == "ABCDE1234F"
        assert b"ABCDE1234F" not in self.raw_bytes(path)

    def test_tampered_ciphertext_is_detected(
        self, sqlite_app: tuple[Flask, Path], caplog: pytest.LogCaptureFixture
    ) -> None:
        app, path = sqlite_app
        visitor = Visitor(app.test_client())
        visitor.connect()
        with sqlite3.connect(path) as db:
            (value,) = db.execute(
                "SELECT value FROM session_data WHERE name = 'credentials'"
            ).fetchone()
            flipped = value[:-5] + ("A" if value[-5] != "A" else "B") + value[-4:]
            db.execute("UPDATE session_data SET value = ? WHERE name = 'credentials'", (flipped,))
        with caplog.at_level(logging.WARNING, logger="flask_session_guard.security"):
            assert visitor.client.get("/api/broker/status").status_code == 401
        assert "failed authentication" in caplog.text

    def test_ciphertext_cannot_move_between_sessions(self, sqlite_app: tuple[Flask, Path]) -> None:
        app, path = sqlite_app
        alice, bob = Visitor(app.test_client()), Visitor(app.test_client())
        alice.connect()
        bob.connect("dhan", {"client_id": "D1", "access_token": "bob-token"})
        with sqlite3.connect(path) as db:
            db.execute(
                "UPDATE session_data SET value = (SELECT value FROM session_data"
                " WHERE session_id = ? AND name = 'credentials')"
                " WHERE session_id = ? AND name = 'credentials'",
                (alice.info["session_id"], bob.info["session_id"]),
            )
        assert bob.client.get("/api/broker/status").status_code == 401

    def test_random_bytes_in_the_store_are_no_session(
        self, sqlite_app: tuple[Flask, Path], caplog: pytest.LogCaptureFixture
    ) -> None:
        app, path = sqlite_app
        visitor = Visitor(app.test_client())
        visitor.connect()
        with sqlite3.connect(path) as db:
            db.execute("UPDATE session_data SET value = ? WHERE name = 'broker'", (os.urandom(64),))
        with caplog.at_level(logging.WARNING, logger="flask_session_guard.security"):
            assert visitor.client.get("/api/broker/status").status_code == 401
        assert "does not decode" in caplog.text


class TestNoSecretsInLogs:
    def test_full_session_life_logs_no_secret(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        app = make_app(tmp_path)
        secrets_seen: list[str] = []
        with caplog.at_level(logging.DEBUG):
            visitor = Visitor(app.test_client())
            secrets_seen.append(visitor.fetch_token())
            secrets_seen.append(visitor.cookie() or "")
            visitor.connect()
            secrets_seen += [visitor.token or "", visitor.cookie() or ""]
            visitor.extend()
            visitor.client.post("/api/watchlist", json={"symbol": "TCS"})  # no token
            visitor.client.post("/api/session/extend", headers={"X-CSRF-Token": "forged"})
            visitor.client.post(
                "/api/session/extend", headers={"X-CSRF-Token": visitor.token, "Origin": "null"}
            )
            cookie = visitor.cookie() or ""
            visitor.client.set_cookie("session", cookie[:-1] + "x")  # tampered
            visitor.client.get("/api/broker/status")
            visitor.client.set_cookie("session", cookie)
            visitor.logout()
            visitor.client.set_cookie("session", cookie)
            visitor.client.get("/api/broker/status")  # expired cookie
        secrets_seen += [s.split(".")[0] for s in secrets_seen if "." in s]
        secrets_seen += list(KITE.values())[1:]
        text = caplog.text
        assert "csrf refused" in text and "session cookie refused" in text
        for secret in filter(None, secrets_seen):
            assert secret not in text


class TestHeaders:
    @pytest.mark.parametrize("path", ["/", "/api/session/info", "/api/nope", "/healthz"])
    def test_security_headers_everywhere(self, client: Any, path: str) -> None:
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"

    def test_a_view_keeps_its_own_security_header(self, tmp_path: Path) -> None:
        app = make_app(tmp_path)

        @app.get("/framed")
        def framed() -> Any:
            response = jsonify(ok=True)
            response.headers["x-frame-options"] = "SAMEORIGIN"
            return response

        headers = app.test_client().get("/framed").headers
        assert headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]

    def test_pages_with_session_data_are_not_cached(self, connected: Visitor) -> None:
        for path in ("/", "/api/broker/status", "/api/watchlist"):
            assert connected.client.get(path).headers["Cache-Control"] == "no-store"


class TestBadInput:
    def test_deeply_nested_json_is_400(self, connected: Visitor) -> None:
        body = "[" * 30_000 + "]" * 30_000  # under the 64 KiB limit, past recursion
        for path in ("/api/watchlist", "/api/session/validate-csrf", "/api/broker/connect"):
            response = connected.client.post(
                path, data=body, content_type="application/json", headers=connected.headers()
            )
            assert_envelope(response, 400, "bad_request")
        nested_token = connected.client.post(
            "/api/session/extend", data=body, content_type="application/json"
        )
        assert_envelope(nested_token, 400, "bad_request")

    def test_invalid_utf8_is_400(self, connected: Visitor) -> None:
        response = connected.client.post(
            "/api/watchlist",
            data=b'{"symbol": "\xff\xfe"}',
            content_type="application/json",
            headers=connected.headers(),
        )
        assert_envelope(response, 400, "bad_request")

    def test_megabyte_token_is_refused_cheaply(self, connected: Visitor) -> None:
        response = connected.client.post(
            "/api/session/extend", headers={"X-CSRF-Token": "A" * 1_000_000}
        )
        assert_envelope(response, 403, "csrf_invalid")

    def test_nul_bytes_are_no_500(self, connected: Visitor) -> None:
        response = connected.client.post(
            "/api/watchlist",
            json={"symbol": "TCS\x00"},
            headers={**connected.headers()},
        )
        assert_envelope(response, 400, "bad_request")
        response = connected.client.post(
            "/api/session/validate-csrf", json={"csrf_token": "\x00" * 10}
        )
        assert response.json["valid"] is False
