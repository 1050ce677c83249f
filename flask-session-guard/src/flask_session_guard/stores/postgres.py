"""``postgresql://`` (or ``postgres://``): sessions in a PostgreSQL database.

For deployments that already run PostgreSQL and no Redis. One row per session in
``PREFIXsessions`` and one row per user-data key in ``PREFIXsession_data`` (text
values, as in SQLite), so writes are per key; the data rows go with their session
(``ON DELETE CASCADE``). The account is an indexed column; expiry is indexed for
the purge and the live count.

Every operation is one statement, one round trip, except
:meth:`PostgresSessionStore.update_value` (a transaction: two round trips, the
statements pipelined). Every write checks in its own statement that the session
is alive, and holds the session row's lock while it writes (``FOR SHARE``, or the
``UPDATE`` of the activity stamp), so a logout or revocation that commits first
makes the write a no-op, and one that comes later waits for it and then removes
what it wrote: a deleted session is never written back.

Connections come from a bounded :class:`psycopg_pool.ConnectionPool` per process,
made on first use (so a pool is never shared through ``fork``); the server's
``statement_timeout`` is the store timeout, which is also the longest a request
waits for a pooled connection. The tables are created on first use, or ahead by
``flask sessions init-db``. psycopg is imported only when this store is used.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from ..settings import _PG_IDENTIFIER, ConfigError, PostgresSettings
from .base import (
    REVOKE_REASONS,
    Change,
    OutageLog,
    Refresh,
    SessionExists,
    SessionGone,
    SessionRecord,
    StoreGuard,
    Touch,
)

if TYPE_CHECKING:
    from psycopg import Connection
    from psycopg_pool import ConnectionPool

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Rows removed per statement by a purge: each batch is its own short transaction.
PURGE_BATCH = 1000
#: Every this many creations in one process, one purge batch runs on the side.
PURGE_EVERY = 1000

#: The live count is kept in this many counter rows, a session's by a hash of its
#: key, so that concurrent logins rarely wait for the same row.
COUNT_SLOTS = 64

#: Pools a forked child inherited from its parent. Never closed nor freed in the
#: child: closing (or finalising) a libpq connection sends "terminate" on the
#: socket the parent still uses.
_INHERITED: list[object] = []

_SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")

_COLUMNS = (
    "id, created_at, last_activity, absolute_at, expires_at, csrf_secret, authenticated,"
    " account, device, ip, revoked, revoked_reason"
)


def _import_driver() -> tuple[ModuleType, ModuleType]:
    """psycopg and psycopg_pool, or one line naming the extra that installs them."""
    try:
        return importlib.import_module("psycopg"), importlib.import_module("psycopg_pool")
    except ImportError:
        raise ConfigError(
            "SESSION_STORE_URL asks for PostgreSQL but psycopg is not installed:"
            " pip install 'flask-session-guard[postgres]'"
        ) from None


class _Statements:
    """The SQL of one schema and table prefix, composed once."""

    def __init__(self, schema: str, prefix: str, *, unlogged: bool) -> None:
        for name in (schema, prefix + "sessions"):
            if not _PG_IDENTIFIER.fullmatch(name):
                raise ValueError(f"not a lower-case PostgreSQL identifier: {name!r}")
        # Checked identifiers: quoting them is enough.
        self.schema = f'"{schema}"'
        self.sessions = f'"{schema}"."{prefix}sessions"'
        self.data = f'"{schema}"."{prefix}session_data"'
        self.counts = f'"{schema}"."{prefix}session_counts"'
        self.names = (f"{schema}.{prefix}sessions", f"{schema}.{prefix}session_data")
        #: Every table, the counters last (they are made and checked with the others).
        self.all_names = (*self.names, f"{schema}.{prefix}session_counts")
        kind = "UNLOGGED TABLE" if unlogged else "TABLE"
        s, d, c = self.sessions, self.data, self.counts
        counter = f'"{schema}"."{prefix}session_count'
        slot = f"(hashtext(%s) & {COUNT_SLOTS - 1})"
        add = (
            f"INSERT INTO {c} AS t (slot, unrevoked) VALUES ({{slot}}, {{n}})"
            " ON CONFLICT (slot) DO UPDATE SET unrevoked = t.unrevoked + excluded.unrevoked"
        )
        self.tables = (
            f"CREATE {kind} IF NOT EXISTS {s} ("
            " id text PRIMARY KEY,"
            " created_at double precision NOT NULL,"
            " last_activity double precision NOT NULL,"
            " absolute_at double precision NOT NULL,"
            " expires_at double precision NOT NULL,"
            " csrf_secret text NOT NULL,"
            " authenticated boolean NOT NULL,"
            " account text,"
            " device text NOT NULL DEFAULT '',"
            " ip text NOT NULL DEFAULT '',"
            " revoked boolean NOT NULL DEFAULT false,"
            " revoked_reason text NOT NULL DEFAULT '')",
            # The purge's range and the live count, without visiting the table.
            f'CREATE INDEX IF NOT EXISTS "{prefix}sessions_by_expiry"'
            f" ON {s} (expires_at) INCLUDE (revoked)",
            f'CREATE INDEX IF NOT EXISTS "{prefix}sessions_by_account"'
            f" ON {s} (account, created_at DESC) WHERE account IS NOT NULL",
            f"CREATE {kind} IF NOT EXISTS {d} ("
            f" session_id text NOT NULL REFERENCES {s} (id) ON DELETE CASCADE,"
            " name text NOT NULL,"
            " value text NOT NULL,"
            " PRIMARY KEY (session_id, name))",
            # The live count without a scan: the unrevoked rows, counted per slot by
            # triggers in the writing transaction; count_live subtracts the expired
            # ones not yet purged (an index range).
            f"CREATE {kind} IF NOT EXISTS {c} ("
            " slot smallint PRIMARY KEY, unrevoked bigint NOT NULL)",
            # A revocation changes one row.
            f'CREATE OR REPLACE FUNCTION {counter}_revoked"() RETURNS trigger'
            " LANGUAGE plpgsql AS $$ BEGIN IF NOT OLD.revoked AND NEW.revoked THEN "
            + add.format(slot=slot % "OLD.id", n=-1)
            + "; END IF; RETURN NULL; END $$",
            # Rows made or removed by one statement (one login; a purge's batch; a
            # bulk load) change each counter once, in counter order, so that two such
            # statements never wait for each other in a cycle.
            *(
                f'CREATE OR REPLACE FUNCTION {counter}_{name}"() RETURNS trigger'
                " LANGUAGE plpgsql AS $$ DECLARE r record; BEGIN"
                f" FOR r IN SELECT {slot % 'id'} AS slot, count(*) AS n FROM {rows}"
                " WHERE NOT revoked GROUP BY 1 ORDER BY 1 LOOP "
                + add.format(slot="r.slot", n=f"{sign}r.n")
                + "; END LOOP; RETURN NULL; END $$"
                for name, rows, sign in (("made", "made", ""), ("deleted", "gone", "-"))
            ),
            f'CREATE OR REPLACE FUNCTION {counter}_truncated"() RETURNS trigger'
            f" LANGUAGE plpgsql AS $$ BEGIN DELETE FROM {c}; RETURN NULL; END $$",
            _trigger(
                s,
                f"{prefix}sessions_count_insert",
                f"AFTER INSERT ON {s} REFERENCING NEW TABLE AS made FOR EACH STATEMENT"
                f' EXECUTE FUNCTION {counter}_made"()',
            ),
            _trigger(
                s,
                f"{prefix}sessions_count_revoke",
                f"AFTER UPDATE OF revoked ON {s} FOR EACH ROW"
                f' EXECUTE FUNCTION {counter}_revoked"()',
            ),
            _trigger(
                s,
                f"{prefix}sessions_count_delete",
                f"AFTER DELETE ON {s} REFERENCING OLD TABLE AS gone FOR EACH STATEMENT"
                f' EXECUTE FUNCTION {counter}_deleted"()',
            ),
            _trigger(
                s,
                f"{prefix}sessions_count_truncate",
                f'AFTER TRUNCATE ON {s} FOR EACH STATEMENT EXECUTE FUNCTION {counter}_truncated"()',
            ),
        )
        #: Counters for rows that were there before the counters (run with the
        #: triggers in place, in the same transaction: no row is missed or counted twice).
        self.recount = (
            f"INSERT INTO {c} (slot, unrevoked) SELECT {slot % 'id'}, count(*) FROM {s}"
            " WHERE NOT revoked GROUP BY 1"
        )
        live = "s.expires_at > %(now)s AND NOT s.revoked"
        self.get = (
            f"SELECT {_prefixed('s.')}, d.name, d.value"
            f" FROM {s} s LEFT JOIN {d} d ON d.session_id = s.id WHERE s.id = %(key)s"
        )
        # The activity stamp, when due, in the same statement as the read: the
        # SELECT sees the row as it was, so the new stamp comes from RETURNING.
        self.get_refreshing = (
            f"WITH t AS (UPDATE {s} s SET last_activity = %(now)s,"
            " expires_at = LEAST(%(until)s, s.absolute_at)"
            f" WHERE s.id = %(key)s AND {live} AND %(now)s - s.last_activity >= %(interval)s"
            " RETURNING s.last_activity, s.expires_at)"
            " SELECT s.id, s.created_at, coalesce(t.last_activity, s.last_activity),"
            " s.absolute_at, coalesce(t.expires_at, s.expires_at), s.csrf_secret,"
            " s.authenticated, s.account, s.device, s.ip, s.revoked, s.revoked_reason,"
            " d.name, d.value"
            f" FROM {s} s LEFT JOIN t ON true LEFT JOIN {d} d ON d.session_id = s.id"
            " WHERE s.id = %(key)s"
        )
        self.create = (
            f"WITH s AS (INSERT INTO {s} ({_COLUMNS})"
            " VALUES (%(key)s, %(created_at)s, %(last_activity)s, %(absolute_at)s,"
            " %(expires_at)s, %(csrf_secret)s, %(authenticated)s, %(account)s, %(device)s,"
            " %(ip)s, %(revoked)s, %(revoked_reason)s) ON CONFLICT (id) DO NOTHING RETURNING id),"
            f" d AS (INSERT INTO {d} (session_id, name, value) SELECT s.id, x.name, x.value"
            " FROM s, unnest(%(names)s::text[], %(values)s::text[]) AS x(name, value))"
            " SELECT count(*) FROM s"
        )
        # The session row is locked (FOR SHARE: writers of other keys do not wait
        # for each other) or updated, so a delete or revoke cannot slip in between
        # the check and the write; the data statements only run if it is alive.
        writes = (
            f" w AS (INSERT INTO {d} (session_id, name, value) SELECT s.id, x.name, x.value"
            " FROM s, unnest(%(names)s::text[], %(values)s::text[]) AS x(name, value)"
            " ON CONFLICT (session_id, name) DO UPDATE SET value = excluded.value),"
            f" r AS (DELETE FROM {d} d USING s WHERE d.session_id = s.id"
            " AND d.name = ANY(%(removed)s::text[]))"
            " SELECT count(*) FROM s"
        )
        self.update = (
            f"WITH s AS (SELECT s.id FROM {s} s WHERE s.id = %(key)s AND {live}"
            f" FOR SHARE), {writes}"
        )
        self.update_touching = (
            f"WITH s AS (UPDATE {s} s SET last_activity = %(last)s, expires_at = %(expires)s"
            f" WHERE s.id = %(key)s AND {live} RETURNING s.id), {writes}"
        )
        # FOR NO KEY UPDATE: one read-modify-write of a session at a time, and no
        # other write of it meanwhile (they take FOR SHARE). The value is read by a
        # second statement: its snapshot is taken once the lock is held, while a
        # join in the locking statement would see the value from before the wait.
        self.lock_session = (
            f"SELECT s.id FROM {s} s WHERE s.id = %(key)s AND {live} FOR NO KEY UPDATE"
        )
        self.read_value = f"SELECT value FROM {d} WHERE session_id = %(key)s AND name = %(name)s"
        self.set_value = (
            f"INSERT INTO {d} (session_id, name, value) VALUES (%(key)s, %(name)s, %(value)s)"
            " ON CONFLICT (session_id, name) DO UPDATE SET value = excluded.value"
        )
        self.delete_value = f"DELETE FROM {d} WHERE session_id = %(key)s AND name = %(name)s"
        self.delete = f"DELETE FROM {s} WHERE id = %(key)s"
        self.revoke = (
            f"UPDATE {s} s SET revoked = true, revoked_reason = %(reason)s"
            f" WHERE s.id = %(key)s AND {live}"
        )
        self.list_all = f"SELECT {_prefixed('s.')} FROM {s} s WHERE {live}"
        self.list_account = f"{self.list_all} AND s.account = %(account)s"
        self.count_live = (
            f"SELECT coalesce((SELECT sum(unrevoked) FROM {c}), 0)"
            f" - (SELECT count(*) FROM {s} WHERE expires_at <= %(now)s AND NOT revoked)"
        )
        self.count = f"SELECT count(*) FROM {s}"
        # SKIP LOCKED: a row a request holds right now waits for the next purge
        # instead of the purge waiting for the request.
        self.purge = (
            f"WITH doomed AS (SELECT id FROM {s} WHERE expires_at <= %(now)s"
            " LIMIT %(batch)s FOR UPDATE SKIP LOCKED)"
            f" DELETE FROM {s} s USING doomed WHERE s.id = doomed.id"
        )
        self.exists = (
            "SELECT to_regclass(%s) IS NOT NULL AND to_regclass(%s) IS NOT NULL"
            " AND to_regclass(%s) IS NOT NULL"
        )
        self.ping = "SELECT 1"
        self.persistence = (
            "SELECT c.relpersistence = 'u' FROM pg_class c WHERE c.oid = to_regclass(%s)"
        )
        self.set_persistence = tuple(
            f"ALTER TABLE {table} SET {'UNLOGGED' if unlogged else 'LOGGED'}"
            # Referencing table first to UNLOGGED, last to LOGGED: PostgreSQL
            # refuses a logged table referencing an unlogged one.
            for table in ((d, s, c) if unlogged else (s, d, c))
        )


def _trigger(table: str, name: str, definition: str) -> str:
    """``CREATE TRIGGER`` unless there is one of that name (PostgreSQL 11 has no
    ``CREATE OR REPLACE TRIGGER``)."""
    return (
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_trigger"
        f" WHERE tgrelid = '{table}'::regclass AND tgname = '{name}')"
        f' THEN CREATE TRIGGER "{name}" {definition}; END IF; END $$'
    )


def _prefixed(alias: str) -> str:
    return ", ".join(alias + column.strip() for column in _COLUMNS.split(","))


class _BrokenConnection(Exception):
    """A pooled connection the server had closed (restart, failover); ``__cause__`` says how."""


class PostgresSessionStore:
    """Sessions in PostgreSQL, shared by threads, processes and machines.

    Built before gunicorn forks, it serves every worker: each process makes its own
    pool on first use.
    """

    def __init__(self, conninfo: str, settings: PostgresSettings) -> None:
        self._psycopg, self._pool_module = _import_driver()
        self._sql = _Statements(settings.schema, settings.table_prefix, unlogged=settings.unlogged)
        self._settings = settings
        self._timeout = settings.timeout
        self._conninfo = _with_defaults(self._psycopg, conninfo, settings.timeout)
        self._pool: ConnectionPool[Connection[Any]] | None = None
        self._pid = 0
        self._lock = threading.Lock()
        self._schema_ready = False
        self._creations = 0
        self._outages = OutageLog(log)
        self._translate = StoreGuard(self._outages, self._outage_reason)
        #: Why the pool's last attempt to connect failed (``None`` once one succeeds):
        #: a request that timed out waiting for a connection says so.
        self.connect_error: str | None = None
        self._connection_class = _recording_connections(self._psycopg.Connection, self)
        errors = self._psycopg.errors
        self._outage_errors: tuple[type[BaseException], ...] = (
            _BrokenConnection,
            self._psycopg.OperationalError,  # refused, timed out, shut down, pool timeout
            errors.ReadOnlySqlTransaction,  # a standby after a failover
            errors.InsufficientPrivilege,  # e.g. may not create the tables
            errors.UndefinedTable,  # dropped under us: made again on next use
        )

    @classmethod
    def from_url(
        cls, url: str, *, instance_path: str, postgres: PostgresSettings | None = None
    ) -> PostgresSessionStore:
        """``postgresql://USER:PASSWORD@HOST:PORT/DB?sslmode=...`` (libpq's URL form).

        Every query parameter is libpq's own and is passed through (``sslmode``,
        ``sslrootcert``, ``connect_timeout``, ``application_name``...). Pool size,
        timeout, schema, table prefix and ``UNLOGGED`` come from ``postgres`` (the
        ``SESSION_PG_*`` settings). Nothing connects yet: an unreachable server
        makes requests answer 503 until it is there.
        """
        return cls(url, postgres or PostgresSettings.from_config({}))

    # -- connections ----------------------------------------------------------------------

    def _pool_here(self) -> ConnectionPool[Connection[Any]]:
        """This process's pool, made on first use (and anew in a forked child)."""
        pool, pid = self._pool, os.getpid()
        if pool is not None and self._pid == pid:
            return pool
        with self._lock:
            if self._pool is not None and self._pid == pid:
                return self._pool
            if self._pool is not None:
                _INHERITED.append(self._pool)  # the parent's: see _INHERITED
            made: ConnectionPool[Connection[Any]] = self._pool_module.ConnectionPool(
                self._conninfo,
                connection_class=self._connection_class,
                min_size=1,
                max_size=self._settings.pool_size,
                kwargs={"autocommit": True},
                timeout=self._timeout,
                # Give up reconnecting in the background soon, so that the next
                # request starts a fresh attempt at once when the server is back
                # (instead of waiting out a long back-off).
                reconnect_timeout=max(2.0, 2 * self._timeout),
                name="flask-session-guard",
                open=False,
            )
            made.open(wait=False)
            self._pool, self._pid = made, pid
            return made

    def _once(self, work: Callable[[Connection[Any]], T]) -> T:
        pool = self._pool_here()
        conn = pool.getconn(self._timeout)
        try:
            if not self._schema_ready:
                self._ensure_schema(conn)
            return work(conn)
        except self._psycopg.OperationalError as err:
            if conn.broken:
                raise _BrokenConnection(_describe(err)) from err
            raise
        finally:
            pool.putconn(conn)

    def _run(self, work: Callable[[Connection[Any]], T], *, idempotent: bool = True) -> T:
        """``work(conn)`` on a pooled connection, errors translated.

        A connection the server closed while it sat in the pool (a restart) fails
        once: the pool's other idle connections are checked then, and ``work`` is
        tried again on a fresh one if running it twice is harmless.
        """
        with self._translate:
            try:
                return self._once(work)
            except _BrokenConnection:
                self._pool_here().check()
                if not idempotent:
                    raise
            return self._once(work)

    def _rows(self, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        return self._run(lambda conn: conn.execute(sql, params, prepare=True).fetchall())

    def _scalar(self, sql: str, params: Mapping[str, Any], *, idempotent: bool = True) -> Any:
        def work(conn: Connection[Any]) -> Any:
            row = conn.execute(sql, params, prepare=True).fetchone()
            return None if row is None else row[0]

        return self._run(work, idempotent=idempotent)

    def _rowcount(self, sql: str, params: Mapping[str, Any], *, idempotent: bool = True) -> int:
        return self._run(
            lambda conn: conn.execute(sql, params, prepare=True).rowcount, idempotent=idempotent
        )

    def _outage_reason(self, err: BaseException) -> str | None:
        if isinstance(err, self._psycopg.errors.UndefinedTable):
            self._schema_ready = False  # made again on next use
        if isinstance(err, self._pool_module.PoolTimeout) and self.connect_error:
            return f"{_describe(err)} ({self.connect_error})"
        if isinstance(err, self._outage_errors):
            return _describe(err)
        return None

    # -- schema -----------------------------------------------------------------------------

    def _ensure_schema(self, conn: Connection[Any]) -> None:
        """Create the schema and tables unless they exist (once per process)."""
        sql = self._sql
        row = conn.execute(sql.exists, sql.all_names).fetchone()
        if not (row and row[0]):
            self._create_schema(conn)
        self._schema_ready = True

    def _create_schema(self, conn: Connection[Any]) -> None:
        sql = self._sql
        with conn.transaction():
            # Concurrent CREATE ... IF NOT EXISTS can still collide in the catalog:
            # processes starting together take turns.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (sql.names[0],))
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {sql.schema}")
            counted = conn.execute("SELECT to_regclass(%s)", (sql.all_names[-1],)).fetchone()
            for statement in sql.tables:
                conn.execute(statement)
            if counted is None or counted[0] is None:  # the counters are new
                conn.execute(sql.recount)

    def init_schema(self) -> str:
        """Create what is missing now (``flask sessions init-db``); says what it did.

        Also turns existing tables ``UNLOGGED`` or back to logged when
        ``SESSION_PG_UNLOGGED`` changed (PostgreSQL rewrites them: a lock for as long
        as that takes).
        """
        sql = self._sql

        def work(conn: Connection[Any]) -> str:
            existed = bool(conn.execute(sql.exists, sql.all_names).fetchone()[0])  # type: ignore[index]
            self._create_schema(conn)
            wanted = self._settings.unlogged
            changed = False
            for name in sql.all_names:
                row = conn.execute(sql.persistence, (name,)).fetchone()
                if row is not None and bool(row[0]) != wanted:
                    changed = True
            if changed:
                with conn.transaction():
                    for statement in sql.set_persistence:
                        conn.execute(statement)
            kind = "unlogged" if wanted else "logged"
            tables = " and ".join(sql.names)
            if changed:
                return f"made {tables} {kind}"
            return f"{tables} {'already there' if existed else 'created'} ({kind})"

        with self._translate:
            # Not through _once: it would create the tables first.
            pool = self._pool_here()
            conn = pool.getconn(self._timeout)
            try:
                done = work(conn)
            finally:
                pool.putconn(conn)
        self._schema_ready = True
        return done

    # -- the store interface ---------------------------------------------------------------

    def get(self, key: str, now: float, refresh: Refresh | None = None) -> SessionRecord | None:
        if refresh is None:
            rows = self._rows(self._sql.get, {"key": key})
        else:
            # Running it twice is harmless: the second finds the stamp fresh.
            rows = self._rows(
                self._sql.get_refreshing,
                {
                    "key": key,
                    "now": now,
                    "until": now + refresh.idle_timeout,
                    "interval": refresh.interval,
                },
            )
        if not rows:
            return None
        record = _record(rows[0])
        record.data = {row[-2]: row[-1] for row in rows if row[-2] is not None}
        return record

    def create(self, record: SessionRecord) -> None:
        params = {
            "key": record.key,
            "created_at": record.created_at,
            "last_activity": record.last_activity,
            "absolute_at": record.absolute_at,
            "expires_at": record.expires_at,
            "csrf_secret": record.csrf_secret,
            "authenticated": record.authenticated,
            "account": record.account,
            "device": record.device,
            "ip": record.ip,
            "revoked": record.revoked,
            "revoked_reason": record.revoked_reason if record.revoked else "",
            "names": list(record.data),
            "values": list(record.data.values()),
        }
        # Not retried: a create that did reach the server would then look taken.
        if not self._scalar(self._sql.create, params, idempotent=False):
            raise SessionExists("session key already taken")
        self._creations += 1
        if self._creations % PURGE_EVERY == 0:
            self._purge_batch(record.created_at)

    def update(
        self,
        key: str,
        now: float,
        changes: Mapping[str, Change],
        touch: Touch | None = None,
    ) -> bool:
        names = [name for name, value in changes.items() if value is not None]
        params: dict[str, Any] = {
            "key": key,
            "now": now,
            "names": names,
            "values": [changes[name] for name in names],
            "removed": [name for name, value in changes.items() if value is None],
        }
        if touch is None:
            sql = self._sql.update
        else:
            sql = self._sql.update_touching
            params["last"], params["expires"] = touch.last_activity, touch.expires_at
        # Setting the same values twice is the same write: safe to retry.
        return bool(self._scalar(sql, params))

    def update_value(
        self, key: str, name: str, now: float, fn: Callable[[str | None], Change]
    ) -> Change:
        sql = self._sql

        def work(conn: Connection[Any]) -> Change:
            params: dict[str, Any] = {"key": key, "name": name, "now": now}
            # BEGIN, the lock and the read go in one round trip, the write and
            # COMMIT in another.
            with conn.pipeline(), conn.transaction():
                locked = conn.execute(sql.lock_session, params, prepare=True)
                current = conn.execute(sql.read_value, params, prepare=True)
                if locked.fetchone() is None:
                    raise SessionGone
                row = current.fetchone()
                value = fn(None if row is None else row[0])
                params["value"] = value
                conn.execute(sql.delete_value if value is None else sql.set_value, params)
            return value

        return self._run(work, idempotent=False)

    def delete(self, key: str) -> None:
        self._rowcount(self._sql.delete, {"key": key})

    def revoke(self, key: str, now: float, reason: str = "revoked") -> bool:
        params = {
            "key": key,
            "now": now,
            "reason": reason if reason in REVOKE_REASONS else "revoked",
        }
        return self._rowcount(self._sql.revoke, params, idempotent=False) == 1

    def list_sessions(
        self, now: float, account: str | None = None, limit: int | None = None
    ) -> list[SessionRecord]:
        params: dict[str, Any] = {"now": now, "account": account, "limit": limit}
        sql = self._sql.list_all if account is None else self._sql.list_account
        sql += " ORDER BY s.created_at DESC LIMIT %(limit)s"
        return [_record(row) for row in self._rows(sql, params)]

    def count_live(self, now: float) -> int:
        """Live sessions: the counters' sum, less the expired rows not yet purged."""
        return int(self._scalar(self._sql.count_live, {"now": now}))

    def count(self) -> int:
        """How many records exist, live or not yet purged."""
        return int(self._scalar(self._sql.count, {}))

    def purge_expired(self, now: float) -> int:
        """Remove expired records in batches of :data:`PURGE_BATCH`, each its own
        short transaction; rows a request holds are left for the next purge."""
        total = 0
        while True:
            removed = self._purge_batch(now)
            total += removed
            if removed < PURGE_BATCH:
                return total

    def _purge_batch(self, now: float) -> int:
        return self._rowcount(self._sql.purge, {"now": now, "batch": PURGE_BATCH})

    def ping(self) -> None:
        """``SELECT 1`` on a pooled connection: one round trip, no table touched."""
        self._scalar(self._sql.ping, {})

    def close(self) -> None:
        """Close this process's pool; a new one is made on next use."""
        with self._lock:
            pool, self._pool = self._pool, None
            if pool is not None and self._pid != os.getpid():
                _INHERITED.append(pool)
                pool = None
        if pool is not None:
            pool.close()


def _recording_connections(base: type[Any], store: PostgresSessionStore) -> type[Any]:
    """A connection class for the pool that notes on ``store`` why connecting failed."""

    class RecordingConnection(base):  # type: ignore[misc]
        @classmethod
        def connect(cls, *args: Any, **kwargs: Any) -> Any:
            try:
                made = super().connect(*args, **kwargs)
            except Exception as err:
                store.connect_error = _describe(err)
                raise
            store.connect_error = None
            return made

    return RecordingConnection


def _with_defaults(psycopg: ModuleType, url: str, timeout: float) -> str:
    """The URL as libpq connection settings, with our statement timeout and defaults.

    A malformed URL or an unknown parameter is a :class:`ValueError` now, at start-up.
    """
    try:
        params: dict[str, Any] = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError as err:
        # libpq's message names the bad part, never the password.
        raise ValueError(f"not a PostgreSQL URL: {str(err).strip()}") from None
    # libpq itself checks these only when it connects: in the background, too late.
    for port in str(params.get("port", "5432")).split(","):
        if not (port.isdigit() and 0 < int(port) < 65536):
            raise ValueError(f"not a port number: {port!r}")
    if params.get("sslmode", "prefer") not in _SSL_MODES:
        raise ValueError(f"sslmode must be one of {', '.join(_SSL_MODES)}")
    if not str(params.get("connect_timeout", "2")).isdigit():
        raise ValueError("connect_timeout must be a whole number of seconds")
    millis = max(1, round(timeout * 1000))
    # The server cancels a statement (or a wait for a lock) past the store timeout.
    params["options"] = f"{params.get('options', '')} -c statement_timeout={millis}".strip()
    params.setdefault("application_name", "flask-session-guard")
    # libpq's own minimum is 2 s; a new connection is made off the request path.
    params.setdefault("connect_timeout", max(2, round(timeout)))
    conninfo: str = psycopg.conninfo.make_conninfo(**params)
    return conninfo


def _describe(err: BaseException) -> str:
    """The failure in one short line: its kind, SQLSTATE and first line of the reason.

    Driver and server messages name the host and port, never a password or a key.
    """
    if isinstance(err, _BrokenConnection):
        return str(err)
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    code = getattr(err, "sqlstate", None)
    kind = f"postgres {type(err).__name__}" + (f" ({code})" if code else "")
    return kind + (f": {text[:160]}" if text else "")


def _record(row: Sequence[Any]) -> SessionRecord:
    """A record (without data) from the first twelve columns of ``_COLUMNS``."""
    key, created, last, absolute_at, expires, csrf, authenticated, account, device, ip = row[:10]
    revoked, reason = row[10:12]
    return SessionRecord(
        key=key,
        created_at=created,
        last_activity=last,
        absolute_at=absolute_at,
        expires_at=expires,
        csrf_secret=csrf,
        authenticated=authenticated,
        account=account,
        device=device,
        ip=ip,
        revoked=revoked,
        revoked_reason=reason,
    )
