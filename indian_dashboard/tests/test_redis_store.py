"""The Redis store itself: layout, expiry, settings, round trips per request, outages.

Every test runs against a real redis-server started by the fixtures on its own
port; none touches the shared Redis on 6379.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from flask import Flask
from flask_session_guard.clock import ManualClock
from flask_session_guard.settings import RedisSettings
from flask_session_guard.stores import SessionRecord, StoreUnavailable, open_store
from flask_session_guard.stores.redis import RedisSessionStore
from flask_session_guard.stores.redis_connections import RedisConnections
from tests.redis_server import Command, RedisServer, recorded_commands

from indian_dashboard import create_app
from indian_dashboard.config import ConfigError, config_from_env
from indian_dashboard.session_manager import get_session_manager, require_session

from .apps import json_of
from .conftest import DHAN, KITE, Visitor
from .outages import assert_503 as _assert_503
from .servers import SECRET

if TYPE_CHECKING:
    import redis

pytestmark = pytest.mark.redis

IDLE, ABSOLUTE = 600, 3600


def _config(url: str, **extra: object) -> dict[str, object]:
    return {
        "TESTING": True,
        "SECRET_KEY": SECRET,
        "SESSION_STORE_URL": url,
        "SESSION_TIMEOUT": IDLE,
        "SESSION_ABSOLUTE_TIMEOUT": ABSOLUTE,
        **extra,
    }


@pytest.fixture
def make_app(clock: ManualClock, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build apps with the manual clock; their stores are closed at teardown."""
    made: list[Flask] = []

    def build(url: str, **extra: object) -> Flask:
        app = create_app(_config(url, **extra), clock=clock, instance_path=str(tmp_path / "i"))
        made.append(app)
        return app

    yield build
    for app in made:
        _store(app).close()


@pytest.fixture
def redis_app(redis_url: str, make_app: Callable[..., Flask]) -> Flask:
    """The dashboard on the private Redis, with the manual clock."""
    return make_app(redis_url)


@pytest.fixture
def rv(redis_app: Flask) -> Visitor:
    """A connected visitor of ``redis_app``."""
    visitor = Visitor(redis_app.test_client())
    visitor.connect("dhan", DHAN)  # a direct sign-in: one request, as the counts below assume
    return visitor


def _store(app: Flask) -> RedisSessionStore:
    store = app.extensions["session_manager"].store
    assert isinstance(store, RedisSessionStore)
    return store


# -- layout and expiry ------------------------------------------------------------------


def test_one_hash_per_session_with_a_field_per_data_key(
    rv: Visitor, redis_server: RedisServer
) -> None:
    rv.client.post("/api/watchlist", json={"symbol": "TCS"}, headers=rv.headers())
    r = redis_server.client()
    index = "session:account:{dhan:" + DHAN["client_id"] + "}"
    session_key = "session:{" + rv.info["session_id"] + "}"
    # One hash for the session, one sorted set indexing the account's sessions, and
    # the live index the /metrics gauge counts.
    assert sorted(r.keys("*")) == sorted([index, session_key, "session:index:live"])
    assert r.zrange(index, 0, -1) == [rv.info["session_id"]]
    keys = [session_key]
    fields = r.hgetall(keys[0])
    assert {"c", "l", "a", "e", "s", "u", "n", "v", "p"} <= set(fields)
    assert fields["n"] == f"dhan:{DHAN['client_id']}"
    assert fields["d:broker"] == '"dhan"'
    assert fields["d:watchlist"] == '["TCS"]'
    # The Redis expiry follows the idle timeout.
    assert IDLE * 1000 - 5000 < r.pttl(keys[0]) <= IDLE * 1000


def test_prefix_setting_namespaces_keys(
    redis_url: str, redis_server: RedisServer, make_app: Callable[..., Flask]
) -> None:
    app = make_app(redis_url, SESSION_REDIS_PREFIX="dash:")
    Visitor(app.test_client()).connect()
    keys = redis_server.client().keys("*")
    assert len(keys) == 3 and all(isinstance(k, str) and k.startswith("dash:") for k in keys)


def test_idle_session_disappears_from_redis_by_itself(redis_url: str, tmp_path: Path) -> None:
    """Redis's own expiry removes an idle session, with no app server involved."""
    store = RedisSessionStore.from_url(redis_url, instance_path=str(tmp_path))
    now = time.time()
    store.create(SessionRecord("idle", now, now, now + 60, now + 0.3, "s", True, {}))
    try:
        exists = store._connections.command
        assert exists("EXISTS", "session:{idle}") == 1
        time.sleep(0.6)
        assert exists("EXISTS", "session:{idle}") == 0
    finally:
        store.close()


def test_scripts_come_back_after_script_flush(
    rv: Visitor, redis_server: RedisServer, clock: ManualClock
) -> None:
    """A server that lost its scripts (restart, SCRIPT FLUSH) gets them again on first use."""
    admin = redis_server.client()
    for request in (
        lambda: rv.client.get("/api/watchlist"),  # read script (activity due)
        lambda: rv.client.post("/api/watchlist", json={"symbol": "TCS"}, headers=rv.headers()),
        rv.extend,  # update script
        rv.logout,
    ):
        admin.script_flush()
        clock.advance(5)
        assert request().status_code == 200
    admin.script_flush()
    assert Visitor(rv.client).connect("dhan", DHAN).status_code == 200  # create script


def test_extension_moves_the_redis_expiry(
    rv: Visitor, redis_server: RedisServer, clock: ManualClock
) -> None:
    r = redis_server.client()
    key = f"session:{{{rv.info['session_id']}}}"
    r.pexpire(key, 100_000)  # as if time had passed
    clock.advance(300)
    assert rv.extend().status_code == 200
    assert r.pttl(key) > 500_000


def test_expiry_never_passes_the_absolute_lifetime(
    rv: Visitor, redis_server: RedisServer, clock: ManualClock
) -> None:
    key = f"session:{{{rv.info['session_id']}}}"
    for _ in range(6):
        clock.advance(550)
        assert rv.extend().status_code == 200
    clock.advance(550)  # 3850 s after creation: past the absolute lifetime
    assert rv.session_info().json["error"] == "session_expired"
    assert redis_server.client().exists(key) == 0


# -- settings -----------------------------------------------------------------------------


def test_redis_settings_from_environment() -> None:
    config = config_from_env(
        {
            "SESSION_REDIS_PREFIX": "app1:",
            "SESSION_REDIS_POOL_SIZE": "4",
            "SESSION_REDIS_SOCKET_TIMEOUT": "0.5",
            "SESSION_REDIS_CONNECT_TIMEOUT": "0.25",
            "SESSION_REDIS_MIN_REPLICAS": "1",
        }
    )
    settings = RedisSettings.from_config(config)
    assert settings == RedisSettings("app1:", 4, 0.5, 0.25, min_replicas=1)
    assert RedisSettings.from_config({}) == RedisSettings("session:", 10, 1.0, 1.0)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SESSION_REDIS_POOL_SIZE", "0"),
        ("SESSION_REDIS_POOL_SIZE", "many"),
        ("SESSION_REDIS_SOCKET_TIMEOUT", "-1"),
        ("SESSION_REDIS_CONNECT_TIMEOUT", "soon"),
        ("SESSION_REDIS_MIN_REPLICAS", "-1"),
        ("SESSION_REDIS_MIN_REPLICAS", "one"),
    ],
)
def test_bad_redis_setting_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        config_from_env({name: value})


def test_indexed_create_comes_back_after_script_flush(
    redis_url: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    """A session with an account is made in one pipelined batch; NOSCRIPT there too."""
    store = RedisSessionStore.from_url(redis_url, instance_path=str(tmp_path))
    redis_server.client().script_flush()
    now = time.time()
    record = SessionRecord("acc", now, now, now + 60, now + 30, "s", True, {}, account="kite:A1")
    try:
        store.create(record)
        assert [r.key for r in store.list_sessions(now, account="kite:A1")] == ["acc"]
    finally:
        store.close()


def test_empty_prefix_is_refused(redis_url: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SESSION_REDIS_PREFIX"):
        create_app(_config(redis_url, SESSION_REDIS_PREFIX=""), instance_path=str(tmp_path))


def test_settings_reach_the_connection_pool(redis_url: str, tmp_path: Path) -> None:
    store = open_store(
        redis_url, instance_path=str(tmp_path), redis=RedisSettings("p:", 3, 0.75, 0.5)
    )
    assert isinstance(store, RedisSessionStore)
    connections = store._connections
    assert isinstance(connections, RedisConnections)
    assert connections.size == 3
    pool = connections.factory
    assert pool.connection_kwargs["socket_timeout"] == 0.75
    assert pool.connection_kwargs["socket_connect_timeout"] == 0.5
    store.close()


def test_unix_socket_url_selects_the_redis_store(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "sock", unix_socket=True)
    server.start()
    try:
        store = open_store(f"unix://{server.unix_socket}?db=2", instance_path=str(tmp_path))
        assert isinstance(store, RedisSessionStore)
        store.create(SessionRecord("viasocket", 1.0, 1.0, 9e9, 9e9, "s", True, {"a": "1"}))
        got = store.get("viasocket", 2.0)
        assert got is not None and got.data == {"a": "1"}
        store.close()
        assert server.client().exists("session:viasocket") == 0  # db 0 untouched
    finally:
        server.stop()


def test_unreachable_redis_at_start_up_is_not_fatal(
    make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    """Redis may come up after the app: requests answer 503 meanwhile, one warning."""
    caplog.set_level(logging.INFO, logger="flask_session_guard")
    app = make_app(f"redis://127.0.0.1:{_closed_port()}/0")
    visitor = Visitor(app.test_client())
    visitor.fetch_token()  # a pre-login token needs no store
    answer = visitor.client.post(
        "/api/broker/connect",
        json={"broker": "kite", "credentials": KITE},
        headers=visitor.headers(),
    )
    assert answer.status_code == 503
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "ConnectionError" in warnings[0].getMessage()


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_missing_driver_is_one_line_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # import redis -> ImportError
    with pytest.raises(ConfigError) as caught:
        create_app(_config("redis://127.0.0.1:1/0"), instance_path=str(tmp_path))
    message = str(caught.value)
    assert "\n" not in message
    assert message == (
        "SESSION_STORE_URL asks for Redis but redis-py is not installed:"
        " pip install 'flask-session-guard[redis]'"
    )


def test_malformed_redis_url_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SESSION_STORE_URL cannot be used"):
        create_app(_config("redis://127.0.0.1:notaport/0"), instance_path=str(tmp_path))


def test_rediss_url_selects_tls(tmp_path: Path) -> None:
    import redis

    store = open_store("rediss://127.0.0.1:1/0", instance_path=str(tmp_path))
    assert isinstance(store, RedisSessionStore)
    assert isinstance(store._connections, RedisConnections)
    assert issubclass(store._connections.factory.connection_class, redis.SSLConnection)
    store.close()


def test_missing_driver_stops_the_server_command(tmp_path: Path) -> None:
    fake = tmp_path / "nodriver" / "redis"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('redis-py is not installed here')\n")
    done = subprocess.run(
        [sys.executable, "-m", "indian_dashboard", "--port", "0"],
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(tmp_path / "nodriver"),
            "FLASK_SECRET_KEY": SECRET,
            "SESSION_STORE_URL": "redis://127.0.0.1:1/0",
        },
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "pip install 'flask-session-guard[redis]'" in lines[0]


# -- round trips per request ------------------------------------------------------------------


def _round_trips(commands: list[Command]) -> list[str]:
    return [c.name for c in commands if not c.from_script]


def _writes(commands: list[Command]) -> list[str]:
    return [c.name for c in commands if c.name in {"hset", "hdel", "pexpire", "del", "expire"}]


def test_read_is_one_command_and_writes_nothing(
    rv: Visitor, redis_server: RedisServer, clock: ManualClock
) -> None:
    clock.advance(0.5)  # activity was recorded at connect: not due again yet
    with recorded_commands(redis_server) as commands:
        assert rv.client.get("/api/watchlist").status_code == 200
    assert _round_trips(commands) == ["evalsha"]
    assert _writes(commands) == []
    # This worker has now seen the activity stamp: until the interval has passed,
    # a read is a plain HGETALL, without running the script.
    clock.advance(0.2)
    with recorded_commands(redis_server) as commands:
        assert rv.client.get("/api/watchlist").status_code == 200
    assert [c.name for c in commands] == ["hgetall"]


def test_read_with_due_activity_is_one_round_trip(
    rv: Visitor, redis_server: RedisServer, clock: ManualClock
) -> None:
    clock.advance(30)
    with recorded_commands(redis_server) as commands:
        assert rv.client.get("/api/watchlist").status_code == 200
    assert _round_trips(commands) == ["evalsha"]
    assert sorted(_writes(commands)) == ["hset", "pexpire"]


def test_passive_poll_is_one_command_and_writes_nothing(
    rv: Visitor, redis_server: RedisServer, clock: ManualClock
) -> None:
    clock.advance(30)
    with recorded_commands(redis_server) as commands:
        assert rv.session_info().status_code == 200
    assert _round_trips(commands) == ["hgetall"]
    assert _writes(commands) == []


def test_write_is_one_round_trip_after_the_read(
    rv: Visitor, redis_server: RedisServer, clock: ManualClock
) -> None:
    clock.advance(30)
    with recorded_commands(redis_server) as commands:
        assert rv.extend().status_code == 200
    # One read, one write script (activity stamp and expiry together).
    assert _round_trips(commands) == ["hgetall", "evalsha"]


@pytest.mark.parametrize(
    ("idle", "trips"),
    [
        # Read the session; read the key then check-and-set it. No activity due yet.
        pytest.param(0.5, ["hgetall", "hmget", "evalsha"], id="two-after-the-read"),
        # The same, and one write of the activity that is due.
        pytest.param(30, ["hgetall", "hmget", "evalsha", "evalsha"], id="due-activity-adds-one"),
    ],
)
def test_atomic_update_round_trips(
    rv: Visitor, redis_server: RedisServer, clock: ManualClock, idle: float, trips: list[str]
) -> None:
    clock.advance(idle)
    with recorded_commands(redis_server) as commands:
        response = rv.client.post("/api/watchlist", json={"symbol": "INFY"}, headers=rv.headers())
        assert response.status_code == 200
    assert _round_trips(commands) == trips


def test_logout_is_a_read_and_one_delete(rv: Visitor, redis_server: RedisServer) -> None:
    with recorded_commands(redis_server) as commands:
        assert rv.logout().status_code == 200
    # The delete and the live index's ZREM travel in one pipelined round trip.
    assert _round_trips(commands) == ["hgetall", "del", "zrem"]


def test_reads_write_nothing_by_commandstats(
    rv: Visitor, redis_server: RedisServer, clock: ManualClock
) -> None:
    """The same check by INFO commandstats: twenty reads, not one write command.

    The first read runs the read script (activity could be due); the others come
    within the activity interval of a stamp this process has read, so they are
    plain HGETALLs.
    """
    r = redis_server.client()
    r.config_resetstat()
    for _ in range(10):
        clock.advance(0.05)  # activity stays coalesced (interval 1 s)
        assert rv.client.get("/api/watchlist").status_code == 200
        assert rv.session_info().status_code == 200
    stats = r.info("commandstats")
    calls = {name.removeprefix("cmdstat_"): v["calls"] for name, v in stats.items()}
    assert calls.get("evalsha") == 1 and calls.get("hgetall", 0) == 20  # 1 in the script
    for write in ("hset", "hdel", "pexpire", "del", "eval"):
        assert write not in calls


def _float_field(client: redis.Redis, key: str, field: str) -> float:
    value = client.hget(key, field)
    assert value is not None, (key, field)
    return float(value)


def test_read_after_the_interval_runs_the_script_and_records_activity(
    rv: Visitor, redis_server: RedisServer, clock: ManualClock
) -> None:
    """A stamp remembered from an earlier read skips the script only within the interval."""
    key = f"session:{{{rv.info['session_id']}}}"
    r = redis_server.client()
    assert rv.client.get("/api/watchlist").status_code == 200
    with recorded_commands(redis_server) as commands:
        clock.advance(0.5)
        assert rv.client.get("/api/watchlist").status_code == 200
    assert _round_trips(commands) == ["hgetall"]
    stamp = _float_field(r, key, "l")
    with recorded_commands(redis_server) as commands:
        clock.advance(0.6)  # 1.1 s since the stamp read first: due
        assert rv.client.get("/api/watchlist").status_code == 200
    assert _round_trips(commands) == ["evalsha"]
    assert _float_field(r, key, "l") == stamp + 1.1


def test_request_without_session_costs_nothing(redis_app: Flask, redis_server: RedisServer) -> None:
    with recorded_commands(redis_server) as commands:
        assert redis_app.test_client().get("/healthz").status_code == 200
        assert redis_app.test_client().get("/api/watchlist").status_code == 401
    assert commands == []


# -- outages: every path answers 503, never 500 -----------------------------------------------


@pytest.fixture
def outage_app(own_redis: RedisServer, make_app: Callable[..., Flask]) -> Flask:
    """The dashboard on a Redis of its own, with views that stop it mid-request."""
    app = make_app(
        own_redis.url, SESSION_REDIS_SOCKET_TIMEOUT=0.5, SESSION_REDIS_CONNECT_TIMEOUT=0.5
    )

    @app.post("/test/stop-then-write")
    @require_session
    def stop_then_write() -> dict[str, str]:
        own_redis.stop()
        get_session_manager().store_user_data("note", "written at save")
        return {"status": "ok"}

    @app.post("/test/stop-then-update")
    @require_session
    def stop_then_update() -> dict[str, str]:
        own_redis.stop()
        get_session_manager().update_user_data("count", lambda n: (n or 0) + 1)
        return {"status": "ok"}

    @app.post("/test/stop-then-clear")
    @require_session
    def stop_then_clear() -> dict[str, str]:
        own_redis.stop()
        get_session_manager().clear_session()
        return {"status": "ok"}

    return app


@pytest.mark.parametrize(
    "path", ["/test/stop-then-write", "/test/stop-then-update", "/test/stop-then-clear"]
)
def test_store_lost_mid_request_answers_503(
    outage_app: Flask, own_redis: RedisServer, path: str
) -> None:
    visitor = Visitor(outage_app.test_client())
    visitor.connect()
    _assert_503(visitor.client.post(path, headers=visitor.headers()))
    own_redis.start()
    # Nothing of the failed request was kept; the session is intact.
    answer = visitor.session_info()
    assert answer.status_code == 200
    assert visitor.client.get("/api/broker/status").status_code == 200
    assert "note" not in own_redis.client().hgetall(f"session:{{{visitor.info['session_id']}}}")


@pytest.mark.parametrize(
    ("method", "path", "with_token"),
    [
        ("GET", "/api/session/info", False),  # read in the view
        ("GET", "/api/watchlist", False),  # read through require_session
        ("GET", "/api/session/csrf-token", False),
        ("POST", "/api/session/extend", True),
        ("POST", "/api/watchlist", True),
        ("POST", "/api/session/clear", True),
        ("GET", "/", False),
    ],
)
def test_requests_needing_a_session_answer_503_while_redis_is_down(
    outage_app: Flask, own_redis: RedisServer, method: str, path: str, with_token: bool
) -> None:
    visitor = Visitor(outage_app.test_client())
    visitor.connect()
    own_redis.stop()
    response = visitor.client.open(
        path,
        method=method,
        json={"symbol": "TCS"} if method == "POST" else None,
        headers=visitor.headers() if with_token else {},
    )
    _assert_503(response, page=path == "/")
    assert outage_app.test_client().get("/healthz").status_code == 200


def test_new_visitor_gets_503_not_a_session_while_redis_is_down(
    outage_app: Flask, own_redis: RedisServer
) -> None:
    own_redis.stop()
    visitor = Visitor(outage_app.test_client())
    visitor.fetch_token()  # a pre-login token needs no store
    pre_login = visitor.cookie()
    _assert_503(
        visitor.client.post(
            "/api/broker/connect",
            json={"broker": "kite", "credentials": KITE},
            headers=visitor.headers(),
        )
    )
    assert visitor.cookie() == pre_login  # no session cookie was set


@pytest.fixture
def instant_recovery(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outages end at the first success (no quiet interval) for stores built after it."""
    monkeypatch.setattr("flask_session_guard.stores.base.OUTAGE_QUIET", 0.0)


def test_outage_logs_one_warning_and_one_recovery_line(
    instant_recovery: None,
    outage_app: Flask,
    own_redis: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    visitor = Visitor(outage_app.test_client())
    visitor.connect()
    caplog.set_level(logging.DEBUG, logger="flask_session_guard")
    caplog.clear()
    own_redis.stop()
    for _ in range(5):
        assert visitor.session_info().status_code == 503
    own_redis.start()
    for _ in range(5):
        assert visitor.session_info().status_code == 200
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage().split(":")[0] for r in warnings] == ["session store unavailable"]
    recoveries = [r for r in caplog.records if "available again" in r.getMessage()]
    assert len(recoveries) == 1 and recoveries[0].levelno == logging.INFO
    # Log lines never carry a key or an id.
    text = caplog.text
    assert visitor.info["session_id"] not in text
    assert (visitor.cookie() or "???") not in text


def test_paused_redis_answers_503_within_the_socket_timeout(
    outage_app: Flask, own_redis: RedisServer
) -> None:
    visitor = Visitor(outage_app.test_client())
    visitor.connect()
    visitor.client.post("/api/watchlist", json={"symbol": "SBIN"}, headers=visitor.headers())
    own_redis.pause()
    try:
        started = time.monotonic()
        _assert_503(visitor.client.get("/api/watchlist"))
        assert time.monotonic() - started < 0.5 + 1.0
    finally:
        own_redis.resume()
    answer = visitor.client.get("/api/watchlist")
    assert answer.status_code == 200 and json_of(answer)["watchlist"] == ["SBIN"]


def test_store_error_messages_name_no_key(own_redis: RedisServer, tmp_path: Path) -> None:
    store = RedisSessionStore.from_url(own_redis.url, instance_path=str(tmp_path))
    own_redis.stop()
    with pytest.raises(StoreUnavailable) as caught:
        store.get("secret-looking-key", 1.0)
    store.close()
    assert "secret-looking-key" not in str(caught.value)
    assert str(caught.value).startswith("redis ConnectionError")


def test_full_redis_refusing_writes_answers_503(outage_app: Flask, own_redis: RedisServer) -> None:
    """With noeviction, a Redis out of memory refuses writes: 503, never a 500 or a loss."""
    visitor = Visitor(outage_app.test_client())
    visitor.connect()
    admin = own_redis.client()
    admin.config_set("maxmemory", "1")
    try:
        _assert_503(
            visitor.client.post("/api/watchlist", json={"symbol": "TCS"}, headers=visitor.headers())
        )
        _assert_503(visitor.extend())
    finally:
        admin.config_set("maxmemory", "0")
    answer = visitor.client.post(
        "/api/watchlist", json={"symbol": "TCS"}, headers=visitor.headers()
    )
    assert answer.status_code == 200 and json_of(answer)["watchlist"] == ["TCS"]
