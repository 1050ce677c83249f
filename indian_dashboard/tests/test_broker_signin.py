"""Broker sign-in against the emulator over real HTTP: every flow, its errors, the attack.

The dashboard runs under Flask's test client; the brokers are the emulator on a
loopback port (see emulated.py), so every broker call is a real HTTP request.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_session_guard import ManualClock
from tests.processes import free_port

from broker_emulator.demo import ACCOUNTS
from indian_dashboard import create_app

from .apps import app_config, json_of
from .conftest import Visitor
from .emulated import TEST_CLIENT_ORIGIN, apps_for, emulator, path_of, sign_in
from .servers import SECRET
from .test_session_api import assert_envelope

DEMO = {a.broker: a for a in reversed(ACCOUNTS)}  # the first demo account of each broker
APPS = apps_for(TEST_CLIENT_ORIGIN)
CREDENTIALS: dict[str, dict[str, str]] = {
    "kite": {"api_key": APPS.kite.key, "api_secret": APPS.kite.secret},
    "upstox": {"api_key": APPS.upstox.key, "api_secret": APPS.upstox.secret},
    "fyers": {"app_id": APPS.fyers.key, "secret_key": APPS.fyers.secret},
    "dhan": {
        "client_id": DEMO["dhan"].user_id,
        "app_id": APPS.dhan.key,
        "app_secret": APPS.dhan.secret,
    },
}
#: What each adapter calls at the emulator (method, path) in a full sign-in.
ENDPOINTS = {
    "kite": [("GET", "/kite/connect/login"), ("POST", "/kite/session/token")],
    "upstox": [("POST", "/upstox/v2/login/authorization/token")],
    "fyers": [("POST", "/fyers/api/v3/validate-authcode"), ("GET", "/fyers/api/v3/profile")],
    "dhan": [
        ("POST", "/dhan-auth/app/generate-consent"),
        ("GET", "/dhan-auth/app/consumeApp-consent"),
    ],
}
IST_START = datetime(2024, 2, 18, 17, 30, tzinfo=timezone.utc)  # 23:00 IST


def make_app(
    tmp_path: Path, clock: ManualClock, store_url: str = "memory://", **extra: Any
) -> Flask:
    """The shared ``app`` fixture's dashboard, with ``extra`` settings."""
    return create_app(
        app_config(store_url, **extra), clock=clock, instance_path=str(tmp_path / "instance")
    )


@pytest.fixture
def mem_app(tmp_path: Path, clock: ManualClock) -> Iterator[Flask]:
    """The dashboard on the memory store (the flows do not depend on the store)."""
    yield make_app(tmp_path, clock)


@pytest.fixture
def guest(mem_app: Flask) -> Visitor:
    visitor = Visitor(mem_app.test_client())
    visitor.fetch_token()
    return visitor


def start(visitor: Visitor, broker: str, credentials: dict[str, str] | None = None) -> str:
    """POST /api/broker/connect for a redirect broker; returns the broker's login URL."""
    answer = visitor.client.post(
        "/api/broker/connect",
        json={"broker": broker, "credentials": credentials or CREDENTIALS[broker]},
        headers=visitor.headers(),
    )
    assert answer.status_code == 200, answer.json
    assert json_of(answer)["status"] == "redirect"
    url: str = json_of(answer)["redirect_url"]
    assert url.startswith(emulator().url)
    return url


def login_at_broker(broker: str, url: str, **options: Any) -> str:
    account = DEMO[broker]
    return sign_in(
        url,
        options.pop("user", account.user_id),
        options.pop("password", account.password),
        **options,
    )


def direct(visitor: Visitor, broker: str, credentials: dict[str, str]) -> Any:
    return visitor.client.post(
        "/api/broker/connect",
        json={"broker": broker, "credentials": credentials},
        headers=visitor.headers(),
    )


def angel_credentials(**changes: str) -> dict[str, str]:
    account = DEMO["angelone"]
    return {
        "api_key": APPS.angelone.key,
        "client_code": account.user_id,
        "pin": account.pin,
        "totp": emulator().state.current_totp(account),
        **changes,
    }


def status(visitor: Visitor) -> Any:
    return visitor.client.get("/api/broker/status")


def assert_page(answer: Any, status_code: int, text: str) -> None:
    """A callback failure: the connect page (HTML, never JSON) with the reason."""
    assert answer.status_code == status_code, answer.get_data(as_text=True)[:300]
    assert answer.mimetype == "text/html"
    body = answer.get_data(as_text=True)
    assert 'id="connect-form"' in body
    assert text in body, body


class TestRedirectFlows:
    @pytest.mark.parametrize("broker", ["kite", "upstox", "fyers", "dhan"])
    def test_signs_in_as_the_account_the_broker_confirms(self, guest: Visitor, broker: str) -> None:
        calls = emulator().state.calls
        before = len(calls)
        callback = login_at_broker(broker, start(guest, broker))
        assert callback.startswith(f"{TEST_CLIENT_ORIGIN}/api/broker/{broker}/callback?")
        answer = guest.client.get(path_of(callback))
        assert answer.status_code == 303 and answer.headers["Location"] == "/"
        body = status(guest).json
        assert body["broker"]["name"] == broker
        assert body["broker"]["client_id"] == DEMO[broker].user_id
        guest.fetch_token()
        mine = json_of(guest.client.get("/api/session/list"))["sessions"]
        assert len(mine) == 1 and mine[0]["current"]
        seen = [(m, p) for b, m, p in calls[before:] if b == broker]
        for endpoint in ENDPOINTS[broker]:
            assert endpoint in seen or (endpoint[0] == "GET" and broker == "kite"), (endpoint, seen)

    def test_kite_login_url_carries_the_nonce_in_redirect_params(self, guest: Visitor) -> None:
        url = urlsplit(start(guest, "kite"))
        query = parse_qs(url.query)
        assert query["v"] == ["3"] and query["api_key"] == [APPS.kite.key]
        nonce = parse_qs(query["redirect_params"][0])["state"][0]
        assert len(nonce) >= 40
        assert APPS.kite.secret not in url.geturl()

    @pytest.mark.parametrize("broker", ["upstox", "fyers"])
    def test_oauth_brokers_get_state_and_redirect_uri(self, guest: Visitor, broker: str) -> None:
        query = parse_qs(urlsplit(start(guest, broker)).query)
        assert query["redirect_uri"] == [f"{TEST_CLIENT_ORIGIN}/api/broker/{broker}/callback"]
        assert len(query["state"][0]) >= 40 and query["response_type"] == ["code"]
        assert all(
            CREDENTIALS[broker][k] not in str(query)
            for k in ("api_secret", "secret_key")
            if k in CREDENTIALS[broker]
        )

    def test_public_origin_names_the_callback(self, tmp_path: Path, clock: ManualClock) -> None:
        app = make_app(tmp_path, clock, SESSION_PUBLIC_ORIGIN="https://dash.example")
        visitor = Visitor(app.test_client())
        visitor.fetch_token()
        query = parse_qs(urlsplit(start(visitor, "upstox")).query)
        assert query["redirect_uri"] == ["https://dash.example/api/broker/upstox/callback"]
        page = visitor.client.get("/").get_data(as_text=True)
        assert "https://dash.example/api/broker/kite/callback" in page

    def test_exchange_secrets_are_dropped_and_the_token_sealed(
        self, tmp_path: Path, clock: ManualClock
    ) -> None:
        db = tmp_path / "s.sqlite3"
        app = make_app(tmp_path, clock, f"sqlite:///{db}")
        visitor = Visitor(app.test_client())
        visitor.fetch_token()
        url = start(visitor, "kite")

        def rows() -> dict[str, bytes]:
            with sqlite3.connect(db) as con:
                return {
                    n: bytes(v, "utf-8") if isinstance(v, str) else v
                    for n, v in con.execute("SELECT name, value FROM session_data")
                }

        pending = rows()
        assert set(pending) == {"pending_login"}
        assert APPS.kite.secret.encode() not in pending["pending_login"]  # sealed at rest
        visitor.client.get(path_of(login_at_broker("kite", url)))
        kept = rows()
        assert "pending_login" not in kept and {"credentials", "broker"} <= set(kept)
        raw = db.read_bytes() + b"".join(kept.values())
        assert APPS.kite.secret.encode() not in raw
        assert b"access_token" not in kept["credentials"]  # sealed, not JSON text
        app.extensions["session_manager"].store.close()


class TestDirectFlows:
    def test_angel_one_signs_in_with_mpin_and_totp(self, guest: Visitor) -> None:
        calls = emulator().state.calls
        before = len(calls)
        answer = direct(guest, "angelone", angel_credentials())
        assert answer.status_code == 200, answer.json
        body = answer.json
        assert body["status"] == "success" and body["broker"]["client_id"] == "A123456"
        assert body["csrf_token"] and body["session"]["is_active"]
        assert [p for b, _, p in calls[before:] if b == "angelone"] == [
            "/angelone/rest/auth/angelbroking/user/v1/loginByPassword",
            "/angelone/rest/secure/angelbroking/user/v1/getProfile",
        ]

    def test_dhan_web_token_is_checked_with_the_profile(self, guest: Visitor) -> None:
        answer = direct(
            guest, "dhan", {"client_id": "1000000001", "access_token": "dhan-web-token-demo"}
        )
        assert answer.status_code == 200, answer.json
        assert answer.json["broker"]["client_id"] == "1000000001"
        assert ("dhan", "GET", "/dhan-api/v2/profile") in emulator().state.calls

    def test_typed_client_id_must_be_the_brokers(self, guest: Visitor) -> None:
        answer = direct(
            guest, "dhan", {"client_id": "1000000009", "access_token": "dhan-web-token-demo"}
        )
        assert_envelope(answer, 401, "broker_auth_failed")
        assert "different client" in answer.json["message"]
        assert_envelope(status(guest), 401, "session_required")

    def test_typed_client_id_must_match_in_the_consent_flow(self, guest: Visitor) -> None:
        credentials = {**CREDENTIALS["dhan"], "client_id": "1000000009"}
        callback = login_at_broker("dhan", start(guest, "dhan", credentials))
        assert_page(guest.client.get(path_of(callback)), 401, "different client")
        assert_envelope(status(guest), 401, "session_required")


class TestBrokerRefusals:
    def test_bad_checksum(self, guest: Visitor) -> None:
        url = start(guest, "kite", {**CREDENTIALS["kite"], "api_secret": "wrong"})
        assert_page(
            guest.client.get(path_of(login_at_broker("kite", url))),
            401,
            "Zerodha Kite refused the sign-in: Invalid `checksum`.",
        )

    def test_bad_upstox_secret(self, guest: Visitor) -> None:
        url = start(guest, "upstox", {**CREDENTIALS["upstox"], "api_secret": "wrong"})
        assert_page(
            guest.client.get(path_of(login_at_broker("upstox", url))),
            401,
            "Upstox refused the sign-in: Invalid Credentials.",
        )

    def test_bad_fyers_app_id_hash(self, guest: Visitor) -> None:
        url = start(guest, "fyers", {**CREDENTIALS["fyers"], "secret_key": "wrong"})
        assert_page(
            guest.client.get(path_of(login_at_broker("fyers", url))),
            401,
            "Fyers refused the sign-in: Invalid appIdHash.",
        )

    def test_bad_dhan_app_secret_is_refused_at_connect(self, guest: Visitor) -> None:
        answer = direct(guest, "dhan", {**CREDENTIALS["dhan"], "app_secret": "wrong"})
        assert_envelope(answer, 401, "broker_auth_failed")
        assert "Invalid app_id or app_secret" in answer.json["message"]

    @pytest.mark.parametrize(
        ("changes", "reason"),
        [
            ({"totp": "000000"}, "Invalid totp"),
            ({"pin": "9999"}, "Invalid clientcode or password"),
            ({"api_key": "junk"}, "Invalid API Key"),
        ],
    )
    def test_angel_one_refusals(self, guest: Visitor, changes: dict[str, str], reason: str) -> None:
        if emulator().state.totp_matches(DEMO["angelone"], changes.get("totp")):
            changes = {"totp": "111111"}
        answer = direct(guest, "angelone", angel_credentials(**changes))
        assert_envelope(answer, 401, "broker_auth_failed")
        assert answer.json["message"] == f"Angel One refused the sign-in: {reason}."
        assert_envelope(status(guest), 401, "session_required")

    def test_bad_dhan_token(self, guest: Visitor) -> None:
        answer = direct(guest, "dhan", {"client_id": "1000000001", "access_token": "junk"})
        assert_envelope(answer, 401, "broker_auth_failed")
        assert "invalid or expired" in answer.json["message"]

    @pytest.mark.parametrize("broker", ["kite", "upstox", "fyers", "dhan"])
    def test_denied_consent(self, guest: Visitor, broker: str) -> None:
        callback = login_at_broker(broker, start(guest, broker), decision="deny")
        assert_page(guest.client.get(path_of(callback)), 401, "refused the sign-in")
        assert_envelope(status(guest), 401, "session_required")

    def test_reused_code_is_refused_by_the_broker(self, guest: Visitor) -> None:
        first = login_at_broker("kite", start(guest, "kite"))
        assert guest.client.get(path_of(first)).status_code == 303
        guest.client.post("/api/session/clear", headers={"X-CSRF-Token": guest.fetch_token()})
        guest.fetch_token()
        # A new login in this browser (fresh state), with the old request token.
        state = parse_qs(parse_qs(urlsplit(start(guest, "kite")).query)["redirect_params"][0])
        query = parse_qs(urlsplit(first).query)
        query["state"] = state["state"]
        replay = f"/api/broker/kite/callback?{urlencode(query, doseq=True)}"
        assert_page(guest.client.get(replay), 401, "Token is invalid or has expired.")


class TestBrokerUnavailable:
    def test_timeout_is_502(self, tmp_path: Path, clock: ManualClock) -> None:
        app = make_app(tmp_path, clock, BROKER_READ_TIMEOUT=0.2)
        visitor = Visitor(app.test_client())
        visitor.fetch_token()
        state = emulator().state
        state.faults["angelone"], state.slow_seconds = "slow", 0.5
        answer = direct(visitor, "angelone", angel_credentials())
        assert_envelope(answer, 502, "broker_unavailable")
        assert answer.json["message"] == "Angel One did not answer in time; try again."

    def test_timeout_at_the_callback_lands_on_the_page(
        self, tmp_path: Path, clock: ManualClock
    ) -> None:
        app = make_app(tmp_path, clock, BROKER_READ_TIMEOUT=0.2)
        visitor = Visitor(app.test_client())
        visitor.fetch_token()
        callback = login_at_broker("upstox", start(visitor, "upstox"))
        state = emulator().state
        state.faults["upstox"], state.slow_seconds = "slow", 0.5
        assert_page(visitor.client.get(path_of(callback)), 502, "did not answer in time")

    @pytest.mark.parametrize("broker", ["kite", "fyers", "dhan"])
    def test_broker_500_is_502(self, guest: Visitor, broker: str) -> None:
        callback = login_at_broker(broker, start(guest, broker))
        emulator().state.faults[broker] = "500"
        assert_page(guest.client.get(path_of(callback)), 502, "is having trouble (HTTP 500)")
        assert_envelope(status(guest), 401, "session_required")

    def test_unreachable_broker_is_502(self, tmp_path: Path, clock: ManualClock) -> None:
        app = make_app(tmp_path, clock, BROKER_DHAN_API_URL=f"http://127.0.0.1:{free_port()}")
        visitor = Visitor(app.test_client())
        visitor.fetch_token()
        answer = direct(visitor, "dhan", {"client_id": "1", "access_token": "x"})
        assert_envelope(answer, 502, "broker_unavailable")
        assert answer.json["message"] == "Dhan could not be reached; try again."


class TestPendingLogin:
    def test_replayed_callback_starts_nothing(self, guest: Visitor) -> None:
        callback = path_of(login_at_broker("kite", start(guest, "kite")))
        assert guest.client.get(callback).status_code == 303
        guest.client.post("/api/session/clear", headers={"X-CSRF-Token": guest.fetch_token()})
        assert_page(guest.client.get(callback), 400, "already used")
        assert_envelope(status(guest), 401, "session_required")

    @pytest.mark.parametrize("how", ["missing", "wrong"])
    def test_missing_or_wrong_state_starts_nothing_and_burns_the_login(
        self, guest: Visitor, how: str
    ) -> None:
        callback = urlsplit(login_at_broker("upstox", start(guest, "upstox")))
        query = parse_qs(callback.query)
        if how == "missing":
            del query["state"]
        else:
            query["state"] = (
                [query["state"][0][:-4] + "AAAA"]
                if not query["state"][0].endswith("AAAA")
                else ["B" * 43]
            )
        bad = f"{callback.path}?{urlencode(query, doseq=True)}"
        assert_page(guest.client.get(bad), 400, "Connect again")
        # Single use: the right state no longer helps.
        assert_page(guest.client.get(path_of(callback.geturl())), 400, "Connect again")
        assert_envelope(status(guest), 401, "session_required")

    def test_expires_after_ten_minutes(self, tmp_path: Path, clock: ManualClock) -> None:
        # A pre-login session that lives longer: only the pending login's own 10 minutes.
        app = make_app(tmp_path, clock, SESSION_TIMEOUT=3000, SESSION_ABSOLUTE_TIMEOUT=7200)
        visitor = Visitor(app.test_client())
        visitor.fetch_token()
        callback = path_of(login_at_broker("kite", start(visitor, "kite")))
        clock.advance(601)
        assert_page(visitor.client.get(callback), 400, "expired")
        assert_envelope(status(visitor), 401, "session_required")

    def test_within_ten_minutes_it_works(self, guest: Visitor, clock: ManualClock) -> None:
        callback = path_of(login_at_broker("kite", start(guest, "kite")))
        clock.advance(590)
        assert guest.client.get(callback).status_code == 303

    def test_another_browser_cannot_finish_it(self, guest: Visitor, mem_app: Flask) -> None:
        callback = path_of(login_at_broker("fyers", start(guest, "fyers")))
        other = mem_app.test_client()
        answer = other.get(callback)
        assert_page(answer, 400, "another browser")
        # The other browser had no session and got none: nothing was written for it.
        assert "Set-Cookie" not in answer.headers
        assert_envelope(other.get("/api/broker/status"), 401, "session_required")
        # The browser that started it still can.
        assert guest.client.get(callback).status_code == 303

    def test_callback_of_another_broker_is_refused(self, guest: Visitor) -> None:
        callback = urlsplit(login_at_broker("kite", start(guest, "kite")))
        assert_page(
            guest.client.get(f"/api/broker/upstox/callback?{callback.query}"), 400, "Connect again"
        )

    def test_unknown_broker_callback_is_a_page(self, client: FlaskClient) -> None:
        assert_page(client.get("/api/broker/robinhood/callback?code=x"), 400, "Connect again")

    def test_new_session_id_at_the_callback(self, guest: Visitor) -> None:
        before = guest.cookie()
        guest.client.get(path_of(login_at_broker("kite", start(guest, "kite"))))
        assert guest.cookie() not in (None, before)


class TestTheAttack:
    """A victim's client id typed with junk keys: refused, and the victim's sessions unseen."""

    @pytest.fixture
    def victim(self, app: Flask) -> Visitor:
        victim = Visitor(app.test_client())
        victim.connect("dhan", {"client_id": "D1", "access_token": "tok"})
        return victim

    @pytest.mark.parametrize(
        ("broker", "credentials"),
        [
            ("dhan", {"client_id": "D1", "access_token": "junk"}),
            (
                "angelone",
                {"api_key": "junk", "client_code": "A123456", "pin": "0000", "totp": "123456"},
            ),
        ],
    )
    def test_typed_victim_id_with_junk_keys(
        self, app: Flask, victim: Visitor, broker: str, credentials: dict[str, str]
    ) -> None:
        attacker = Visitor(app.test_client())
        attacker.fetch_token()
        answer = direct(attacker, broker, credentials)
        assert_envelope(answer, 401, "broker_auth_failed")
        assert "other_sessions" not in answer.json and "session" not in answer.json
        assert_envelope(attacker.client.get("/api/session/list"), 401, "session_required")
        revoke = attacker.client.post("/api/session/revoke-others", headers=attacker.headers())
        assert revoke.status_code == 401
        assert json_of(victim.client.get("/api/session/info"))["session"]["is_active"]
        sessions = json_of(victim.client.get("/api/session/list"))["sessions"]
        assert len(sessions) == 1 and sessions[0]["current"]

    def test_junk_kite_keys_never_get_past_the_broker(self, app: Flask) -> None:
        attacker = Visitor(app.test_client())
        attacker.fetch_token()
        url = start(attacker, "kite", {"api_key": "junk", "api_secret": "junk"})
        import httpx

        assert httpx.get(url, timeout=5).status_code == 400  # Kite: invalid api_key
        forged = "/api/broker/kite/callback?status=success&request_token=forged&state=x"
        assert_page(attacker.client.get(forged), 400, "Connect again")
        assert_envelope(attacker.client.get("/api/session/list"), 401, "session_required")


class TestLifetime:
    @pytest.mark.parametrize(
        ("broker", "ends"),
        [
            ("kite", "2024-02-19T00:30:00+00:00"),
            ("fyers", "2024-02-19T00:30:00+00:00"),
            ("upstox", "2024-02-18T22:00:00+00:00"),
            ("dhan", "2024-02-19T17:30:00+00:00"),
        ],
    )
    def test_session_never_outlives_the_brokers_token(
        self, tmp_path: Path, broker: str, ends: str
    ) -> None:
        clock = ManualClock(IST_START)
        emulator().state.clock = lambda: clock.now().timestamp()
        app = make_app(tmp_path, clock, SESSION_ABSOLUTE_TIMEOUT=3 * 86400)
        visitor = Visitor(app.test_client())
        visitor.fetch_token()
        visitor.client.get(path_of(login_at_broker(broker, start(visitor, broker))))
        info = json_of(visitor.client.get("/api/session/info"))["session"]
        assert info["absolute_expires_at"] == ends

    def test_the_setting_wins_when_it_is_earlier(self, guest: Visitor) -> None:
        guest.client.get(path_of(login_at_broker("kite", start(guest, "kite"))))
        info = json_of(guest.client.get("/api/session/info"))["session"]
        assert info["absolute_expires_at"] == "2024-02-18T11:00:00+00:00"  # 3600 s


class TestLogout:
    @pytest.mark.parametrize(
        ("broker", "endpoint"),
        [
            ("kite", ("DELETE", "/kite/session/token")),
            ("upstox", ("DELETE", "/upstox/v2/logout")),
            ("fyers", ("POST", "/fyers/api/v3/logout")),
        ],
    )
    @pytest.mark.parametrize("how", ["/api/session/clear", "/api/broker/disconnect"])
    def test_logout_ends_the_brokers_token(
        self, guest: Visitor, broker: str, endpoint: tuple[str, str], how: str
    ) -> None:
        state = emulator().state
        guest.client.get(path_of(login_at_broker(broker, start(guest, broker))))
        live = state.live_tokens(broker)
        before = len(state.calls)
        answer = guest.client.post(how, headers={"X-CSRF-Token": guest.fetch_token()})
        assert answer.status_code == 200
        assert state.calls[before:].count((broker, *endpoint)) == 1
        assert state.live_tokens(broker) == live - 1
        assert status(guest).status_code == 401

    def test_angel_one_logout(self, guest: Visitor) -> None:
        state = emulator().state
        guest.token = direct(guest, "angelone", angel_credentials()).json["csrf_token"]
        live = state.live_tokens("angelone")
        assert (
            guest.client.post("/api/broker/disconnect", headers=guest.headers()).status_code == 200
        )
        assert state.calls[-1] == (
            "angelone",
            "POST",
            "/angelone/rest/secure/angelbroking/user/v1/logout",
        )
        assert state.live_tokens("angelone") == live - 1

    def test_local_session_ends_whatever_the_broker_answers(self, guest: Visitor) -> None:
        guest.client.get(path_of(login_at_broker("kite", start(guest, "kite"))))
        emulator().state.faults["kite"] = "500"
        answer = guest.client.post(
            "/api/session/clear", headers={"X-CSRF-Token": guest.fetch_token()}
        )
        assert answer.status_code == 200
        assert status(guest).status_code == 401


class TestNoSecrets:
    def test_no_secret_in_logs_or_answers(
        self, guest: Visitor, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.DEBUG):
            url = start(guest, "upstox")
            callback = login_at_broker("upstox", url)
            answers = [guest.client.get(path_of(callback))]
            answers.append(guest.client.get("/"))
            answers.append(status(guest))
            guest.fetch_token()
            refused = direct(guest, "angelone", angel_credentials(pin="8642-mpin-typed"))
            assert refused.status_code == 401
            answers.append(refused)
        code = parse_qs(urlsplit(callback).query)["code"][0]
        text = caplog.text + "".join(a.get_data(as_text=True) for a in answers)
        for secret in (APPS.upstox.secret, code, "8642-mpin-typed"):
            assert secret not in text


class TestSettings:
    def test_base_urls_and_timeouts_come_from_the_environment(self) -> None:
        from indian_dashboard.config import config_from_env

        config = config_from_env(
            {
                "BROKER_KITE_API_URL": "http://127.0.0.1:9/kite",
                "BROKER_READ_TIMEOUT": "2.5",
                "BROKER_DEMO": "1",
            }
        )
        assert config["BROKER_KITE_API_URL"] == "http://127.0.0.1:9/kite"
        assert config["BROKER_READ_TIMEOUT"] == 2.5 and config["BROKER_DEMO"] is True

    def test_real_brokers_are_the_defaults(self, tmp_path: Path, monkeypatch: Any) -> None:
        for key in emulator().settings():
            monkeypatch.delenv(key)
        app = create_app(
            {"SECRET_KEY": SECRET, "SESSION_STORE_URL": "memory://"}, instance_path=str(tmp_path)
        )
        urls = app.extensions["brokers"].settings.urls
        assert urls["kite_login"] == "https://kite.zerodha.com/connect/login"
        assert urls["dhan_auth"] == "https://auth.dhan.co"
        settings = app.extensions["brokers"].settings
        assert (settings.connect_timeout, settings.read_timeout) == (5.0, 10.0)

    @pytest.mark.parametrize(
        ("key", "value"),
        [
            ("BROKER_UPSTOX_API_URL", "ftp://x"),
            ("BROKER_UPSTOX_API_URL", "nohost"),
            ("BROKER_READ_TIMEOUT", 0),
        ],
    )
    def test_a_bad_setting_stops_start_up(self, tmp_path: Path, key: str, value: Any) -> None:
        from flask_session_guard import ConfigError

        with pytest.raises(ConfigError, match=key):
            create_app(
                {"SECRET_KEY": SECRET, "SESSION_STORE_URL": "memory://", key: value},
                instance_path=str(tmp_path),
            )

    def test_demo_banner_only_in_demo(self, tmp_path: Path, clock: ManualClock) -> None:
        plain = make_app(tmp_path, clock).test_client().get("/").get_data(as_text=True)
        assert "demo-banner" not in plain
        demo = make_app(tmp_path, clock, BROKER_DEMO=True).test_client().get("/")
        assert "not Zerodha, Upstox, Angel One, Fyers or Dhan" in demo.get_data(as_text=True)
