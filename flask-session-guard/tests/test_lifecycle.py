"""The session's life on a plain Flask app: pre-login, login, rotation, logout, planted cookies.

Each test names an attack or a misuse and fails when its defence is removed.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, jsonify, session
from flask.testing import FlaskClient
from flask_session_guard import (
    ManualClock,
    SessionManager,
    SessionStore,
    csrf_exempt,
    get_session_manager,
    require_session,
    session_ended,
)

from .counting import CountingStore

SECRET = "lifecycle-test-secret-key-0123456789abcdef"
HOST = "app.example.test"


@pytest.fixture
def app(store_url: str, clock: ManualClock) -> Any:
    """A plain Flask app: a login, a protected view, an exempt one, a rotation, a logout."""
    made = Flask(__name__)
    made.config.update(
        SECRET_KEY=SECRET,
        SESSION_STORE_URL=store_url,
        SESSION_API_PREFIX="/api/session",
        SESSION_ACTIVITY_INTERVAL=0,
    )
    SessionManager(made, clock=clock)

    @made.post("/login")
    def login() -> Any:
        manager = get_session_manager()
        info = manager.create_session({"user": "ravi"}, account="demo:RAVI")
        return jsonify(session=info, csrf_token=manager.get_csrf_token())

    @made.get("/me")
    @require_session
    def me() -> Any:
        return jsonify(user=session["user"])

    @made.post("/ping")
    @csrf_exempt
    def ping() -> Any:
        return jsonify(ok=True)

    @made.post("/logout")
    @require_session
    def logout() -> Any:
        session.clear()  # Flask's logout idiom
        return jsonify(ok=True)

    yield made
    made.extensions["session_manager"].store.close()


def _client(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_HOST"] = HOST  # a host with parent domains
    return client


def _token(client: FlaskClient) -> str:
    answer = client.get("/api/session/csrf-token")
    assert answer.status_code == 200
    token: str = answer.json["csrf_token"]  # type: ignore[index]
    return token


def _login(client: FlaskClient, token: str) -> Any:
    return client.post("/login", headers={"X-CSRF-Token": token})


def _logged_in(app: Flask) -> tuple[FlaskClient, str]:
    client = _client(app)
    answer = _login(client, _token(client))
    assert answer.status_code == 200, answer.json
    return client, answer.json["csrf_token"]


def _store(app: Flask) -> SessionStore:
    store: SessionStore = app.extensions["session_manager"].store
    return store


def _now(app: Flask) -> float:
    now: float = app.extensions["session_manager"].interface.now()
    return now


class TestPreLogin:
    def test_anonymous_tokens_cost_the_store_nothing(self, app: Flask) -> None:
        interface = app.extensions["session_manager"].interface
        interface.store = counting = CountingStore(interface.store)
        for _ in range(200):
            _token(_client(app))  # each a new visitor without a cookie
        client = _client(app)
        for _ in range(20):
            _token(client)  # one visitor asking again and again
        assert sum(counting.calls.values()) == 0
        assert _store(app).count_live(_now(app)) == 0

    def test_login_form_needs_the_token_of_its_own_cookie(self, app: Flask) -> None:
        victim, attacker = _client(app), _client(app)
        _token(victim)
        attackers_token = _token(attacker)
        assert _login(victim, attackers_token).json["error"] == "csrf_invalid"
        assert _login(victim, "").status_code == 403
        assert _store(app).count_live(_now(app)) == 0

    def test_one_pre_login_cookie_starts_one_session(self, app: Flask) -> None:
        first = _client(app)
        token = _token(first)
        cookie = first.get_cookie("session")
        assert cookie is not None
        second = _client(app)  # the same cookie and token, racing
        second.set_cookie("session", cookie.value)
        assert _login(first, token).status_code == 200
        replay = _login(second, token)
        assert replay.status_code == 403 and replay.json["error"] == "csrf_invalid"
        assert "Set-Cookie" not in replay.headers
        assert len(_store(app).list_sessions(_now(app), account="demo:RAVI")) == 1

    def test_a_pre_login_visitor_has_no_session(self, app: Flask) -> None:
        client = _client(app)
        _token(client)
        assert client.get("/me").json["error"] == "session_required"  # type: ignore[index]
        assert get_session_state(app, client) == "pre_login"


def get_session_state(app: Flask, client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    headers = {"Cookie": f"session={cookie.value}"} if cookie else {}
    headers["Host"] = HOST
    with app.test_request_context("/", headers=headers):
        app.session_interface.open_session(app, __import__("flask").request)
        state: str = get_session_manager().session_state()
        return state


class TestLogout:
    def test_session_clear_logs_out(self, app: Flask) -> None:
        client, token = _logged_in(app)
        assert client.get("/me").status_code == 200
        answer = client.post("/logout", headers={"X-CSRF-Token": token})
        assert answer.status_code == 200
        assert "session=;" in answer.headers["Set-Cookie"]
        assert client.get("/me").status_code == 401
        assert _store(app).count_live(_now(app)) == 0

    @pytest.mark.parametrize("how", ["/logout", "/api/session/clear", "/quit"])
    def test_a_logout_sends_session_ended_with_the_data(self, app: Flask, how: str) -> None:
        """What a session holds elsewhere (a third party's token) can be ended with it."""
        told: list[tuple[Flask, dict[str, Any]]] = []

        @app.post("/quit")
        @csrf_exempt
        def quit() -> Any:
            get_session_manager().clear_session()  # the session was never read
            return jsonify(ok=True)

        def receiver(sender: Flask, **kwargs: Any) -> None:
            told.append((sender, kwargs))

        session_ended.connect(receiver, sender=app)
        try:
            client, token = _logged_in(app)
            client.get("/me")
            assert told == []  # reads and writes do not end anything
            assert client.post(how, headers={"X-CSRF-Token": token}).status_code == 200
            assert told == [(app, {"data": {"user": "ravi"}, "account": "demo:RAVI"})]
            # A second logout has no session left to end; a refused one ends nothing.
            client.post(how, headers={"X-CSRF-Token": token})
            other, _ = _logged_in(app)
            if how != "/quit":
                assert other.post(how, headers={"X-CSRF-Token": "forged"}).status_code == 403
            assert len(told) == 1
        finally:
            session_ended.disconnect(receiver, sender=app)

    def test_session_ended_is_per_app(self, app: Flask, clock: ManualClock) -> None:
        told: list[object] = []
        other = Flask("other")
        other.config.update(SECRET_KEY=SECRET, SESSION_STORE_URL="memory://")
        SessionManager(other, clock=clock)
        session_ended.connect(lambda sender, **_: told.append(sender), sender=other, weak=False)
        client, token = _logged_in(app)
        assert client.post("/logout", headers={"X-CSRF-Token": token}).status_code == 200
        assert told == []


class TestRotation:
    def test_rotation_after_a_concurrent_logout_resurrects_nothing(self, app: Flask) -> None:
        @app.post("/rotate-late")
        @require_session
        def rotate_late() -> Any:
            manager = get_session_manager()
            assert session["user"] == "ravi"  # loaded before the logout finished
            record = manager.list_sessions()[0]
            _store(app).delete(record["session_id"])  # another tab's logout
            return jsonify(csrf_token=manager.rotate_session())

        client, token = _logged_in(app)
        answer = client.post("/rotate-late", headers={"X-CSRF-Token": token})
        assert answer.status_code == 401 and answer.json["error"] == "session_expired"  # type: ignore[index]
        assert _store(app).count_live(_now(app)) == 0

    def test_rotation_of_a_live_session_moves_it(self, app: Flask) -> None:
        @app.post("/rotate")
        @require_session
        def rotate() -> Any:
            return jsonify(csrf_token=get_session_manager().rotate_session())

        client, token = _logged_in(app)
        old = client.get_cookie("session")
        assert old is not None
        answer = client.post("/rotate", headers={"X-CSRF-Token": token})
        assert answer.status_code == 200
        assert client.get("/me").json == {"user": "ravi"}
        stale = _client(app)
        stale.set_cookie("session", old.value)
        assert stale.get("/me").status_code == 401
        assert _store(app).count_live(_now(app)) == 1


class TestActivity:
    def _last_activity(self, client: FlaskClient) -> str:
        info = client.get("/api/session/info").json["session"]  # type: ignore[index]
        stamp: str = info["last_activity"]
        return stamp

    def test_cross_site_navigation_is_not_activity(self, app: Flask, clock: ManualClock) -> None:
        client, _ = _logged_in(app)
        before = self._last_activity(client)
        clock.advance(30)
        assert client.get("/me", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 200
        assert self._last_activity(client) == before
        client.get("/me", headers={"Sec-Fetch-Site": "same-origin"})
        assert self._last_activity(client) != before

    def test_exempt_and_refused_requests_are_not_activity(
        self, app: Flask, clock: ManualClock
    ) -> None:
        client, _ = _logged_in(app)
        before = self._last_activity(client)
        clock.advance(30)
        assert client.post("/ping").status_code == 200
        junk = {"csrf_token": "junk"}
        assert client.post("/api/session/validate-csrf", json=junk).json["valid"] is False  # type: ignore[index]
        assert client.post("/api/session/extend").status_code == 403
        assert self._last_activity(client) == before


class TestValues:
    def test_what_is_saved_is_each_value_as_the_request_left_it(self, app: Flask) -> None:
        """Values are encoded once where they cannot change; a list changed in place after
        it was set, or a value replaced by an atomic update, is saved as it ends."""
        names = ("n", "items", "s", "t", "k", "m")

        @app.post("/values/login")
        def values_login() -> Any:
            manager = get_session_manager()
            manager.create_session({"user": "ravi"}, account="demo:RAVI")
            session["n"] = 2
            manager.update_user_data("n", lambda n: n + 1)  # a new record: applied here
            session["items"] = []
            session["items"].append("x")
            session["s"] = "a"
            del session["s"]
            session["t"] = "b"
            return jsonify(csrf_token=manager.get_csrf_token())

        @app.post("/values")
        def more_values() -> Any:
            session["k"] = 1
            session["k"] = 7
            session["m"] = [1]
            session["m"].append(2)
            return jsonify(ok=True)

        @app.get("/values")
        def read_values() -> Any:
            return jsonify({k: session.get(k) for k in names})

        client = _client(app)
        answer = client.post("/values/login", headers={"X-CSRF-Token": _token(client)})
        assert answer.status_code == 200, answer.json
        expected = {"n": 3, "items": ["x"], "s": None, "t": "b", "k": None, "m": None}
        assert client.get("/values").json == expected
        token = answer.json["csrf_token"]  # type: ignore[index]
        assert client.post("/values", headers={"X-CSRF-Token": token}).status_code == 200
        assert client.get("/values").json == {**expected, "k": 7, "m": [1, 2]}


class TestPlantedCookies:
    def test_two_valid_cookies_end_both_and_expire_every_variant(self, app: Flask) -> None:
        victim, victims_token = _logged_in(app)
        attacker, _ = _logged_in(app)
        mine = victim.get_cookie("session")
        planted = attacker.get_cookie("session")
        assert mine is not None and planted is not None
        both = f"session={mine.value}; session={planted.value}"
        bare = app.test_client(use_cookies=False)
        answer = bare.get("/me", headers={"Cookie": both, "Host": HOST})
        assert answer.status_code == 401
        expired = [h for h in answer.headers.getlist("Set-Cookie") if h.startswith("session=;")]
        domains = sorted(
            next((p.split("=", 1)[1] for p in h.split("; ") if p.startswith("Domain=")), "")
            for h in expired
        )
        assert domains == ["", "app.example.test", "example.test"]
        # Neither is adopted afterwards, whichever cookie is left.
        for value in (mine.value, planted.value):
            alone = bare.get("/me", headers={"Cookie": f"session={value}", "Host": HOST})
            assert alone.json["error"] == "session_revoked"  # type: ignore[index]
        assert victims_token  # the victim must log in again
