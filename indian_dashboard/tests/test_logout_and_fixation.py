"""Session fixation and logout: an id or token from before a login, a rotation or a
logout never works again, a slow request never brings a logged-out session back, and
logout clears the site's cache and storage (Clear-Site-Data)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask, jsonify

from indian_dashboard.config import ConfigError
from indian_dashboard.session_manager import get_session_manager

from .apps import json_of, make_app
from .conftest import Visitor
from .test_session_api import assert_envelope


class TestFixation:
    def test_old_id_and_token_die_at_create_session(self, connected: Visitor) -> None:
        old_cookie, old_token = connected.cookie(), connected.token
        connected.connect("dhan", {"client_id": "D1", "access_token": "tok"})
        new_cookie, new_token = connected.cookie(), connected.token
        connected.client.set_cookie("session", old_cookie or "")
        assert connected.session_info().json["error"] == "session_expired"
        connected.client.set_cookie("session", new_cookie or "")
        response = connected.client.post("/api/session/extend", headers={"X-CSRF-Token": old_token})
        assert json_of(response)["error"] == "csrf_invalid"
        ok = connected.client.post("/api/session/extend", headers={"X-CSRF-Token": new_token})
        assert ok.status_code == 200

    def test_pre_login_id_does_not_survive_login(self, visitor: Visitor) -> None:
        visitor.fetch_token()
        pre_login = visitor.cookie()
        visitor.connect()
        assert visitor.cookie() != pre_login
        visitor.client.set_cookie("session", pre_login or "")
        assert visitor.session_info().status_code == 401

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
        new_token = json_of(response)["csrf_token"]
        assert visitor.cookie() != old_cookie
        assert json_of(visitor.client.get("/api/watchlist"))["watchlist"] == ["SBIN"]
        info = visitor.session_info().json["session"]
        assert info["created_at"] == visitor.info["created_at"]  # lifetime not reset
        assert info["session_id"] != visitor.info["session_id"]
        refused = visitor.client.post("/api/session/extend", headers={"X-CSRF-Token": old_token})
        assert_envelope(refused, 403, "csrf_invalid")
        ok = visitor.client.post("/api/session/extend", headers={"X-CSRF-Token": new_token})
        assert ok.status_code == 200
        visitor.client.set_cookie("session", old_cookie or "")
        assert_envelope(visitor.session_info(), 401, "session_expired")


class TestLogout:
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


class TestClearSiteData:
    def test_logout_clears_site_data(self, connected: Visitor) -> None:
        response = connected.logout()
        # Not "cookies": Chromium clears those for every sibling host and the parent.
        assert response.headers["Clear-Site-Data"] == '"cache", "storage"'
        connected.token = None
        assert "Clear-Site-Data" not in connected.connect().headers

    def test_logout_clears_cache_and_storage_but_not_the_domains_cookies(
        self, connected: Visitor
    ) -> None:
        answer = connected.logout()
        assert answer.headers["Clear-Site-Data"] == '"cache", "storage"'
        assert "cookies" not in answer.headers["Clear-Site-Data"]

    def test_directives_are_configurable(self, tmp_path: Path) -> None:
        app = make_app(tmp_path, SESSION_CLEAR_SITE_DATA="cache, cookies")
        visitor = Visitor(app.test_client())
        visitor.connect()
        assert visitor.logout().headers["Clear-Site-Data"] == '"cache", "cookies"'
        none = make_app(tmp_path, SESSION_CLEAR_SITE_DATA=[])
        visitor = Visitor(none.test_client())
        visitor.connect()
        assert "Clear-Site-Data" not in visitor.logout().headers

    def test_unknown_directive_stops_start_up(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="SESSION_CLEAR_SITE_DATA"):
            make_app(tmp_path, SESSION_CLEAR_SITE_DATA=["cache", "everything"])
