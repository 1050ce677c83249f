"""``sqlite:///PATH``: the embedded default store, shared by every worker on one machine.

One row per session in ``sessions`` and one row per user-data key in
``session_data``, so writes are per key. WAL mode lets readers run beside the one
writer; ``BEGIN IMMEDIATE`` serialises writers across processes, and every write
checks that the session is still alive inside its transaction, so a deleted
session is never written back. Each thread of each process gets its own
connection (SQLite connections must not cross ``fork``).

What the file system does to it (README "SQLite on a small or changing disk"):
the write-ahead log is checkpointed early and cut back, and emptied when a write
fails for lack of space; a connection that may be stale (opened read-only, a
replaced file) is reopened after a failed write; and a database file removed or
replaced under a worker is noticed after each write, which is then refused (503),
so that nothing is acknowledged into a deleted file. Every failure of the file is a
:class:`StoreUnavailable`.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs

from ..settings import RedisSettings
from .base import (
    Change,
    OutageLog,
    Refresh,
    SessionExists,
    SessionGone,
    SessionRecord,
    StoreGuard,
    StoreUnavailable,
    Touch,
)

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    last_activity REAL NOT NULL,
    absolute_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    csrf_secret TEXT NOT NULL,
    authenticated INTEGER NOT NULL,
    account TEXT,
    device TEXT NOT NULL DEFAULT '',
    ip TEXT NOT NULL DEFAULT '',
    revoked INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions (expires_at);
CREATE TABLE IF NOT EXISTS session_data (
    session_id TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (session_id, name)
) WITHOUT ROWID;
"""
#: Columns added after the first schema, for files made by earlier versions.
_ADDED_COLUMNS = {
    "account": "TEXT",
    "device": "TEXT NOT NULL DEFAULT ''",
    "ip": "TEXT NOT NULL DEFAULT ''",
    "revoked": "INTEGER NOT NULL DEFAULT 0",
}
#: The live count without a scan: triggers keep the number of unrevoked rows in
#: ``session_counts`` (created before the first count is taken, so no row is missed
#: by both); count_live subtracts the expired rows not yet purged (an index range).
_COUNTS = """
CREATE TABLE IF NOT EXISTS session_counts (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    unrevoked INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS session_counts_insert AFTER INSERT ON sessions
WHEN NEW.revoked = 0 BEGIN UPDATE session_counts SET unrevoked = unrevoked + 1; END;
CREATE TRIGGER IF NOT EXISTS session_counts_delete AFTER DELETE ON sessions
WHEN OLD.revoked = 0 BEGIN UPDATE session_counts SET unrevoked = unrevoked - 1; END;
CREATE TRIGGER IF NOT EXISTS session_counts_revoke AFTER UPDATE OF revoked ON sessions
WHEN OLD.revoked = 0 AND NEW.revoked != 0
BEGIN UPDATE session_counts SET unrevoked = unrevoked - 1; END;
INSERT OR IGNORE INTO session_counts (one, unrevoked)
    SELECT 1, count(*) FROM sessions WHERE revoked = 0;
"""
_COUNT_LIVE = (
    "SELECT (SELECT unrevoked FROM session_counts WHERE one = 1)"
    " - (SELECT count(*) FROM sessions WHERE expires_at <= ? AND revoked = 0)"
)
#: The ``revoked`` column: 0 live, else the reason's code.
_REVOKED_CODES = {"revoked": 1, "session_limit": 2}
_REVOKED_REASONS = {code: reason for reason, code in _REVOKED_CODES.items()}
_ACCOUNT_INDEX = (
    "CREATE INDEX IF NOT EXISTS sessions_by_account ON sessions (account, expires_at)"
    " WHERE account IS NOT NULL"
)
_COLUMNS = (
    "s.id, s.created_at, s.last_activity, s.absolute_at, s.expires_at, s.csrf_secret,"
    " s.authenticated, s.account, s.device, s.ip, s.revoked"
)
_SELECT = (
    f"SELECT {_COLUMNS}, d.name, d.value"
    " FROM sessions s LEFT JOIN session_data d ON d.session_id = s.id WHERE s.id = ?"
)
_LIVE = "s.expires_at > ? AND s.revoked = 0"
_UPSERT_VALUE = (
    "INSERT INTO session_data (session_id, name, value) VALUES (?, ?, ?)"
    " ON CONFLICT (session_id, name) DO UPDATE SET value = excluded.value"
)
_DELETE_VALUE = "DELETE FROM session_data WHERE session_id = ? AND name = ?"
_IS_LIVE = "SELECT 1 FROM sessions WHERE id = ? AND expires_at > ? AND revoked = 0"
#: The commonest write (one value, no activity stamp) as one statement, which is its
#: own transaction: the liveness check and the upsert cannot be split by another writer.
_UPSERT_VALUE_IF_LIVE = (
    "INSERT INTO session_data (session_id, name, value)"
    f" SELECT ?, ?, ? WHERE EXISTS ({_IS_LIVE})"
    " ON CONFLICT (session_id, name) DO UPDATE SET value = excluded.value"
)

#: While SQLite answers "busy" (another process holds the write lock), wait this long,
#: doubling up to the cap, then try again, until the busy timeout. SQLite's own busy
#: handler waits 1 ms first, then longer: with two workers writing at once, that
#: first millisecond was most of what a contended write cost, for a lock held for
#: tens of microseconds.
BUSY_WAIT_FIRST = 0.00005
BUSY_WAIT_MAX = 0.002
_SQLITE_BUSY = 5
_SQLITE_FULL = 13
#: Result codes after which this thread's connection may be what is wrong: opened
#: read-only (a file that was read-only or immutable then), or its file replaced,
#: corrupt or unreadable. Reopening costs a connect, only after such a failure.
_SQLITE_STALE = frozenset({8, 10, 11, 14, 26})  # READONLY IOERR CORRUPT CANTOPEN NOTADB

#: The write-ahead log is checkpointed into the database at the first commit that finds
#: it holding this many pages (SQLite's default: 1000 pages of 4 KB, 4 MB) ...
WAL_PAGES_MAX = 1000
#: ... or fewer on a small file system, so that the log takes at most this share of
#: it (a 2 MB volume: 64 pages, 256 KB). A lower threshold everywhere would cost every
#: write: each checkpoint syncs the database file (measured on ext4: 27 µs a write at
#: 1000 pages, 50 to 85 µs at 200).
WAL_SHARE = 8
WAL_PAGES_MIN = 16
_PAGE = 4096
#: Every connection, once, before the log's budget. NORMAL is durable against
#: application crashes in WAL mode; only a power loss can drop the last commits (for
#: sessions: a re-login). No memory-mapped reads of the database: a mapped page that
#: the file no longer backs (truncated, or a full tmpfs) is a SIGBUS that kills the
#: worker, where read() is an error the store answers as 503.
_PRAGMAS = ("PRAGMA synchronous=NORMAL", "PRAGMA mmap_size=0")


def wal_budget(folder: Path) -> tuple[int, int]:
    """(checkpoint threshold in pages, byte size the log is cut back to) for a database
    in ``folder``: SQLite's default on a big disk, a share of a small one."""
    try:
        found = os.statvfs(folder)
        size = found.f_blocks * found.f_frsize
    except OSError:
        size = 0
    pages = WAL_PAGES_MAX if size == 0 else size // WAL_SHARE // _PAGE
    pages = max(WAL_PAGES_MIN, min(WAL_PAGES_MAX, pages))
    return pages, pages * _PAGE


T = TypeVar("T")

#: Rows removed per transaction by a purge, so that requests are served in between.
PURGE_BATCH = 500
#: Every this many creations in one process, one purge batch runs on the side.
PURGE_EVERY = 1000


class SQLiteSessionStore:
    """Sessions in one SQLite file. Safe across threads and processes."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 5.0,
        outage_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``busy_timeout``: the longest one call waits for the write lock (then 503).
        ``outage_clock`` times the quiet interval that ends an outage (tests inject it)."""
        self.path = Path(path)
        self._path_text = os.fspath(self.path)  # for the stat after each write
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._creations = 0
        self._outages = OutageLog(log, clock=outage_clock)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        #: The log's budget (``wal_budget``): checkpoint threshold, size it is cut to.
        self.wal_pages, self.wal_size_limit = wal_budget(self.path.parent)
        self._pragmas = (
            *_PRAGMAS,
            f"PRAGMA wal_autocheckpoint={self.wal_pages}",
            f"PRAGMA journal_size_limit={self.wal_size_limit}",
        )
        self._translate = StoreGuard(self._outages, self._on_error)
        with self._translate:
            conn = self._connect(set_up=True)
            try:
                # A log left by an earlier run (a full disk, a kill) is emptied now.
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                conn.close()

    @classmethod
    def from_url(
        cls, url: str, *, instance_path: str, redis: RedisSettings | None = None
    ) -> SQLiteSessionStore:
        """``sqlite:///relative/to/instance.db`` or ``sqlite:////absolute/path.db``.

        ``?timeout=SECONDS`` sets how long a write waits for the lock (default 5).
        """
        path, _, query = url.removeprefix("sqlite:///").partition("?")
        if not path:
            raise ValueError("sqlite:// needs a file path, e.g. sqlite:///sessions.sqlite3")
        options = parse_qs(query)
        unknown = set(options) - {"timeout"}
        if unknown:
            raise ValueError(f"unknown sqlite option(s): {', '.join(sorted(unknown))}")
        timeout = float(options.get("timeout", ["5"])[-1])
        if not 0 <= timeout < 3600:
            raise ValueError("sqlite timeout must be between 0 and 3600 seconds")
        return cls(Path(instance_path) / path, busy_timeout=timeout)

    # -- connections -----------------------------------------------------------------

    def _create_file(self) -> bool:
        """Create the database file (and its folder) if missing; True if this call made it.

        Owner-only, like the key file: SQLite gives its -wal and -shm files the same
        mode, and the rows hold CSRF secrets and sealed credentials. Also after the
        folder was removed under a running server: files created again are 0600 too.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: an existing file is never opened here (closing a descriptor of a
            # file SQLite has open would drop its locks on it).
            os.close(os.open(self.path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            return False
        return True

    def _connect(self, *, set_up: bool = False) -> sqlite3.Connection:
        made = self._create_file()
        # timeout=0: "busy" comes back at once and _when_free waits (see BUSY_WAIT_FIRST).
        conn = sqlite3.connect(self.path, timeout=0, isolation_level=None, check_same_thread=True)
        try:
            for pragma in self._pragmas:
                # The first statement reads the schema: busy for a moment while another
                # connection restarts the log.
                self._when_free(functools.partial(conn.execute, pragma))
            if set_up or made:
                self._set_up(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _set_up(self, conn: sqlite3.Connection) -> None:
        """WAL mode and the schema (at start-up, and for a file created again)."""
        # Setting up may meet another process doing the same: SQLite's own busy
        # handler is good enough here; requests use _when_free (timeout 0) instead.
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
        (mode,) = conn.execute("PRAGMA journal_mode=WAL").fetchone()
        if str(mode).lower() != "wal":
            # E.g. a network file system: readers then block writers.
            log.warning("SQLite session store is not in WAL mode (%s)", mode)
        conn.executescript(_SCHEMA)
        present = {row[1] for row in conn.execute("PRAGMA table_info(sessions)")}
        for column, kind in _ADDED_COLUMNS.items():
            if column not in present:
                conn.execute(f"ALTER TABLE sessions ADD COLUMN {column} {kind}")
        conn.execute(_ACCOUNT_INDEX)
        conn.executescript(_COUNTS)
        conn.execute("PRAGMA busy_timeout = 0")

    def _conn(self) -> sqlite3.Connection:
        local = self._local
        pid = os.getpid()
        if getattr(local, "pid", None) != pid:
            # A connection inherited through fork belongs to the parent: never use it.
            local.conn = self._connect()
            local.file = _identity(self._path_text)
            local.pid = pid
        conn: sqlite3.Connection = local.conn
        return conn

    def _drop(self) -> None:
        """Close this thread's connection; the next call opens a fresh one."""
        local = self._local
        if getattr(local, "pid", None) == os.getpid():
            with contextlib.suppress(sqlite3.Error):
                local.conn.close()
        local.pid = None

    def _check_file(self) -> None:
        """After a write: refuse it (503) if the file at ``path`` is no longer the one
        this connection wrote to (removed, or replaced by another file).

        One ``stat`` per write (about a microsecond, against tens for the write): a
        write is acknowledged only once its file is known to be the live one.
        """
        if _identity(self._path_text) == self._local.file:
            return
        self._drop()
        log.error(
            "SQLite session database %s was removed or replaced while in use: a write to"
            " the old file was refused (503), and the path is opened again (created"
            " anew, mode 0600, if missing); sessions kept only in the old file are gone",
            self.path,
        )
        raise self._outages.unavailable("sqlite: database file removed or replaced")

    def _reclaim_wal(self) -> None:
        """After a write failed for lack of space: copy the log into the database and
        truncate it to nothing, which gives its space back unless a reader still needs
        it. A failure here (the database cannot grow either) waits for the next write."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            return
        try:
            if local.conn.in_transaction:
                local.conn.execute("ROLLBACK")
            busy, pages, _ = local.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.Error as err:
            log.debug("checkpoint after a full disk failed: %s", err)
            return
        log.debug("checkpoint after a full disk: busy=%s, log pages=%s", busy, pages)

    def _on_error(self, err: BaseException) -> str | None:
        """Why ``err`` means the store cannot serve (any sqlite3 database error: locked,
        full, read-only, corrupt; or its file cannot be made), or ``None``.

        Repairs what the next call needs first: a full disk empties the log, a
        connection that may be stale is dropped (a worker that opened the file while it
        was read-only would otherwise stay read-only after its permissions came back).
        """
        if isinstance(err, OSError):  # creating the file or its folder
            return f"sqlite: cannot create the database file: {err.strerror}"
        if not isinstance(err, sqlite3.DatabaseError):
            return None
        code = _result_code(err)
        if code == _SQLITE_FULL:
            self._reclaim_wal()
        elif code in _SQLITE_STALE:
            self._drop()
        if isinstance(err, sqlite3.OperationalError):
            return f"sqlite: {err}"
        return f"sqlite database error: {err}"

    def _when_free(self, attempt: Callable[[], T], started: float | None = None) -> T:
        """``attempt()``, tried again while SQLite is busy, until the busy timeout has
        passed since ``started`` (default: now), so that the waits of one store call
        add up to the timeout at most.

        Only for what fails before changing anything: a statement on its own, or
        ``BEGIN IMMEDIATE``. Inside a transaction that holds the write lock, nothing
        is busy in WAL mode.
        """
        try:
            return attempt()
        except sqlite3.OperationalError as err:
            if not _is_busy(err):
                raise
        deadline = (time.monotonic() if started is None else started) + self._busy_timeout
        wait = BUSY_WAIT_FIRST
        while True:
            time.sleep(wait)
            try:
                return attempt()
            except sqlite3.OperationalError as err:
                if not _is_busy(err) or time.monotonic() >= deadline:
                    raise
            wait = min(wait * 2, BUSY_WAIT_MAX)

    def _rows(self, sql: str, args: Sequence[Any]) -> list[Any]:
        """The rows of one query (reads wait out a busy database too)."""
        with self._translate:
            conn = self._conn()
            return self._when_free(lambda: conn.execute(sql, args).fetchall())

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, holding SQLite's writer lock from the start."""
        with self._translate:
            conn = self._conn()
            started = time.monotonic()
            self._when_free(lambda: conn.execute("BEGIN IMMEDIATE"), started)
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:  # SQLite may have rolled back itself (disk full)
                    conn.execute("ROLLBACK")
                raise
            try:
                # Busy only outside WAL mode (a reader holding the file): safe to retry.
                self._when_free(lambda: conn.execute("COMMIT"), started)
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")  # never leave the write lock held
                raise
            self._check_file()

    # -- the store interface -----------------------------------------------------------

    def get(self, key: str, now: float, refresh: Refresh | None = None) -> SessionRecord | None:
        rows = self._rows(_SELECT, (key,))
        if not rows:
            return None
        record = _record(rows[0])
        record.data = {row[-2]: row[-1] for row in rows if row[-2] is not None}
        touch = refresh.due(record, now) if refresh else None
        # Writes at most once per refresh interval; the read above takes no lock.
        if touch is not None and self._refreshed(key, now, touch):
            record.last_activity, record.expires_at = touch.last_activity, touch.expires_at
        return record

    def _refreshed(self, key: str, now: float, touch: Touch) -> bool:
        """Record a read's activity; False if the session is gone or the write failed.

        A write that fails (the lock held too long, a full disk: an outage, logged)
        does not fail the read, which needed no lock: reads keep working in a partial
        outage, and a later request records the activity.
        """
        try:
            return self.update(key, now, {}, touch)
        except StoreUnavailable:
            return False

    def create(self, record: SessionRecord) -> None:
        with self._write() as conn:
            try:
                conn.execute(
                    "INSERT INTO sessions (id, created_at, last_activity, absolute_at,"
                    " expires_at, csrf_secret, authenticated, account, device, ip, revoked)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        record.key,
                        record.created_at,
                        record.last_activity,
                        record.absolute_at,
                        record.expires_at,
                        record.csrf_secret,
                        int(record.authenticated),
                        record.account,
                        record.device,
                        record.ip,
                        _revoked_code(record.revoked, record.revoked_reason),
                    ),
                )
            except sqlite3.IntegrityError:
                raise SessionExists("session key already taken") from None
            conn.executemany(_UPSERT_VALUE, [(record.key, k, v) for k, v in record.data.items()])
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
        if touch is None and len(changes) == 1:
            ((name, value),) = changes.items()
            if value is not None:
                # One statement instead of BEGIN, check, write, COMMIT: 1 round trip into
                # SQLite instead of 4 for what almost every POST writes.
                args = (key, name, value, key, now)
                with self._translate:
                    conn = self._conn()
                    written = self._when_free(lambda: conn.execute(_UPSERT_VALUE_IF_LIVE, args))
                    self._check_file()
                return written.rowcount == 1
        with self._write() as conn:
            if touch is None:
                alive = conn.execute(_IS_LIVE, (key, now)).fetchone() is not None
            else:
                alive = (
                    conn.execute(
                        "UPDATE sessions SET last_activity = ?, expires_at = ?"
                        " WHERE id = ? AND expires_at > ? AND revoked = 0",
                        (touch.last_activity, touch.expires_at, key, now),
                    ).rowcount
                    == 1
                )
            if not alive:
                return False
            _write_changes(conn, key, changes)
            return True

    def update_value(
        self, key: str, name: str, now: float, fn: Callable[[str | None], Change]
    ) -> Change:
        with self._write() as conn:
            if conn.execute(_IS_LIVE, (key, now)).fetchone() is None:
                raise SessionGone
            row = conn.execute(
                "SELECT value FROM session_data WHERE session_id = ? AND name = ?", (key, name)
            ).fetchone()
            value = fn(None if row is None else row[0])
            _write_changes(conn, key, {name: value})
            return value

    def delete(self, key: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM session_data WHERE session_id = ?", (key,))
            conn.execute("DELETE FROM sessions WHERE id = ?", (key,))

    def revoke(self, key: str, now: float, reason: str = "revoked") -> bool:
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE sessions SET revoked = ? WHERE id = ? AND expires_at > ? AND revoked = 0",
                (_revoked_code(True, reason), key, now),
            )
            return cursor.rowcount == 1

    def list_sessions(
        self, now: float, account: str | None = None, limit: int | None = None
    ) -> list[SessionRecord]:
        where, args = (
            (_LIVE, [now]) if account is None else (f"s.account = ? AND {_LIVE}", [account, now])
        )
        sql = f"SELECT {_COLUMNS} FROM sessions s WHERE {where} ORDER BY s.created_at DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return [_record(row) for row in self._rows(sql, args)]

    def purge_expired(self, now: float) -> int:
        """Remove expired records in batches; between two batches the write lock stays
        free as long as the last batch held it.

        SQLite's lock is not fair: a request waiting to write sleeps and polls, and a
        purge that starts its next batch at once would keep it waiting until the end.
        """
        total = 0
        while True:
            started = time.monotonic()
            removed = self._purge_batch(now)
            total += removed
            if removed < PURGE_BATCH:
                return total
            _yield_lock(time.monotonic() - started)

    def _purge_batch(self, now: float) -> int:
        with self._write() as conn:
            keys = [
                (k,)
                for (k,) in conn.execute(
                    "SELECT id FROM sessions WHERE expires_at <= ? LIMIT ?", (now, PURGE_BATCH)
                )
            ]
            conn.executemany("DELETE FROM session_data WHERE session_id = ?", keys)
            conn.executemany("DELETE FROM sessions WHERE id = ?", keys)
            return len(keys)

    def count_live(self, now: float) -> int:
        return int(self._rows(_COUNT_LIVE, (now,))[0][0])

    def count(self) -> int:
        """How many records exist, live or not yet purged."""
        return int(self._rows("SELECT count(*) FROM sessions", ())[0][0])

    def ping(self) -> None:
        """Read the schema version: the file opens and a statement runs."""
        self._rows("PRAGMA schema_version", ())

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            conn.close()
        self._local = threading.local()


def _identity(path: str) -> tuple[int, int] | None:
    """The file at ``path`` (device, inode), or ``None`` if there is none."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def _result_code(err: sqlite3.Error) -> int:
    """SQLite's primary result code of ``err`` (0 if unknown)."""
    code = getattr(err, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return int(code) & 0xFF
    text = str(err)  # Python 3.10: by SQLite's messages
    for needle, found in (("full", 13), ("readonly", 8), ("disk I/O", 10), ("unable to open", 14)):
        if needle in text:
            return found
    return 0


def _is_busy(err: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY (any extended code): another connection holds the lock."""
    code = getattr(err, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return bool(code & 0xFF == _SQLITE_BUSY)
    return "locked" in str(err)


def _yield_lock(seconds: float) -> None:
    """Leave the write lock to others for ``seconds`` (a purge between its batches)."""
    time.sleep(seconds)


def _write_changes(conn: sqlite3.Connection, key: str, changes: Mapping[str, Change]) -> None:
    for name, value in changes.items():
        if value is None:
            conn.execute(_DELETE_VALUE, (key, name))
        else:
            conn.execute(_UPSERT_VALUE, (key, name, value))


def _revoked_code(revoked: bool, reason: str) -> int:
    """The ``revoked`` column's value: 0, or the code of ``reason``."""
    if not revoked:
        return 0
    return _REVOKED_CODES.get(reason, 1)


def _record(row: tuple[object, ...]) -> SessionRecord:
    """A record (without data) from the first eleven columns of ``_COLUMNS``."""
    key, created, last, absolute_at, expires, csrf, authenticated, account, device, ip, revoked = (
        row[:11]
    )
    return SessionRecord(
        key=str(key),
        created_at=float(created),  # type: ignore[arg-type]
        last_activity=float(last),  # type: ignore[arg-type]
        absolute_at=float(absolute_at),  # type: ignore[arg-type]
        expires_at=float(expires),  # type: ignore[arg-type]
        csrf_secret=str(csrf),
        authenticated=bool(authenticated),
        account=None if account is None else str(account),
        device=str(device),
        ip=str(ip),
        revoked=bool(revoked),
        revoked_reason=_REVOKED_REASONS.get(int(revoked), "revoked") if revoked else "",  # type: ignore[call-overload]
    )
