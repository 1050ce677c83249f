"""An account's sessions: the list, revocation, the audit log, the CLI and metrics."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, jsonify
from flask_session_guard.clock import ManualClock

from indian_dashboard import create_app
from indian_dashboard.config import ConfigError
from indian_dashboard.session_manager import get_session_manager

from .apps import json_of
from .conftest import DHAN, KITE, Visitor
from .servers import SECRET
from .test_session_api import assert_envelope

CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)


def device(app: Flask, user_agent: str, ip: str = "127.0.0.1") -> Visitor:
    visitor = Visitor(app.test_client())
    visitor.client.environ_base.update(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip)
    return visitor


@pytest.fixture
def two_devices(app: Flask) -> tuple[Visitor, Visitor, Visitor]:
    """Kite AB1234 on a laptop and a phone, and another account elsewhere."""
    laptop, phone = device(app, CHROME, "10.0.0.1"), device(app, IPHONE, "10.0.0.2")
    laptop.connect()
    phone.connect()
    stranger = Visitor(app.test_client())
    stranger.connect("dhan", {"client_id": "ZZ9", "access_token": "t"})
    return laptop, phone, stranger


class TestList:
    def test_lists_the_accounts_sessions(self, two_devices: tuple[Visitor, ...]) -> None:
        laptop, _, _ = two_devices
        sessions = json_of(laptop.client.get("/api/session/list"))["sessions"]
        assert len(sessions) == 2
        mine = next(s for s in sessions if s["current"])
        other = next(s for s in sessions if not s["current"])
        assert mine["session_id"] == laptop.info["session_id"]
        assert mine["device"] == "Chrome on Linux" and mine["ip"] == "10.0.0.1"
        assert other["device"] == "Safari on iOS" and other["ip"] == "10.0.0.2"
        assert set(mine) == {"session_id", "created_at", "last_activity", "device", "ip", "current"}

    def test_list_needs_a_session(self, client: Any) -> None:
        assert_envelope(client.get("/api/session/list"), 401, "session_required")

    def test_connect_counts_other_sessions(self, app: Flask) -> None:
        first = Visitor(app.test_client())
        assert first.connect().headers["Location"] == "/"
        second = Visitor(app.test_client())
        # The dashboard reads the count from the fragment and offers to end them.
        assert second.connect().headers["Location"] == "/#other-sessions=1"
        third = Visitor(app.test_client())
        assert third.connect("dhan", DHAN).json["other_sessions"] == 0

    def test_index_follows_rotation_and_expiry(self, app: Flask, clock: ManualClock) -> None:
        @app.post("/t/rotate")
        def rotate() -> Any:
            return jsonify(csrf_token=get_session_manager().rotate_session())

        visitor = Visitor(app.test_client())
        visitor.connect()
        visitor.token = json_of(visitor.client.post("/t/rotate", headers=visitor.headers()))[
            "csrf_token"
        ]
        sessions = json_of(visitor.client.get("/api/session/list"))["sessions"]
        assert len(sessions) == 1 and sessions[0]["current"]
        assert sessions[0]["session_id"] != visitor.info["session_id"]
        other = Visitor(app.test_client())
        other.connect()
        clock.advance(601)  # both expire
        fresh = Visitor(app.test_client())
        fresh.connect()
        assert len(json_of(fresh.client.get("/api/session/list"))["sessions"]) == 1


class TestRevoke:
    def test_end_one_session(self, two_devices: tuple[Visitor, ...]) -> None:
        laptop, phone, _ = two_devices
        response = laptop.client.delete(
            f"/api/session/{phone.info['session_id']}", headers=laptop.headers()
        )
        assert json_of(response)["status"] == "success"
        assert_envelope(phone.client.get("/api/broker/status"), 401, "session_revoked")
        assert laptop.client.get("/api/broker/status").status_code == 200
        sessions = json_of(laptop.client.get("/api/session/list"))["sessions"]
        assert [s["current"] for s in sessions] == [True]

    def test_revoked_session_is_told_for_every_request(
        self, two_devices: tuple[Visitor, ...]
    ) -> None:
        laptop, phone, _ = two_devices
        cookie = phone.cookie()
        laptop.client.delete(f"/api/session/{phone.info['session_id']}", headers=laptop.headers())
        for path in ("/api/session/info", "/api/watchlist", "/api/broker/status"):
            phone.client.set_cookie("session", cookie or "")
            assert_envelope(phone.client.get(path), 401, "session_revoked")
        phone.client.set_cookie("session", cookie or "")
        assert_envelope(phone.extend(), 401, "session_revoked")

    def test_cannot_end_another_accounts_or_own_session(
        self, two_devices: tuple[Visitor, ...]
    ) -> None:
        laptop, _, stranger = two_devices
        for target in (stranger.info["session_id"], laptop.info["session_id"], "A" * 22):
            response = laptop.client.delete(f"/api/session/{target}", headers=laptop.headers())
            assert_envelope(response, 404, "not_found")
        assert stranger.client.get("/api/broker/status").status_code == 200

    def test_end_needs_csrf(self, two_devices: tuple[Visitor, ...]) -> None:
        laptop, phone, _ = two_devices
        response = laptop.client.delete(f"/api/session/{phone.info['session_id']}")
        assert_envelope(response, 403, "csrf_missing")
        assert phone.client.get("/api/broker/status").status_code == 200

    def test_sign_out_everywhere_else(self, app: Flask, two_devices: tuple[Visitor, ...]) -> None:
        laptop, phone, stranger = two_devices
        tablet = Visitor(app.test_client())
        tablet.connect()
        response = laptop.client.post("/api/session/revoke-others", headers=laptop.headers())
        assert json_of(response)["revoked"] == 2
        for gone in (phone, tablet):
            assert_envelope(gone.client.get("/api/broker/status"), 401, "session_revoked")
        assert laptop.client.get("/api/broker/status").status_code == 200
        assert stranger.client.get("/api/broker/status").status_code == 200

    def test_operator_revokes_an_account(
        self, app: Flask, two_devices: tuple[Visitor, ...]
    ) -> None:
        laptop, phone, stranger = two_devices
        result = app.test_cli_runner().invoke(args=["sessions", "revoke-account", "kite:AB1234"])
        assert "Revoked 2 session(s) of kite:AB1234." in result.output
        for gone in (laptop, phone):
            assert_envelope(gone.client.get("/api/broker/status"), 401, "session_revoked")
        assert stranger.client.get("/api/broker/status").status_code == 200


class TestCli:
    @pytest.mark.parametrize(
        "command", ["stats", "list", "revoke", "revoke-account", "purge-expired"]
    )
    def test_every_command_has_help(self, app: Flask, command: str) -> None:
        result = app.test_cli_runner().invoke(args=["sessions", command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output

    def test_stats_and_list(self, app: Flask, two_devices: tuple[Visitor, ...]) -> None:
        laptop, _, _ = two_devices
        Visitor(app.test_client()).fetch_token()  # a pre-login visitor: nothing stored
        runner = app.test_cli_runner()
        stats = runner.invoke(args=["sessions", "stats"]).output
        assert "live sessions: 3" in stats and "kite:AB1234: 2" in stats
        assert "created in the last hour: 3" in stats
        listing = runner.invoke(args=["sessions", "list", "--account", "kite:AB1234"]).output
        assert laptop.info["session_id"] in listing and "Chrome on Linux" in listing
        assert len(listing.strip().splitlines()) == 2
        assert laptop.token is not None
        assert laptop.token not in listing and (laptop.cookie() or "x") not in listing

    def test_revoke_by_public_id(self, app: Flask, two_devices: tuple[Visitor, ...]) -> None:
        _, phone, _ = two_devices
        runner = app.test_cli_runner()
        ok = runner.invoke(args=["sessions", "revoke", phone.info["session_id"]])
        assert ok.exit_code == 0
        assert_envelope(phone.client.get("/api/broker/status"), 401, "session_revoked")
        again = runner.invoke(args=["sessions", "revoke", phone.info["session_id"]])
        assert again.exit_code != 0 and "no live session" in again.output


class TestAudit:
    @pytest.fixture
    def audited(self, tmp_path: Path, clock: ManualClock) -> tuple[Flask, Path]:
        path = tmp_path / "audit.jsonl"
        app = create_app(
            {
                "SECRET_KEY": SECRET,
                "SESSION_STORE_URL": "memory://",
                "SESSION_TIMEOUT": 60,
                "SESSION_ABSOLUTE_TIMEOUT": 100,
                "SESSION_AUDIT_LOG": str(path),
            },
            clock=clock,
            instance_path=str(tmp_path),
        )

        @app.post("/t/rotate")
        def rotate() -> Any:
            return jsonify(csrf_token=get_session_manager().rotate_session())

        return app, path

    def test_lifecycle_events(
        self, audited: tuple[Flask, Path], clock: ManualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        app, path = audited
        with caplog.at_level(logging.INFO, logger="flask_session_guard.audit"):
            a = Visitor(app.test_client())
            a.connect()
            a.extend()
            a.token = json_of(a.client.post("/t/rotate", headers=a.headers()))["csrf_token"]
            a.client.post("/api/session/extend")  # csrf missing
            a.client.post("/api/session/extend", headers={"X-CSRF-Token": "x"})  # invalid
            a.client.post("/api/session/extend", headers={**a.headers(), "Origin": "null"})
            b = Visitor(app.test_client())
            b.connect()
            b.client.post("/api/session/revoke-others", headers=b.headers())
            c = Visitor(app.test_client())
            c.connect()
            c.logout()
            idle = Visitor(app.test_client())
            idle.connect()
            clock.advance(61)
            idle.session_info()  # idle expiry noticed
            old = Visitor(app.test_client())
            old.connect()
            for _ in range(5):
                clock.advance(20)
                old.client.get("/api/broker/status")
            old.session_info()  # absolute expiry noticed
            bad = app.test_client()
            bad.set_cookie("session", "forged.cookie")
            bad.get("/api/session/info")
        records = [json.loads(line) for line in path.read_text().splitlines()]
        events = {(r["event"], r.get("kind") or r.get("reason") or r.get("by")) for r in records}
        for expected in [
            ("session_created", "login"),
            ("session_extended", None),
            ("session_rotated", "login"),
            ("csrf_failure", "missing"),
            ("csrf_failure", "invalid"),
            ("session_revoked", "user"),
            ("session_cleared", None),
            ("session_expired", "idle"),
            ("session_expired", "absolute"),
            ("cookie_refused", "malformed or bad signature"),
        ]:
            assert expected in events, expected
        assert any(r["event"] == "origin_refused" for r in records)
        for r in records:
            assert {"event", "time", "session", "account", "ip"} <= set(r)
            assert r["time"].endswith("+00:00")
        created = next(r for r in records if r["event"] == "session_created" and r["account"])
        assert created["account"] == "kite:AB1234" and created["ip"] == "127.0.0.1"
        # The same records reach the logger; neither carries an id, token or credential.
        assert len([r for r in caplog.records if r.name == "flask_session_guard.audit"]) == len(
            records
        )
        text = path.read_text() + caplog.text
        for secret in (a.cookie() or "", a.token or "", KITE["api_secret"], a.info["session_id"]):
            assert secret and secret not in text


class TestMetrics:
    def test_no_route_unless_enabled(self, client: Any) -> None:
        assert client.get("/metrics").status_code == 404

    def test_counters_and_gauge(self, tmp_path: Path) -> None:
        app = create_app(
            {"SECRET_KEY": SECRET, "SESSION_STORE_URL": "memory://", "SESSION_METRICS": True},
            instance_path=str(tmp_path),
        )
        before = app.test_client().get("/metrics").get_data(as_text=True)
        visitor = Visitor(app.test_client())
        visitor.connect()
        visitor.client.post("/api/session/extend", headers={"X-CSRF-Token": "bad"})
        visitor.logout()
        Visitor(app.test_client()).connect()  # the one live session left
        text = app.test_client().get("/metrics").get_data(as_text=True)

        def value(body: str, sample: str) -> float:
            line = next((x for x in body.splitlines() if x.startswith(sample + " ")), None)
            return float(line.split()[-1]) if line else 0.0

        login = 'dashboard_sessions_created_total{kind="login"}'
        assert value(text, login) - value(before, login) == 2
        invalid = 'dashboard_csrf_refusals_total{reason="invalid"}'
        assert value(text, invalid) - value(before, invalid) == 1
        assert value(text, "dashboard_sessions_cleared_total") >= 1
        assert "dashboard_store_seconds_bucket" in text
        assert "dashboard_sessions_live 1.0" in text

    def test_missing_library_stops_start_up(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setitem(sys.modules, "prometheus_client", None)
        with pytest.raises(ConfigError, match="prometheus_client"):
            create_app(
                {"SECRET_KEY": SECRET, "SESSION_STORE_URL": "memory://", "SESSION_METRICS": True},
                instance_path=str(tmp_path),
            )


def test_a_vanished_record_is_logged_as_gone(
    app: Flask, connected: Visitor, caplog: pytest.LogCaptureFixture
) -> None:
    """As when Redis expired the key by itself: the cookie comes back, the record is gone."""
    app.extensions["session_manager"].store.delete(connected.info["session_id"])
    with caplog.at_level(logging.INFO, logger="flask_session_guard.audit"):
        assert_envelope(connected.session_info(), 401, "session_expired")
    records = [json.loads(r.getMessage()) for r in caplog.records if r.name.endswith("audit")]
    assert [(r["event"], r["kind"]) for r in records] == [("session_expired", "gone")]


def test_cli_revokes_an_id_that_starts_with_a_dash(app: Flask) -> None:
    visitor = Visitor(app.test_client())
    visitor.connect()
    store = app.extensions["session_manager"].store
    record = store.get(visitor.info["session_id"], 0)
    assert record is not None
    store.delete(record.key)
    record.key = "-" + record.key[1:]
    store.create(record)
    result = app.test_cli_runner().invoke(args=["sessions", "revoke", record.key])
    assert result.exit_code == 0, result.output
    assert f"Revoked session {record.key}." in result.output


def test_cli_revoke_all_ends_every_account_after_asking(app: Flask) -> None:
    """ASVS 5.0 V7.4.5: an operator ends the sessions of one account or of all."""
    visitors = [Visitor(app.test_client()) for _ in range(3)]
    visitors[0].connect()
    visitors[1].connect()
    visitors[2].connect("dhan", {"client_id": "ZZ9", "access_token": "t"})
    runner = app.test_cli_runner()
    declined = runner.invoke(args=["sessions", "revoke-all"], input="n\n")
    assert declined.exit_code != 0
    assert all(v.session_info().status_code == 200 for v in visitors)
    done = runner.invoke(args=["sessions", "revoke-all", "--yes"])
    assert done.exit_code == 0 and done.output == "Revoked 3 session(s).\n"
    for visitor in visitors:
        assert_envelope(visitor.session_info(), 401, "session_revoked")
