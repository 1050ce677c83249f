"""The Redis store's connections: lent out for one command, or one batch, at a time.

redis-py's ``Connection`` does everything on the wire (connect, TLS, AUTH,
SELECT, packing, hiredis parsing, socket timeouts, closing itself on a socket
error); this pool only lends them out. It stands in for redis-py's
``Redis.execute_command`` and ``BlockingConnectionPool`` because every request
sends its session command through here, and that path costs a worker about 80 µs
of CPU per command against 53 µs through this one (retry wrapper, observability
hooks, response callbacks, a pure-Python LIFO queue): see docs/benchmarks.md.

At most ``size`` connections exist per process; a borrower waits up to ``wait``
seconds for one, then gets redis-py's ``ConnectionError("No connection
available.")``, as with ``BlockingConnectionPool``. A process made by ``fork``
never uses its parent's sockets.
"""

from __future__ import annotations

import os
import queue
import weakref
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redis.connection import ConnectionPool

#: A redis-py ``Connection`` (its methods carry no type hints, so it is ``Any`` here).
AbstractConnection = Any

#: One command as sent: its name, then its arguments.
Command = Sequence[str | int | float]


class RedisConnections:
    """Lends redis-py connections built by ``factory`` (which parsed the URL and options)."""

    def __init__(
        self,
        factory: ConnectionPool,
        size: int,
        wait: float | None,
        no_connection: type[Exception],
        response_error: type[Exception],
    ) -> None:
        self.factory = factory
        self.size = size
        self._wait = wait
        self._no_connection = no_connection
        self._response_error = response_error
        self._reset()
        # A forked child starts afresh at once, while it still has one thread (CPython
        # runs these hooks for every fork, including one made by C code through
        # PyOS_AfterFork_Child). The parent's sockets stay the parent's: dropping them
        # closes only the child's copies (redis-py shuts a socket down only in its owner).
        this = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _reset_if_alive(this))

    def _reset(self) -> None:
        # Most recently used first (a warm socket); the queue holds one permit per
        # connection that may exist. SimpleQueue is C code: no Python-level lock.
        self._idle: list[AbstractConnection] = []
        self._permits: queue.SimpleQueue[None] = queue.SimpleQueue()
        for _ in range(self.size):
            self._permits.put(None)

    def _borrow(self) -> AbstractConnection:
        try:
            self._permits.get(timeout=self._wait)
        except queue.Empty:
            raise self._no_connection("No connection available.") from None
        try:
            conn = self._ready_connection()
            if not conn.is_connected:
                # Connect through ``connect`` (sending would connect by itself, but
                # straight to the connection's host and port: a Sentinel-managed one
                # asks the Sentinels for the master's address only in ``connect``).
                conn.connect()
            return conn
        except BaseException:
            self._permits.put(None)
            raise

    def _ready_connection(self) -> AbstractConnection:
        """An idle connection fit to send on, or a new one (not yet connected)."""
        try:
            conn = self._idle.pop()
        except IndexError:
            factory = self.factory
            return factory.connection_class(**factory.connection_kwargs)
        # Readable while idle means the server closed it (a restart, its idle timeout)
        # or sent something unasked; redis-py reports the first as an error. Either
        # way start afresh rather than read a stale reply: it is connected again.
        # (``can_read`` would connect a closed one: skip it then, or an outage would
        # cost two connect timeouts. ``is_connected`` is redis-py's public property;
        # tests/test_redis_connections.py fails if a redis-py version drops it.)
        try:
            stale = conn.is_connected and conn.can_read()
        except Exception:
            stale = True
        except BaseException:
            self._idle.append(conn)
            raise
        if stale:
            conn.disconnect()
        return conn

    def _give_back(self, conn: AbstractConnection) -> None:
        self._idle.append(conn)
        self._permits.put(None)

    def command(self, *args: str | int | float) -> Any:
        """Send one command and answer its reply (an error reply raises, as in redis-py).

        Replies are as redis-py's connection parses them, without its per-command
        callbacks: ``HGETALL`` answers a dict in RESP3 and a flat list in RESP2.
        """
        conn = self._borrow()
        try:
            conn.send_command(*args)
            # On a socket error or timeout the connection closes itself (asked for
            # explicitly: Sentinel's connection class would otherwise keep it open,
            # and a late reply would answer the next command); it reconnects on next
            # use. An error reply leaves it clean.
            return conn.read_response(disconnect_on_error=True)
        finally:
            self._give_back(conn)

    def batch(self, commands: Sequence[Command]) -> list[Any]:
        """Send ``commands`` in one write and read every reply: one round trip.

        Error replies come back in the list as exceptions (the others still count);
        a socket error raises.
        """
        conn = self._borrow()
        try:
            conn.send_packed_command(conn.pack_commands(commands))
            replies: list[Any] = []
            for _ in commands:
                try:
                    replies.append(conn.read_response(disconnect_on_error=True))
                except self._response_error as err:
                    replies.append(err)
            return replies
        finally:
            self._give_back(conn)

    def pinned(self, key: str, commands: Sequence[Command]) -> list[Any]:
        """:meth:`batch`: one server holds every key, so any connection is ``key``'s."""
        return self.batch(commands)

    def scan(self, match: str) -> Iterator[str]:
        """Every key matching ``match`` (SCAN: for operators, never the hot path)."""
        cursor: Any = "0"
        while True:
            cursor, names = self.command("SCAN", cursor, "MATCH", match, "COUNT", 1000)
            yield from names
            if str(cursor) == "0":
                return

    def close(self) -> None:
        """Close the idle connections; each reconnects on its next use."""
        for conn in list(self._idle):
            conn.disconnect()


def _reset_if_alive(ref: weakref.ref[RedisConnections]) -> None:
    connections = ref()
    if connections is not None:
        connections._reset()
