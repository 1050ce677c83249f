"""Redis (one server, Sentinel or Cluster; see :mod:`.redis_urls`): sessions shared
by every app server.

One Redis hash per session, ``PREFIX{KEY}`` (``SESSION_REDIS_PREFIX``, then the
store key as the hash tag, so a session's keys share one Cluster slot). Its
metadata fields have one-letter names (``c`` created, ``l`` last activity, ``a``
absolute end, ``e`` expiry, ``s`` CSRF secret, ``u`` authenticated, ``n`` account,
``v`` device, ``p`` IP, ``r`` revoked) and each user-data key is its own field
``d:NAME``, so writes are per key. Each account has a sorted set
``PREFIX + "account:{" + ACCOUNT + "}"`` (the account's own slot) of its session
keys scored by their absolute end; listing checks each member's hash and drops
the ones that are gone. One more sorted set, ``PREFIX + "index:live"``, holds
every live session's key scored by its expiry, for the O(1) live count (see
``count_live``; in a Cluster it is one more slot, written beside the session's
own, not atomically with it). The key's Redis
expiry follows the record's ``expires_at``: an idle session disappears on its own,
even when no app server runs, and nothing needs purging. The expiry is set as a
time to live counted from the caller's ``now`` (PEXPIRE, not PEXPIREAT), so it
follows the injected clock and does not depend on the Redis host's clock. Expiry
is also checked against ``now`` on every read and write, so the idle timeout and
the absolute lifetime hold exactly whatever Redis's own timer does.

Every operation is one round trip except :meth:`RedisSessionStore.update_value`
(a read, then a check-and-set script: two). Writes go through Lua scripts
(:mod:`.redis_scripts`, each on one key) that check the session is still alive
first, so a late write never resurrects it. With ``SESSION_REDIS_MIN_REPLICAS``
a login, logout or data write carries a ``WAIT`` in its own round trip.

Driver errors that mean "Redis is away" (refused, timed out, loading, read-only
replica, out of memory, a cluster mid-failover) become :class:`StoreUnavailable`;
the store logs one warning when that starts and one line when Redis answers again.
"""

from __future__ import annotations

import importlib
import logging
import math
import ssl
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import ModuleType
from typing import Any

from ..settings import ConfigError, RedisSettings
from . import redis_scripts as scripts
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
from .redis_cluster import ClusterCommands
from .redis_connections import Command, RedisConnections
from .redis_policy import EvictionWatch
from .redis_scripts import Script
from .redis_urls import RedisTarget, parse_redis_url

log = logging.getLogger(__name__)

_DATA = "d:"
#: Sessions whose last read activity stamp a process remembers (about 100 bytes each).
_SEEN_ACTIVITY_MAX = 10_000
#: Concurrent writers of one key retry a check-and-set; this many misses in a row
#: means something is badly wrong, and the request is answered 503 instead.
UPDATE_ATTEMPTS = 50
#: Entries of the live index looked at per round trip when counting.
_RECOUNT_BATCH = 1000

#: Error replies that mean the server cannot serve now, not that we asked wrongly.
_OUTAGE_REPLIES = ("MISCONF", "LOADING", "MASTERDOWN", "NOREPLICAS", "CLUSTERDOWN", "TRYAGAIN")


def _import_driver() -> ModuleType:
    try:
        return importlib.import_module("redis")
    except ImportError:
        raise ConfigError(
            "SESSION_STORE_URL asks for Redis but redis-py is not installed:"
            " pip install 'flask-session-guard[redis]'"
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


#: What the store sends its commands through: RedisConnections (one server, or the
#: master a Sentinel names) or ClusterCommands (a Redis Cluster).
Commands = RedisConnections | ClusterCommands


class RedisSessionStore:
    """Sessions in Redis, shared by threads, processes and machines.

    The client's pool is fork-safe (redis-py opens new connections in a child), so
    one store built before gunicorn forks serves every worker.
    """

    def __init__(
        self,
        connections: Commands,
        *,
        prefix: str = "session:",
        min_replicas: int = 0,
        wait_timeout: float = 0.5,
    ) -> None:
        driver = _import_driver()
        exc = driver.exceptions
        self._connections = connections
        self._command = connections.command
        #: A Cluster spreads keys over nodes: a WAIT must follow its write on the
        #: write's own node, and scripts are loaded on every master.
        self._cluster = isinstance(connections, ClusterCommands)
        self._prefix = prefix
        #: Replicas that must acknowledge a login, logout or data write (WAIT), and
        #: the milliseconds WAIT may take: a part of the socket timeout.
        self._min_replicas = min_replicas
        self._wait_ms = max(1, math.floor(wait_timeout * 1000))
        self._outage_errors: tuple[type[Exception], ...] = (
            exc.ConnectionError,  # also refused, auth, loading, no free pooled connection
            exc.TimeoutError,
            exc.ReadOnlyError,  # a replica after a failover
            exc.OutOfMemoryError,
            exc.ClusterError,  # CLUSTERDOWN, MASTERDOWN: a cluster mid-failover
            exc.TryAgainError,  # a multi-key command during a resharding
            exc.AskError,  # redirects that did not settle (ASK and MOVED)
            exc.RedisClusterException,  # no cluster node answers, a slot not covered
        )
        self._response_error: type[Exception] = exc.ResponseError
        # EVALSHA runs each script by its digest and loads it once on NOSCRIPT (a new
        # or restarted server, a promoted replica).
        self._no_script: type[Exception] = exc.NoScriptError
        self._auth_errors: tuple[type[Exception], ...] = (
            exc.AuthenticationError,
            exc.AuthenticationWrongNumberOfArgsError,
            exc.NoPermissionError,
        )
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
        """Any form of :mod:`.redis_urls`: one server, Sentinel or Cluster, TLS, ACL user.

        Pool size, socket and connect timeouts and the replicas to wait for come
        from ``redis`` (the ``SESSION_REDIS_*`` settings). The scripts are loaded now
        if Redis answers; if it does not, one warning is logged and requests answer
        503 until it does. A server that answers but refuses the TLS certificate, the
        user or the password stops start-up (:class:`ConfigError`).
        """
        driver = _import_driver()
        options = redis or RedisSettings.from_config({})
        target = parse_redis_url(url)
        if "{" in options.prefix or "}" in options.prefix:
            # The hash tag must be the session's own id, or every key shares one slot.
            raise ConfigError("SESSION_REDIS_PREFIX must not contain { or }")
        connections = _connect(driver, url, target, options)
        store = cls(
            connections,
            prefix=options.prefix,
            min_replicas=options.min_replicas,
            wait_timeout=options.socket_timeout / 2,
        )
        try:
            # Not fatal: Redis may come up after the app. Requests answer 503 until then.
            if store.prepare(strict=True):
                store._evictions.check_policy()  # logs loudly if Redis may evict sessions
        except BaseException:
            connections.close()
            raise
        return store

    # -- outages ------------------------------------------------------------------------

    def _outage_reason(self, err: BaseException) -> str | None:
        """Why ``err`` means "Redis is away", or ``None`` if it does not."""
        if isinstance(err, self._outage_errors):
            return _describe(err)
        if isinstance(err, self._response_error) and str(err).startswith(_OUTAGE_REPLIES):
            return _describe(err)
        return None

    def prepare(self, *, strict: bool = False) -> bool:
        """Load the scripts into Redis (one round trip); False if Redis does not answer.

        Called at start-up so that the first requests find their scripts; a server
        that restarts empty gets them again on first use (EVALSHA, NOSCRIPT, load).
        With ``strict``, a server that answers but refuses us (its TLS certificate
        not verified, a wrong user or password, a user without the rights) raises
        :class:`ConfigError`: that is a setting to fix, not an outage to wait out.
        """
        try:
            with self._translate:
                if self._cluster:  # SCRIPT LOAD goes to every master
                    for script in scripts.ALL:
                        self._command("SCRIPT", "LOAD", script.source)
                else:
                    self._batch([("SCRIPT", "LOAD", s.source) for s in scripts.ALL])
        except StoreUnavailable as err:
            refusal = self._refusal(err) if strict else None
            if refusal is not None:
                raise ConfigError(f"SESSION_STORE_URL: Redis {refusal}") from None
            return False
        except self._response_error as err:  # NOPERM, DENIED: replies, not outages
            if strict:
                raise ConfigError(f"SESSION_STORE_URL: Redis {_refused(err)}") from None
            raise
        return True

    def _refusal(self, err: BaseException) -> str | None:
        """What refused us in ``err``'s chain: TLS verification, or the credentials."""
        seen: BaseException | None = err
        while seen is not None:
            if isinstance(seen, ssl.SSLCertVerificationError):
                return f"TLS certificate not verified (check ssl_ca_certs): {seen.verify_message}"
            if isinstance(seen, ssl.SSLError):
                return f"TLS handshake failed: {seen.reason or seen}"
            if isinstance(seen, self._auth_errors):
                return _refused(seen)
            seen = seen.__cause__ or seen.__context__
        return None

    def _batch(
        self, commands: Sequence[Command], script: Script | None = None, pin: str | None = None
    ) -> list[Any]:
        """Several commands in one round trip; the first error reply raises.

        With ``pin`` (a key), every command goes over one connection to the node of
        that key (for WAIT). When the first command runs ``script`` and the server
        lacks it (NOSCRIPT), the script is loaded and the whole batch sent again: the
        others must be idempotent.
        """
        send = self._connections.batch if pin is None else self._pinned(pin)
        replies = send(commands)
        if script is not None and isinstance(replies[0], self._no_script):
            self._command("SCRIPT", "LOAD", script.source)
            replies = send(commands)
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return replies

    def _pinned(self, key: str) -> Callable[[Sequence[Command]], list[Any]]:
        pinned = self._connections.pinned
        return lambda commands: pinned(key, commands)

    def _run(self, script: Script, key: str, args: Sequence[str | int | float]) -> Any:
        """EVALSHA ``script`` on one key; on NOSCRIPT (a new or emptied server) load it, retry."""
        try:
            return self._command("EVALSHA", script.sha, 1, key, *args)
        except self._no_script:
            self._command("SCRIPT", "LOAD", script.source)
            return self._command("EVALSHA", script.sha, 1, key, *args)

    def _write(
        self,
        script: Script | None,
        key: str,
        args: Sequence[str | int | float],
        beside: Sequence[Command] = (),
    ) -> Any:
        """A write that matters to the user (a login, a logout, a data change), and
        ``beside`` it commands on other keys (the live index), in the same round trip.

        Without ``SESSION_REDIS_MIN_REPLICAS`` that is all. With it, ``WAIT`` follows
        on the same connection, in the same round trip, and fewer acknowledging
        replicas than asked within the wait is a 503. (In a Cluster ``beside`` sits
        in other slots: it goes in a pipeline of its own after the waited write.)
        """
        command: Command = args if script is None else ("EVALSHA", script.sha, 1, key, *args)
        if self._min_replicas == 0:
            if beside:
                return self._batch([command, *beside], script)[0]
            if script is None:
                return self._command(*args)
            return self._run(script, key, args)
        if not self._cluster:
            replies = self._batch([command, *beside, self._wait_command()], script, pin=key)
            self._check_replicas(replies[-1])
            return replies[0]
        replies = self._batch([command, self._wait_command()], script, pin=key)
        self._check_replicas(replies[-1])
        if beside:
            self._batch(beside)
        return replies[0]

    def _wait_command(self) -> Command:
        return ("WAIT", self._min_replicas, self._wait_ms)

    def _check_replicas(self, acknowledged: int) -> None:
        if acknowledged < self._min_replicas:
            # Written on the master, not yet safe from its loss: the client is told to
            # retry (every write here can be repeated without harm).
            raise self._outages.unavailable(
                f"redis WAIT: {acknowledged} of {self._min_replicas} replicas acknowledged"
                f" within {self._wait_ms} ms"
            )

    # -- the store interface ---------------------------------------------------------

    def _name(self, key: str) -> str:
        # The id is the hash tag: in a Cluster the slot is the session's own.
        return self._prefix + "{" + key + "}"

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
                    scripts.GET,
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
                made = self._write(
                    scripts.CREATE, self._name(record.key), args, self._count_entry(record)
                )
            else:
                # Session and index sit in different keys (and Cluster slots): one
                # pipelined round trip, not one script. An index entry whose session
                # was not made is dropped by the next listing.
                made = self._create_indexed(record, args)
        if not made:
            raise SessionExists("session key already taken")

    def _create_indexed(self, record: SessionRecord, args: list[str]) -> Any:
        assert record.account is not None
        name, index = self._name(record.key), self._index(record.account)
        ttl = _ttl_ms(record.absolute_at, record.created_at)
        create: Command = ("EVALSHA", scripts.CREATE.sha, 1, name, *args)
        # ZADD and PEXPIRE NX/GT change nothing when sent again.
        indexing: list[Command] = [
            ("ZADD", index, repr(record.absolute_at), record.key),
            ("PEXPIRE", index, ttl, "NX"),
            ("PEXPIRE", index, ttl, "GT"),
        ]
        counting = self._count_entry(record)  # the live index: a slot of its own
        if self._min_replicas == 0:
            return self._batch([create, *indexing, *counting], scripts.CREATE)[0]
        wait = self._wait_command()
        if not self._cluster:  # one connection: one WAIT covers all
            replies = self._batch([create, *indexing, *counting, wait], scripts.CREATE, pin=name)
            self._check_replicas(replies[-1])
            return replies[0]
        # Two slots, so two nodes: each write waits on its own node.
        made = self._batch([create, wait], scripts.CREATE, pin=name)
        self._check_replicas(made[-1])
        self._check_replicas(self._batch([*indexing, wait], pin=index)[-1])
        if counting:
            self._batch(counting)
        return made[0]

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
            if changes:
                written = self._write(scripts.UPDATE, self._name(key), args)
            else:  # an activity stamp alone: losing it in a failover costs nothing
                written = self._run(scripts.UPDATE, self._name(key), args)
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
                outcome = self._write(scripts.CHECK_AND_SET, redis_key, args)
            if outcome == 1:
                return value
            if outcome == -1:
                raise SessionGone
            # Another request changed this key since we read it: read again.
        raise StoreUnavailable("too many concurrent updates of one session key")

    def delete(self, key: str) -> None:
        name = self._name(key)
        with self._translate:
            self._write(None, name, ("DEL", name), [("ZREM", self._live_index, key)])

    def revoke(self, key: str, now: float, reason: str = "revoked") -> bool:
        args = [repr(now), _revoked_mark(reason)]
        unlive: Command = ("ZREM", self._live_index, key)  # a revoked session is not live
        with self._translate:
            return bool(self._write(scripts.REVOKE, self._name(key), args, [unlive]))

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
        # The account is the hash tag: its index has a slot of its own, written
        # beside (not inside) the session's script.
        return self._prefix + "account:{" + account + "}"

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
        """Every session key (SCAN of every master: for operators and the live gauge,
        not the hot path). Index keys (``PREFIX`` + ``account:{...}``) do not match."""
        start = len(self._prefix) + 1
        for name in self._connections.scan(self._prefix + "{*"):
            if name.endswith("}"):
                yield name[start:-1]

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


def _connect(driver: ModuleType, url: str, target: RedisTarget, options: RedisSettings) -> Commands:
    """The commands object for ``target``: the fast path for one server and Sentinel,
    redis-py's cluster client for a Cluster."""
    # No retries inside redis-py: a timed-out request answers 503 after one
    # socket timeout instead of several, and a write is never sent twice.
    no_retry = driver.retry.Retry(driver.backoff.NoBackoff(), 0)
    timeouts: dict[str, Any] = {
        "socket_timeout": options.socket_timeout,
        "socket_connect_timeout": options.connect_timeout,
    }
    if target.kind == "cluster":
        # The first node as a URL: only then does redis-py build each node's pool with
        # ``connection_pool_class`` (the others are further startup nodes).
        (host, port), *others = target.nodes
        first = f"{'rediss' if target.tls else 'redis'}://{_url_host(host)}:{port}"
        nodes = [driver.cluster.ClusterNode(host, port) for host, port in others]

        wait = options.socket_timeout

        class pool_class(driver.BlockingConnectionPool):  # type: ignore[name-defined,misc]
            def __init__(self, **kwargs: Any) -> None:
                super().__init__(timeout=wait, **kwargs)

        def build() -> Any:
            # Redirects (MOVED, ASK) are followed inside; a failed node makes it
            # reload the slot table, and the request answers 503 (no retry).
            return driver.cluster.RedisCluster(
                url=first,
                startup_nodes=nodes,
                retry=no_retry,
                decode_responses=True,
                # Per node, as on one server: at most pool_size connections, and a
                # request waits up to the socket timeout for a free one.
                connection_pool_class=pool_class,
                max_connections=options.pool_size,
                **timeouts,
                **target.credentials(),
                **target.tls_options,  # TLS itself is the rediss:// of ``first``
            )

        return ClusterCommands(build, driver)
    common: dict[str, Any] = {
        "max_connections": options.pool_size,
        "retry": no_retry,
        "decode_responses": True,
        **timeouts,
        **_without_maintenance_notifications(),
    }
    if target.kind == "sentinel":
        assert target.service is not None
        sentinels = driver.sentinel.Sentinel(
            list(target.nodes),
            # The Sentinels' own connections: same timeouts and TLS, no credentials
            # (those in the URL are the master's).
            sentinel_kwargs={"retry": no_retry, **timeouts, **target.tls_kwargs()},
        )
        # Each new connection asks the Sentinels for the master's address, so after
        # a failover the next connection goes to the promoted replica; a connection
        # still open to a demoted master fails (READONLY) and reconnects.
        factory = driver.sentinel.SentinelConnectionPool(
            target.service,
            sentinels,
            db=target.db,
            **common,
            **target.credentials(),
            **target.tls_kwargs(),
        )
    else:
        # redis-py parses the URL (TLS, AUTH, database, unix socket) into the
        # connection settings; RedisConnections lends the connections out.
        factory = driver.ConnectionPool.from_url(url, **common)
    return RedisConnections(
        factory,
        options.pool_size,
        options.socket_timeout,  # waiting for a free pooled connection
        driver.exceptions.ConnectionError,
        driver.exceptions.ResponseError,
    )


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _refused(err: BaseException) -> str:
    """The server's refusal of our credentials or rights, in one line without secrets."""
    text = (str(err).splitlines()[0] if str(err) else type(err).__name__)[:160]
    exc = _import_driver().exceptions
    if isinstance(err, exc.NoPermissionError):
        return f"refused a command the store needs (grant the user's rights): {text}"
    if isinstance(err, (exc.AuthenticationError, exc.AuthenticationWrongNumberOfArgsError)):
        return f"refused the user or password in the URL: {text}"
    return f"refused the connection: {text}"  # e.g. DENIED: protected mode


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
