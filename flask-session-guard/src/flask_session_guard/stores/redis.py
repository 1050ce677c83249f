"""``redis://``, ``rediss://``, ``unix://``: sessions shared by every app server.

One Redis hash per session under ``SESSION_REDIS_PREFIX`` + the store key. Its
metadata fields have one-letter names (``c`` created, ``l`` last activity, ``a``
absolute end, ``e`` expiry, ``s`` CSRF secret, ``u`` authenticated, ``n`` account,
``v`` device, ``p`` IP, ``r`` revoked) and each user-data key is its own field
``d:NAME``, so writes are per key. Each account has a sorted set
``PREFIX + "account:" + ACCOUNT`` of its session keys scored by their absolute
end; listing checks each member's hash and drops the ones that are gone. One more
sorted set, ``PREFIX + "index:live"``, holds every live session's key scored by its
expiry, for the O(1) live count (see ``count_live``). The key's Redis
expiry follows the record's ``expires_at``: an idle session disappears on its own,
even when no app server runs, and nothing needs purging. The expiry is set as a
time to live counted from the caller's ``now`` (PEXPIRE, not PEXPIREAT), so it
follows the injected clock and does not depend on the Redis host's clock. Expiry
is also checked against ``now`` on every read and write, so the idle timeout and
the absolute lifetime hold exactly whatever Redis's own timer does.

Every operation is one round trip except :meth:`RedisSessionStore.update_value`
(a read, then a check-and-set script: two). Writes go through Lua scripts that
check the session is still alive first, so a late write never resurrects it.

Driver errors that mean "Redis is away" (refused, timed out, loading, read-only
replica, out of memory) become :class:`StoreUnavailable`; the store logs one
warning when that starts and one line when Redis answers again.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from ..settings import ConfigError, RedisSettings
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
from .redis_connections import Command, RedisConnections
from .redis_policy import EvictionWatch

log = logging.getLogger(__name__)

_DATA = "d:"
#: Sessions whose last read activity stamp a process remembers (about 100 bytes each).
_SEEN_ACTIVITY_MAX = 10_000
#: Concurrent writers of one key retry a check-and-set; this many misses in a row
#: means something is badly wrong, and the request is answered 503 instead.
UPDATE_ATTEMPTS = 50
#: Entries of the live index looked at per round trip when counting.
_RECOUNT_BATCH = 1000

# Times travel as Python's shortest exact float text (``repr``): Lua's own
# number-to-text conversion keeps only 14 digits, which would round timestamps.

#: KEYS[1] session; ARGV: now, refresh interval ('' = none), now + idle timeout.
#: The live hash as a flat list (stamped when due), or {} when absent or expired.
_GET = """
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then return h end
local e, l, a, r
for i = 1, #h, 2 do
  local f = h[i]
  if f == 'e' then e = i + 1 elseif f == 'l' then l = i + 1 elseif f == 'a' then a = i + 1
  elseif f == 'r' then r = true end
end
local now = tonumber(ARGV[1])
if not (e and l and a) or tonumber(h[e]) <= now then
  redis.call('DEL', KEYS[1])
  return {}
end
if not r and ARGV[2] ~= '' and now - tonumber(h[l]) >= tonumber(ARGV[2]) then
  local expires = ARGV[3]
  if tonumber(expires) > tonumber(h[a]) then expires = h[a] end
  h[l] = ARGV[1]
  h[e] = expires
  redis.call('HSET', KEYS[1], 'l', ARGV[1], 'e', expires)
  redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil((tonumber(expires) - now) * 1000)))
end
return h
"""

#: KEYS[1] session; ARGV: ttl ms, then field, value pairs. 1 if made, 0 if taken.
_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""

#: KEYS[1] session; ARGV: now, last activity ('' = no touch), expires at, ttl ms,
#: then (op, field, value) triples with op 's' (set) or 'd' (delete).
#: 1 if written, 0 (nothing written) when the session is gone, revoked or expired.
_UPDATE = """
local m = redis.call('HMGET', KEYS[1], 'e', 'r')
if not m[1] or m[2] or tonumber(m[1]) <= tonumber(ARGV[1]) then return 0 end
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[1], 'l', ARGV[2], 'e', ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
for i = 5, #ARGV, 3 do
  if ARGV[i] == 's' then
    redis.call('HSET', KEYS[1], ARGV[i + 1], ARGV[i + 2])
  else
    redis.call('HDEL', KEYS[1], ARGV[i + 1])
  end
end
return 1
"""

#: KEYS[1] session; ARGV: now, field, '1' if an old value was read, old value,
#: op ('s' or 'd'), new value. 1 written; 0 the field changed meanwhile; -1 gone.
_CHECK_AND_SET = """
local m = redis.call('HMGET', KEYS[1], 'e', 'r')
if not m[1] or m[2] or tonumber(m[1]) <= tonumber(ARGV[1]) then return -1 end
local current = redis.call('HGET', KEYS[1], ARGV[2])
if ARGV[3] == '1' then
  if current ~= ARGV[4] then return 0 end
elseif current then
  return 0
end
if ARGV[5] == 's' then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[6])
else
  redis.call('HDEL', KEYS[1], ARGV[2])
end
return 1
"""

#: KEYS[1] session; ARGV: now, reason ('1' for a plain revocation). 1 if a live
#: session was marked revoked, else 0.
_REVOKE = """
local m = redis.call('HMGET', KEYS[1], 'e', 'r')
if not m[1] or m[2] or tonumber(m[1]) <= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'r', ARGV[2])
return 1
"""


@dataclass(frozen=True)
class _Script:
    """A Lua script and the SHA-1 digest that EVALSHA runs it by."""

    source: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha", hashlib.sha1(self.source.encode()).hexdigest())


_GET_SCRIPT = _Script(_GET)
_CREATE_SCRIPT = _Script(_CREATE)
_UPDATE_SCRIPT = _Script(_UPDATE)
_CAS_SCRIPT = _Script(_CHECK_AND_SET)
_REVOKE_SCRIPT = _Script(_REVOKE)
_SCRIPTS = (_GET_SCRIPT, _CREATE_SCRIPT, _UPDATE_SCRIPT, _CAS_SCRIPT, _REVOKE_SCRIPT)

#: Error replies that mean the server cannot serve now, not that we asked wrongly.
_OUTAGE_REPLIES = ("MISCONF", "LOADING", "MASTERDOWN", "NOREPLICAS", "CLUSTERDOWN", "TRYAGAIN")


def _import_driver() -> ModuleType:
    try:
        return importlib.import_module("redis")
    except ImportError:
        raise ConfigError(
            "SESSION_STORE_URL asks for Redis but redis-py is not installed:"
            " pip install 'indian-dashboard[redis]'"
        ) from None


def _without_maintenance_notifications() -> dict[str, Any]:
    """redis-py 8's option that turns off maintenance notifications, where it has one.

    They are handled by redis-py's own pool, which RedisConnections replaces: left on,
    a notification would sit unread on an idle connection (which RedisConnections
    then drops as stale) and the connections would not move with a migrating node.
    """
    try:
        config = importlib.import_module("redis.maint_notifications").MaintNotificationsConfig
    except (ImportError, AttributeError):
        return {}  # redis-py before 8: no such notifications
    return {"maint_notifications_config": config(enabled=False)}


def _ttl_ms(expires_at: float, now: float) -> int:
    """Milliseconds from ``now`` to ``expires_at``, at least 1 (0 would not set a TTL)."""
    return max(1, math.ceil((expires_at - now) * 1000))


class RedisSessionStore:
    """Sessions in Redis, shared by threads, processes and machines.

    The client's pool is fork-safe (redis-py opens new connections in a child), so
    one store built before gunicorn forks serves every worker.
    """

    def __init__(self, connections: RedisConnections, *, prefix: str = "session:") -> None:
        driver = _import_driver()
        exc = driver.exceptions
        self._connections = connections
        self._command = connections.command
        self._prefix = prefix
        self._outage_errors: tuple[type[Exception], ...] = (
            exc.ConnectionError,  # also refused, auth, loading, no free pooled connection
            exc.TimeoutError,
            exc.ReadOnlyError,  # a replica after a failover
            exc.OutOfMemoryError,
        )
        self._response_error: type[Exception] = exc.ResponseError
        # EVALSHA runs each script by its digest and loads it once on NOSCRIPT (a new
        # or restarted server).
        self._no_script: type[Exception] = exc.NoScriptError
        self._outages = OutageLog(log)
        #: Redis's eviction policy, and account listings that stay complete under it.
        self._evictions = EvictionWatch(
            connections, prefix, exc.ResponseError, (exc.ConnectionError, exc.TimeoutError)
        )
        #: ``with self._translate:`` turns "Redis is away" into StoreUnavailable.
        self._translate = StoreGuard(self._outages, self._outage_reason)
        #: Session key -> a ``last_activity`` this process has read. Activity stamps
        #: only move forward, so it is a lower bound of the stored one: while it is
        #: younger than the refresh interval, no refresh can be due and a read needs
        #: no script. Bounded; a missing or stale entry only costs the script.
        self._seen_activity: dict[str, float] = {}

    @classmethod
    def from_url(
        cls, url: str, *, instance_path: str, redis: RedisSettings | None = None
    ) -> RedisSessionStore:
        """``redis://[:PASSWORD@]HOST:PORT/DB``, ``rediss://...`` (TLS), ``unix:///PATH?db=N``.

        Pool size, socket and connect timeouts come from ``redis`` (the
        ``SESSION_REDIS_*`` settings). The scripts are loaded now if Redis answers;
        if it does not, one warning is logged and requests answer 503 until it does.
        """
        driver = _import_driver()
        options = redis or RedisSettings.from_config({})
        # No retries inside redis-py: a timed-out request answers 503 after one
        # socket timeout instead of several, and a write is never sent twice.
        no_retry = driver.retry.Retry(driver.backoff.NoBackoff(), 0)
        # redis-py parses the URL (TLS, AUTH, database, unix socket) into the
        # connection settings; RedisConnections lends the connections out.
        factory = driver.ConnectionPool.from_url(
            url,
            max_connections=options.pool_size,
            socket_timeout=options.socket_timeout,
            socket_connect_timeout=options.connect_timeout,
            retry=no_retry,
            decode_responses=True,
            **_without_maintenance_notifications(),
        )
        connections = RedisConnections(
            factory,
            options.pool_size,
            options.socket_timeout,  # waiting for a free pooled connection
            driver.exceptions.ConnectionError,
            driver.exceptions.ResponseError,
        )
        store = cls(connections, prefix=options.prefix)
        # Not fatal: Redis may come up after the app. Requests answer 503 until then.
        if store.prepare():
            store._evictions.check_policy()  # logs loudly if Redis may evict sessions
        return store

    # -- outages ------------------------------------------------------------------------

    def _outage_reason(self, err: BaseException) -> str | None:
        """Why ``err`` means "Redis is away", or ``None`` if it does not."""
        if isinstance(err, self._outage_errors):
            return _describe(err)
        if isinstance(err, self._response_error) and str(err).startswith(_OUTAGE_REPLIES):
            return _describe(err)
        return None

    def prepare(self) -> bool:
        """Load the scripts into Redis (one round trip); False if Redis does not answer.

        Called at start-up so that the first requests find their scripts; a server
        that restarts empty gets them again on first use (EVALSHA, NOSCRIPT, load).
        """
        try:
            with self._translate:
                self._batch([("SCRIPT", "LOAD", script.source) for script in _SCRIPTS])
        except StoreUnavailable:
            return False
        return True

    def _batch(self, commands: Sequence[Command], script: _Script | None = None) -> list[Any]:
        """Several commands in one round trip; the first error reply raises.

        When the first command runs ``script`` and the server lacks it (NOSCRIPT), the
        script is loaded and the whole batch sent again: the others must be idempotent.
        """
        replies = self._connections.batch(commands)
        if script is not None and isinstance(replies[0], self._no_script):
            self._command("SCRIPT", "LOAD", script.source)
            replies = self._connections.batch(commands)
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return replies

    def _run(self, script: _Script, key: str, args: list[str]) -> Any:
        """EVALSHA ``script`` on one key; on NOSCRIPT (a new or emptied server) load it, retry."""
        try:
            return self._command("EVALSHA", script.sha, 1, key, *args)
        except self._no_script:
            self._command("SCRIPT", "LOAD", script.source)
            return self._command("EVALSHA", script.sha, 1, key, *args)

    # -- the store interface ---------------------------------------------------------

    def _name(self, key: str) -> str:
        return self._prefix + key

    @property
    def _live_index(self) -> str:
        # Has a ':' as the account indexes do, so no session key (no ':') can clash.
        return self._prefix + "index:live"

    def get(self, key: str, now: float, refresh: Refresh | None = None) -> SessionRecord | None:
        name = self._name(key)
        if refresh is not None:
            seen = self._seen_activity.get(key)
            # (A stamp in this server's future proves nothing: a clock stepped back.)
            if seen is not None and 0 <= now - seen < refresh.interval:
                # Not due (see ``_seen_activity``): a plain HGETALL is the same read,
                # without running a script in Redis.
                refresh = None
        with self._translate:
            if refresh is None:
                flat: Any = self._command("HGETALL", name)
            else:
                flat = self._run(
                    _GET_SCRIPT,
                    name,
                    [repr(now), repr(refresh.interval), repr(now + refresh.idle_timeout)],
                )
        record = _record(key, _pairs(flat))
        if record is None:
            return None
        if record.expires_at <= now:
            # Only reachable without a script (refresh None): the script deletes itself.
            self.delete(key)
            return None
        if len(self._seen_activity) >= _SEEN_ACTIVITY_MAX:
            self._seen_activity.clear()
        self._seen_activity[key] = record.last_activity
        return record

    def create(self, record: SessionRecord) -> None:
        args: list[str] = [
            str(_ttl_ms(record.expires_at, record.last_activity)),
            "c",
            repr(record.created_at),
            "l",
            repr(record.last_activity),
            "a",
            repr(record.absolute_at),
            "e",
            repr(record.expires_at),
            "s",
            record.csrf_secret,
            "u",
            "1" if record.authenticated else "0",
            "v",
            record.device,
            "p",
            record.ip,
        ]
        if record.account is not None:
            args += ["n", record.account]
        if record.revoked:
            args += ["r", _revoked_mark(record.revoked_reason)]
        for data_name, value in record.data.items():
            args += [_DATA + data_name, value]
        with self._translate:
            if record.account is None:
                commands: list[Command] = [
                    ("EVALSHA", _CREATE_SCRIPT.sha, 1, self._name(record.key), *args),
                    *self._count_entry(record),
                ]
                made = self._batch(commands, _CREATE_SCRIPT)[0]
            else:
                # Session and index sit in different keys (and Cluster slots): one
                # pipelined round trip, not one script. An index entry whose session
                # was not made is dropped by the next listing.
                made = self._create_indexed(record, args)
        if not made:
            raise SessionExists("session key already taken")

    def _create_indexed(self, record: SessionRecord, args: list[str]) -> Any:
        assert record.account is not None
        index = self._index(record.account)
        ttl = _ttl_ms(record.absolute_at, record.created_at)
        commands: list[Command] = [
            ("EVALSHA", _CREATE_SCRIPT.sha, 1, self._name(record.key), *args),
            ("ZADD", index, repr(record.absolute_at), record.key),
            ("PEXPIRE", index, ttl, "NX"),
            ("PEXPIRE", index, ttl, "GT"),
            *self._count_entry(record),
        ]
        # ZADD and PEXPIRE NX/GT change nothing when sent again.
        return self._batch(commands, _CREATE_SCRIPT)[0]

    def update(
        self,
        key: str,
        now: float,
        changes: Mapping[str, Change],
        touch: Touch | None = None,
    ) -> bool:
        args: list[str] = [repr(now)]
        if touch is None:
            args += ["", "", ""]
        else:
            args += [
                repr(touch.last_activity),
                repr(touch.expires_at),
                str(_ttl_ms(touch.expires_at, now)),
            ]
        for data_name, value in changes.items():
            args += (
                ["d", _DATA + data_name, ""] if value is None else ["s", _DATA + data_name, value]
            )
        with self._translate:
            written = self._run(_UPDATE_SCRIPT, self._name(key), args)
        return bool(written)

    def update_value(
        self, key: str, name: str, now: float, fn: Callable[[str | None], Change]
    ) -> Change:
        redis_key, field = self._name(key), _DATA + name
        for _ in range(UPDATE_ATTEMPTS):
            with self._translate:
                reply: list[str | None] = self._command("HMGET", redis_key, "e", field)
            expires: str | None = reply[0]
            old: str | None = reply[1]
            if expires is None or float(expires) <= now:
                raise SessionGone
            value = fn(old)
            args = [
                repr(now),
                field,
                "0" if old is None else "1",
                old or "",
                "d" if value is None else "s",
                value or "",
            ]
            with self._translate:
                outcome = self._run(_CAS_SCRIPT, redis_key, args)
            if outcome == 1:
                return value
            if outcome == -1:
                raise SessionGone
            # Another request changed this key since we read it: read again.
        raise StoreUnavailable("too many concurrent updates of one session key")

    def delete(self, key: str) -> None:
        with self._translate:
            self._batch([("DEL", self._name(key)), ("ZREM", self._live_index, key)])

    def revoke(self, key: str, now: float, reason: str = "revoked") -> bool:
        commands: list[Command] = [
            ("EVALSHA", _REVOKE_SCRIPT.sha, 1, self._name(key), repr(now), _revoked_mark(reason)),
            ("ZREM", self._live_index, key),  # a revoked session is not live
        ]
        with self._translate:
            return bool(self._batch(commands, _REVOKE_SCRIPT)[0])

    # -- the live count: a sorted set of session keys scored by their expiry ----------
    #
    # Written at creation and cleared at delete or revoke, in the same round trip; a
    # touch does not update it (that would cost every refresh a write). So an entry's
    # score is the expiry the session had when it was last scored: count_live looks
    # only at entries whose score has passed, scores again the ones a touch kept alive
    # and drops the others. Each live session is looked at about once per idle
    # timeout, whatever the scrape rate; a count never scans every session.

    def _count_entry(self, record: SessionRecord) -> list[Command]:
        """The live index's entry for a new record (none for one made revoked)."""
        if record.revoked:
            return []
        return [("ZADD", self._live_index, repr(record.expires_at), record.key)]

    def count_live(self, now: float) -> int:
        index = self._live_index
        with self._translate:
            while True:
                due: list[str] = self._command(
                    "ZRANGE", index, "-inf", repr(now), "BYSCORE", "LIMIT", 0, _RECOUNT_BATCH
                )
                if due:
                    fields = self._batch([("HMGET", self._name(k), "e", "r") for k in due])
                    commands: list[Command] = []
                    gone = []
                    for key, (expires, revoked) in zip(due, fields, strict=True):
                        if expires is not None and revoked is None and float(expires) > now:
                            commands.append(("ZADD", index, "XX", expires, key))
                        else:
                            gone.append(key)
                    if gone:
                        commands.append(("ZREM", index, *gone))
                    self._batch(commands)
                if len(due) < _RECOUNT_BATCH:
                    return int(self._command("ZCARD", index))

    def _index(self, account: str) -> str:
        return f"{self._prefix}account:{account}"

    def list_sessions(
        self, now: float, account: str | None = None, limit: int | None = None
    ) -> list[SessionRecord]:
        with self._translate:
            if account is None:
                keys = list(self._session_keys())
            else:
                index = self._index(account)
                # Entries past their absolute end can go at once; idle-expired,
                # deleted or revoked ones are found below by their hash.
                keys = self._batch(
                    [("ZREMRANGEBYSCORE", index, "-inf", repr(now)), ("ZRANGE", index, 0, -1)]
                )[1]
                keys = self._evictions.complete(keys, account, self._session_keys)
            hashes = self._batch([("HGETALL", self._name(key)) for key in keys]) if keys else []
            records = [_record(k, _pairs(h)) for k, h in zip(keys, hashes, strict=True)]
            live = [r for r in records if r is not None and r.live(now)]
            dead = [k for k, r in zip(keys, records, strict=True) if r is None or not r.live(now)]
            if account is not None and dead:
                self._command("ZREM", self._index(account), *dead)
        live.sort(key=lambda r: r.created_at, reverse=True)
        return live if limit is None else live[:limit]

    def _session_keys(self) -> Iterator[str]:
        """Every session key (SCAN: for operators and the live gauge, not the hot path)."""
        start = len(self._prefix)
        cursor = "0"
        while True:
            cursor, names = self._command(
                "SCAN", cursor, "MATCH", self._prefix + "*", "COUNT", 1000
            )
            for name in names:
                key = name[start:]
                if ":" not in key:  # index keys are PREFIX + "account:" + ACCOUNT
                    yield key
            if cursor == "0":
                return

    def purge_expired(self, now: float) -> int:
        """Nothing to do: Redis removes expired keys itself."""
        return 0

    def ping(self) -> None:
        """``PING``: one round trip, no key touched."""
        with self._translate:
            self._command("PING")

    def close(self) -> None:
        """Close pooled connections; new ones are opened on next use."""
        self._connections.close()


def _pairs(reply: Mapping[str, str] | Sequence[str]) -> Mapping[str, str]:
    """A hash's fields from HGETALL's reply: a map in RESP3 (redis-py 8's default), or
    a flat list (field, value, field, value, ...) in RESP2 and from a script."""
    if isinstance(reply, Mapping):
        return reply
    it = iter(reply)
    return dict(zip(it, it, strict=True))


def _record(key: str, fields: Mapping[str, str]) -> SessionRecord | None:
    """The record in a hash's fields, or ``None`` for an absent or partial hash."""
    try:
        return SessionRecord(
            key=key,
            created_at=float(fields["c"]),
            last_activity=float(fields["l"]),
            absolute_at=float(fields["a"]),
            expires_at=float(fields["e"]),
            csrf_secret=fields["s"],
            authenticated=fields["u"] == "1",
            data={f[len(_DATA) :]: v for f, v in fields.items() if f.startswith(_DATA)},
            account=fields.get("n"),
            device=fields.get("v", ""),
            ip=fields.get("p", ""),
            revoked="r" in fields,
            revoked_reason=_revoked_reason(fields.get("r")),
        )
    except (KeyError, ValueError):
        # A hash without our metadata (e.g. only a stray data field) is no session.
        return None


def _revoked_mark(reason: str) -> str:
    """The ``r`` field for ``reason``: ``1`` for a plain revocation (as stored before
    reasons were kept), else the reason's name."""
    return "1" if reason in ("", "revoked") else reason


def _revoked_reason(mark: str | None) -> str:
    """The ``r`` field: absent (live), ``1`` (revoked) or another reason's name."""
    if mark is None:
        return ""
    return "revoked" if mark == "1" else mark


def _describe(err: Exception) -> str:
    """The failure in one short line: its kind and the server's or socket's reason.

    Driver messages name the address, never a key; replies keep only their code.
    """
    text = str(err).splitlines()[0] if str(err) else ""
    if text and text.split()[0].isupper() and not text.startswith("Error"):
        text = text.split()[0]
    return f"redis {type(err).__name__}" + (f": {text[:160]}" if text else "")
