"""The PostgreSQL store itself: layout, statements per operation, settings, schema,
purge, locks and timeouts, pools across fork.

Every test runs against the private server the fixtures start (never the machine's
own PostgreSQL); the store contract itself is in ``test_stores.py``.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_session_guard import ConfigError, PostgresSessionStore, SessionManager
from flask_session_guard.settings import PostgresSettings
from flask_session_guard.stores import SessionRecord, StoreUnavailable, Touch, open_store
from flask_session_guard.stores.postgres import PURGE_BATCH

from .postgres_server import PostgresServer
from .test_stores import NOW, make_record

pytestmark = pytest.mark.postgres


def settings(**overrides: Any) -> PostgresSettings:
    config = {f"SESSION_PG_{k.upper()}": v for k, v in overrides.items()}
    return PostgresSettings.from_config(config)


@pytest.fixture
def make_store(postgres_url: str) -> Iterator[Any]:
    """``make_store(url=..., **settings)``: stores on the private server, closed afterwards."""
    made: list[PostgresSessionStore] = []

    def build(url: str = postgres_url, **overrides: Any) -> PostgresSessionStore:
        store = PostgresSessionStore.from_url(url, instance_path="", postgres=settings(**overrides))
        made.append(store)
        return store

    yield build
    for store in made:
        store.close()


def scalar(server: PostgresServer, sql: str, *args: Any) -> Any:
    with server.connect() as conn:
        row = conn.execute(sql, args).fetchone()
        return None if row is None else row[0]


# -- layout and settings -----------------------------------------------------------------


def test_one_row_per_session_and_one_per_data_key(
    make_store: Any, postgres_server: PostgresServer
) -> None:
    store = make_store()
    record = make_record()
    record.account = "kite:AB1234"
    store.create(record)
    with postgres_server.connect() as conn:
        rows = conn.execute("SELECT id, account, revoked FROM public.guard_sessions").fetchall()
        data = conn.execute(
            "SELECT session_id, name, value FROM public.guard_session_data ORDER BY name"
        ).fetchall()
    assert rows == [("k1", "kite:AB1234", False)]
    assert data == [("k1", "broker", '"kite"'), ("k1", "n", "1")]
    store.delete("k1")
    assert scalar(postgres_server, "SELECT count(*) FROM public.guard_session_data") == 0


def test_account_and_expiry_are_indexed(make_store: Any, postgres_server: PostgresServer) -> None:
    make_store().create(make_record())
    with postgres_server.connect() as conn:
        indexes = dict(
            conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'guard_sessions'"
            ).fetchall()
        )
    assert (
        "(account, created_at DESC) WHERE (account IS NOT NULL)"
        in (indexes["guard_sessions_by_account"])
    )
    assert "(expires_at) INCLUDE (revoked)" in indexes["guard_sessions_by_expiry"]


def test_schema_and_table_prefix_settings(make_store: Any, postgres_server: PostgresServer) -> None:
    store = make_store(schema="app_sessions", table_prefix="dash_")
    store.create(make_record())
    assert scalar(postgres_server, "SELECT count(*) FROM app_sessions.dash_sessions") == 1
    assert scalar(postgres_server, "SELECT to_regclass('public.dash_sessions')") is None
    # Another prefix in the same database is another set of sessions.
    other = make_store(schema="app_sessions", table_prefix="")
    assert other.get("k1", NOW) is None
    assert scalar(postgres_server, "SELECT count(*) FROM app_sessions.sessions") == 0


def test_unlogged_setting_makes_unlogged_tables(
    make_store: Any, postgres_server: PostgresServer
) -> None:
    make_store(table_prefix="fast_", unlogged=True).create(make_record())
    kinds = {
        name: kind
        for name, kind in _persistence(postgres_server, "fast_sessions", "fast_session_data")
    }
    assert kinds == {"fast_sessions": "u", "fast_session_data": "u"}


def _persistence(server: PostgresServer, *tables: str) -> list[tuple[str, str]]:
    with server.connect() as conn:
        return [
            (str(name), str(kind))
            for name, kind in conn.execute(
                "SELECT relname, relpersistence FROM pg_class WHERE relname = ANY(%s)",
                (list(tables),),
            ).fetchall()
        ]


def test_init_schema_creates_then_switches_persistence(
    make_store: Any, postgres_server: PostgresServer
) -> None:
    assert make_store(table_prefix="p_").init_schema() == (
        "public.p_sessions and public.p_session_data created (logged)"
    )
    assert make_store(table_prefix="p_").init_schema() == (
        "public.p_sessions and public.p_session_data already there (logged)"
    )
    store = make_store(table_prefix="p_", unlogged=True)
    assert store.init_schema() == "made public.p_sessions and public.p_session_data unlogged"
    assert dict(_persistence(postgres_server, "p_sessions", "p_session_data")) == {
        "p_sessions": "u",
        "p_session_data": "u",
    }
    store.create(make_record())
    assert make_store(table_prefix="p_").init_schema().startswith("made ")
    assert make_store(table_prefix="p_").get("k1", NOW) is not None  # rows kept


def test_bad_settings_name_the_key() -> None:
    for key, value, words in [
        ("SESSION_PG_SCHEMA", "Bad-Name", "lower-case identifier"),
        ("SESSION_PG_SCHEMA", "", "lower-case identifier"),
        ("SESSION_PG_TABLE_PREFIX", "x;drop", "lower-case letters"),
        ("SESSION_PG_TABLE_PREFIX", "p" * 60, "at most"),
        ("SESSION_PG_POOL_SIZE", 0, "at least 1"),
        ("SESSION_PG_TIMEOUT", -1, "greater than zero"),
        ("SESSION_PG_UNLOGGED", "yes", "true or false"),
    ]:
        with pytest.raises(ConfigError, match=words) as caught:
            PostgresSettings.from_config({key: value})
        assert str(caught.value).startswith(key)


def test_both_schemes_select_the_store(postgres_server: PostgresServer) -> None:
    for scheme in ("postgresql", "postgres"):
        url = postgres_server.url().replace("postgresql://", f"{scheme}://")
        store = open_store(url, instance_path="")
        assert isinstance(store, PostgresSessionStore)
        store.close()


def test_malformed_url_or_unknown_parameter_stops_start_up() -> None:
    for url in (
        "postgresql://h:notaport/db",
        "postgresql://h/db?nonsense=1",
        "postgresql://h/db?sslmode=bogus",
        "postgresql://h/db?connect_timeout=soon",
    ):
        with pytest.raises(ConfigError, match="SESSION_STORE_URL cannot be used") as caught:
            open_store(url.replace("h/", "user:hunter2@h/"), instance_path="")
        assert "hunter2" not in str(caught.value)


def test_missing_driver_is_one_line_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg -> ImportError
    with pytest.raises(ConfigError) as caught:
        open_store("postgresql://127.0.0.1:1/db", instance_path="")
    assert str(caught.value) == (
        "SESSION_STORE_URL asks for PostgreSQL but psycopg is not installed:"
        " pip install 'flask-session-guard[postgres]'"
    )


def test_url_parameters_reach_libpq(make_store: Any, postgres_server: PostgresServer) -> None:
    """Query parameters are libpq's own: application_name shows on the server, and
    sslmode=require is refused by this server, which has no TLS."""
    name = f"named-{uuid.uuid4().hex[:8]}"
    make_store(postgres_server.url(application_name=name, sslmode="disable")).create(make_record())
    assert (
        scalar(
            postgres_server,
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            name,
        )
        >= 1
    )
    with pytest.raises(StoreUnavailable, match=r"PoolTimeout.*server does not support SSL"):
        make_store(postgres_server.url(sslmode="require")).get("k1", NOW)


# -- one statement per operation ----------------------------------------------------------


@pytest.fixture
def logged(make_store: Any, postgres_server: PostgresServer) -> Any:
    """A store whose connections log every statement, and a way to read them."""
    name = f"rt{uuid.uuid4().hex[:8]}"
    store = make_store(
        postgres_server.url(application_name=name, options="-c%20log_statement%3Dall")
    )
    store.create(make_record("other"))  # the first use checks the schema

    class Logged:
        def __init__(self) -> None:
            self.store = store
            self.seen = 0

        def statements(self) -> list[str]:
            """Statements sent since the last call."""
            every = postgres_server.statements(name)
            new, self.seen = every[self.seen :], len(every)
            return new

    made = Logged()
    made.statements()
    return made


def test_every_operation_but_update_value_is_one_statement(logged: Any) -> None:
    store: PostgresSessionStore = logged.store
    store.create(make_record())
    assert len(logged.statements()) == 1
    assert store.get("k1", NOW) is not None
    assert len(logged.statements()) == 1
    from flask_session_guard.stores import Refresh

    got = store.get("k1", NOW + 50, Refresh(1, 100))  # activity due: written in the read
    assert got is not None and got.last_activity == NOW + 50
    assert len(logged.statements()) == 1
    assert store.update("k1", NOW + 50, {"a": "1", "n": None})
    assert len(logged.statements()) == 1
    assert store.update("k1", NOW + 60, {"a": "2"}, Touch(NOW + 60, NOW + 160))
    assert len(logged.statements()) == 1
    assert store.revoke("other", NOW)
    store.delete("other")
    assert len(logged.statements()) == 2


def test_update_value_is_one_transaction_of_five_statements(logged: Any) -> None:
    """BEGIN, lock, read (one round trip, pipelined), write, COMMIT (another)."""
    store: PostgresSessionStore = logged.store
    store.create(make_record())
    logged.statements()
    store.update_value("k1", "n", NOW, lambda old: str(int(old or "0") + 1))
    sent = [s.split()[0].upper() for s in logged.statements()]
    assert sent == ["BEGIN", "SELECT", "SELECT", "INSERT", "COMMIT"]


# -- locks, timeouts, no resurrection -----------------------------------------------------


def test_statement_timeout_is_the_store_timeout(
    make_store: Any, postgres_server: PostgresServer
) -> None:
    """A write stuck behind a lock is cancelled by the server after SESSION_PG_TIMEOUT."""
    store = make_store(timeout=0.3)
    store.create(make_record())
    with postgres_server.connect() as blocker, blocker.transaction():
        blocker.execute("SELECT 1 FROM public.guard_sessions WHERE id = 'k1' FOR UPDATE")
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="QueryCanceled"):
            store.update("k1", NOW, {"n": "2"}, Touch(NOW, NOW + 100))
        waited = time.monotonic() - started
    assert 0.25 < waited < 2
    got = store.get("k1", NOW)
    assert got is not None and got.data["n"] == "1"


def test_delete_waits_for_a_write_in_flight_then_removes_it(
    make_store: Any, postgres_server: PostgresServer
) -> None:
    """A logout that comes while a write holds the session row waits, then deletes the
    session with what was written: nothing is left behind."""
    store = make_store()
    store.create(make_record())
    with postgres_server.connect() as writer:
        with writer.transaction():
            writer.execute("SELECT id FROM public.guard_sessions WHERE id = 'k1' FOR SHARE")
            writer.execute("INSERT INTO public.guard_session_data VALUES ('k1', 'late', '1')")
            deleting = threading.Thread(target=store.delete, args=("k1",))
            deleting.start()
            deleting.join(0.3)
            assert deleting.is_alive()  # waiting for the writer's lock
        deleting.join(5)
    assert store.get("k1", NOW) is None
    assert scalar(postgres_server, "SELECT count(*) FROM public.guard_session_data") == 0


@pytest.mark.parametrize(
    ("ending", "left"),
    [
        ("DELETE FROM public.guard_sessions WHERE id = 'k1'", 0),
        ("UPDATE public.guard_sessions SET revoked = true WHERE id = 'k1'", 1),
    ],
    ids=["logout", "revocation"],
)
def test_write_racing_a_logout_or_revocation_writes_nothing(
    make_store: Any, postgres_server: PostgresServer, ending: str, left: int
) -> None:
    """A write that arrives while a logout (or revocation) is committing waits for it,
    then finds the session ended: False, nothing written, no error."""
    store = make_store()
    store.create(make_record())
    outcome: list[bool] = []
    with postgres_server.connect() as other:
        with other.transaction():
            other.execute(ending)
            writing = threading.Thread(
                target=lambda: outcome.append(store.update("k1", NOW, {"late": "1"}))
            )
            writing.start()
            writing.join(0.3)
            assert writing.is_alive()  # waiting for the row
        writing.join(5)
    assert outcome == [False]
    assert (
        scalar(
            postgres_server, "SELECT count(*) FROM public.guard_session_data WHERE name = 'late'"
        )
        == 0
    )
    assert scalar(postgres_server, "SELECT count(*) FROM public.guard_sessions") == left


# -- purge and counts ---------------------------------------------------------------------


def _fill(server: PostgresServer, store: PostgresSessionStore, count: int, expires: float) -> None:
    store.create(make_record("seed"))  # makes the tables
    with server.connect() as conn:
        conn.execute(
            "INSERT INTO public.guard_sessions (id, created_at, last_activity, absolute_at,"
            " expires_at, csrf_secret, authenticated)"
            " SELECT 'x' || i, %s, %s, %s, %s, 's', true FROM generate_series(1, %s) i",
            (NOW, NOW, NOW + 1000, expires, count),
        )
        conn.execute(
            "INSERT INTO public.guard_session_data SELECT 'x' || i, 'n', '1'"
            " FROM generate_series(1, %s) i",
            (count,),
        )


def test_purge_removes_expired_rows_in_batches(
    make_store: Any, postgres_server: PostgresServer
) -> None:
    store = make_store()
    _fill(postgres_server, store, 2 * PURGE_BATCH + 5, NOW + 10)
    assert store.count() == 2 * PURGE_BATCH + 6
    assert store.count_live(NOW + 50) == 1
    assert store.purge_expired(NOW + 50) == 2 * PURGE_BATCH + 5
    assert store.count() == 1
    assert scalar(postgres_server, "SELECT count(*) FROM public.guard_session_data") == 2


def test_purge_skips_a_row_a_request_holds(
    make_store: Any, postgres_server: PostgresServer
) -> None:
    store = make_store()
    _fill(postgres_server, store, 10, NOW + 10)
    with postgres_server.connect() as holder, holder.transaction():
        holder.execute("SELECT 1 FROM public.guard_sessions WHERE id = 'x3' FOR SHARE")
        started = time.monotonic()
        assert store.purge_expired(NOW + 50) == 9
        assert time.monotonic() - started < 0.5  # never waited for the lock
    assert store.purge_expired(NOW + 50) == 1


def test_count_live_leaves_out_expired_and_revoked(make_store: Any) -> None:
    store = make_store()
    for key, idle in (("a", 10), ("b", 100), ("c", 100)):
        store.create(make_record(key, idle=idle))
    store.revoke("c", NOW)
    assert store.count_live(NOW + 50) == 1


# -- recovery and pools -------------------------------------------------------------------


def test_dropped_tables_answer_unavailable_once_then_are_made_again(
    make_store: Any, postgres_server: PostgresServer
) -> None:
    store = make_store()
    store.create(make_record())
    with postgres_server.connect() as conn:
        conn.execute("DROP TABLE public.guard_session_data, public.guard_sessions")
    with pytest.raises(StoreUnavailable, match="UndefinedTable"):
        store.get("k1", NOW)
    assert store.get("k1", NOW) is None
    store.create(make_record())
    assert store.get("k1", NOW) is not None


def test_pool_never_opens_more_than_its_size(
    make_store: Any, postgres_server: PostgresServer
) -> None:
    name = f"pool{uuid.uuid4().hex[:8]}"
    store = make_store(postgres_server.url(application_name=name), pool_size=2)
    store.create(make_record())
    seen: list[int] = []

    def work() -> None:
        for _ in range(20):
            store.update_value("k1", "n", NOW, lambda old: str(int(old or "0") + 1))

    runners = [threading.Thread(target=work) for _ in range(6)]
    for runner in runners:
        runner.start()
    while any(r.is_alive() for r in runners):
        seen.append(
            scalar(
                postgres_server,
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                name,
            )
        )
    for runner in runners:
        runner.join()
    got = store.get("k1", NOW)
    assert got is not None and got.data["n"] == "121"
    assert max(seen) <= 2


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_forked_child_uses_its_own_connections(
    make_store: Any, postgres_server: PostgresServer
) -> None:
    """A store used before gunicorn forks: the child opens its own pool and leaves the
    parent's connections alone (closing them would end the parent's sessions)."""
    store = make_store()
    store.create(make_record())
    with warnings.catch_warnings():
        # Python 3.12+ warns that forking a process with threads (the pool's) may
        # deadlock the child; that is what gunicorn does, and what this test checks.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: exit code 0 when it could read and write
        code = 1
        try:
            got = store.get("k1", NOW)
            store.update("k1", NOW, {"child": "1"})
            store.close()
            code = 0 if got is not None else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    got = store.get("k1", NOW)  # the parent's pooled connection still works
    assert got is not None and got.data["child"] == "1"


# -- the init-db command ------------------------------------------------------------------


def _app(url: str, tmp_path: Path, **config: Any) -> Flask:
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config.update(SECRET_KEY="x" * 32, SESSION_STORE_URL=url, **config)
    SessionManager(app)
    return app


def test_init_db_command_creates_the_tables(
    postgres_url: str, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    app = _app(postgres_url, tmp_path, SESSION_PG_TABLE_PREFIX="cli_")
    result = app.test_cli_runner().invoke(args=["sessions", "init-db"])
    assert result.exit_code == 0, result.output
    assert result.output == (
        "store: postgresql: public.cli_sessions and public.cli_session_data created (logged).\n"
    )
    assert scalar(postgres_server, "SELECT to_regclass('public.cli_sessions') IS NOT NULL")
    app.extensions["session_manager"].store.close()


def test_init_db_command_on_a_store_without_schema(tmp_path: Path) -> None:
    for url in ("memory://", "sqlite:///s.sqlite3"):
        app = _app(url, tmp_path)
        result = app.test_cli_runner().invoke(args=["sessions", "init-db"])
        assert result.exit_code == 0
        scheme = url.split(":")[0]
        assert result.output == (
            f"store: {scheme}: nothing to create (this store sets itself up when it opens).\n"
        )
        app.extensions["session_manager"].store.close()


def test_init_db_command_fails_in_one_line_when_unreachable(tmp_path: Path) -> None:
    from .processes import free_port

    app = _app(
        f"postgresql://postgres@127.0.0.1:{free_port()}/db", tmp_path, SESSION_PG_TIMEOUT=0.3
    )
    result = app.test_cli_runner().invoke(args=["sessions", "init-db"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: the session store is unavailable: postgres ")
    app.extensions["session_manager"].store.close()


def test_store_error_messages_name_no_key_nor_password(tmp_path: Path) -> None:
    from .processes import free_port

    store = open_store(
        f"postgresql://app:hunter2@127.0.0.1:{free_port()}/db",
        instance_path="",
        postgres=settings(timeout=0.3),
    )
    try:
        with pytest.raises(StoreUnavailable) as caught:
            store.get("secret-looking-key", NOW)
    finally:
        store.close()
    assert "secret-looking-key" not in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert str(caught.value).startswith("postgres PoolTimeout")
    assert "Connection refused" in str(caught.value)


def test_record_round_trips_every_field(make_store: Any) -> None:
    store = make_store()
    record = SessionRecord(
        key="full",
        created_at=NOW + 0.1,
        last_activity=NOW + 0.2,
        absolute_at=NOW + 900.3,
        expires_at=NOW + 100.4,
        csrf_secret="c" * 43,
        authenticated=False,
        data={"é": "ünïcode ✓", "empty": ""},
        account="dhan:X",
        device="Firefox on Linux",
        ip="::1",
        revoked=False,
    )
    store.create(record)
    assert store.get("full", NOW) == record


def test_user_without_create_privilege_gets_503_until_init_db_and_grants(
    make_store: Any, postgres_server: PostgresServer
) -> None:
    """The documented set-up for a least-privilege app user: 503 with the reason until
    an owner has run init-db and granted the four verbs."""
    role = f"app_{uuid.uuid4().hex[:8]}"
    with postgres_server.connect() as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
    app_url = postgres_server.url().replace("postgres@", f"{role}@")
    store = make_store(app_url, table_prefix="least_")
    with pytest.raises(StoreUnavailable, match="InsufficientPrivilege"):
        store.get("k1", NOW)
    make_store(table_prefix="least_").init_schema()
    with postgres_server.connect() as conn:
        conn.execute(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON public.least_sessions,"
            f" public.least_session_data, public.least_session_counts TO {role}"
        )
    store.create(make_record())
    assert store.update_value("k1", "n", NOW, lambda old: "2") == "2"
    assert store.count_live(NOW) == 1
    assert store.purge_expired(NOW + 500) == 1
    assert store.count_live(NOW + 500) == 0


def test_a_restart_between_requests_is_not_seen_by_a_read(own_postgres: PostgresServer) -> None:
    """The pooled connection the restart closed fails once; the read is tried again on
    a fresh one (it is safe to repeat) and answers, without a 503."""
    store = PostgresSessionStore.from_url(own_postgres.url(), instance_path="")
    try:
        store.create(make_record())
        own_postgres.stop()
        own_postgres.start()
        got = store.get("k1", NOW)
        assert got is not None and got.data["n"] == "1"
        assert store.update("k1", NOW, {"n": "2"})
    finally:
        store.close()


def test_live_count_reads_the_counters_not_the_table(
    make_store: Any, postgres_server: PostgresServer
) -> None:
    """count_live adds up the per-slot counters the triggers keep (no scan of the
    sessions): exact after bulk inserts, concurrent logins, purges and a TRUNCATE."""
    store = make_store()
    _fill(postgres_server, store, 3000, NOW + 10)  # 3000 expire at NOW + 10, "seed" later
    assert store.count_live(NOW) == 3001
    assert store.count_live(NOW + 50) == 1  # expired, not yet purged: subtracted

    def login(i: int) -> None:
        for j in range(25):
            store.create(make_record(f"t{i}-{j}"))

    runners = [threading.Thread(target=login, args=(i,)) for i in range(8)]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join()
    assert store.count_live(NOW) == 3201
    assert store.purge_expired(NOW + 50) == 3000
    assert store.count_live(NOW + 50) == 201
    with postgres_server.connect() as conn:
        slots = conn.execute("SELECT count(*), sum(unrevoked) FROM public.guard_session_counts")
        assert slots.fetchone() == (64, 201)
        conn.execute("UPDATE public.guard_session_counts SET unrevoked = unrevoked + 1000")
    assert store.count_live(NOW + 50) == 64201  # the counters, not a count of rows
    with postgres_server.connect() as conn:
        conn.execute("TRUNCATE public.guard_sessions CASCADE")
    assert store.count_live(NOW) == 0
    store.create(make_record())
    assert store.count_live(NOW) == 1


def test_counters_made_later_count_the_rows_already_there(
    make_store: Any, postgres_server: PostgresServer
) -> None:
    store = make_store()
    for key in ("a", "b", "c"):
        store.create(make_record(key))
    store.revoke("c", NOW)
    with postgres_server.connect() as conn:
        conn.execute("DROP TABLE public.guard_session_counts")
    fresh = make_store()
    assert fresh.count_live(NOW) == 2
