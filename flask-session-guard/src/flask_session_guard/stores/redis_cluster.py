"""The Redis store's commands on a Redis Cluster, through redis-py's ``RedisCluster``.

redis-py routes each command to the node that owns its key's slot, follows
``MOVED`` and ``ASK`` redirects (a resharding) and refreshes its slot table after
a node fails. This class gives the store the same four calls as
:class:`~.redis_connections.RedisConnections`: one command, a batch (a cluster
pipeline, split per node by redis-py), a batch pinned to one key's node (for
``WAIT``, which counts the writes of its own connection) and a scan of every master.

The client is built on first use, not at start-up, so that a cluster that is not
up yet makes requests answer 503 instead of stopping the app.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .redis_connections import Command

#: Redirects of one pinned batch followed before giving up (a resharding moves a
#: slot once; more means the table keeps changing, and the request answers 503).
PINNED_REDIRECTS = 3


class ClusterCommands:
    """Commands of the Redis store, sent through a ``RedisCluster`` built by ``build``."""

    def __init__(self, build: Callable[[], Any], driver: Any) -> None:
        self._build = build
        self._client: Any = None
        self._lock = threading.Lock()
        self._ask: type[Exception] = driver.exceptions.AskError
        self._moved: type[Exception] = driver.exceptions.MovedError

    @property
    def client(self) -> Any:
        """The ``RedisCluster`` (built now if it was not yet: raises if no node answers)."""
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._build()
                client = self._client
        return client

    def command(self, *args: str | int | float) -> Any:
        return self.client.execute_command(*args)

    def batch(self, commands: Sequence[Command]) -> list[Any]:
        """Every command in one cluster pipeline: one round trip per node involved.

        Error replies come back in the list as exceptions, as from
        ``RedisConnections.batch``.
        """
        pipe = self.client.pipeline(transaction=False)
        for args in commands:
            pipe.execute_command(*args)
        replies: list[Any] = pipe.execute(raise_on_error=False)
        return replies

    def pinned(self, key: str, commands: Sequence[Command]) -> list[Any]:
        """``commands`` (all on ``key``'s slot, or keyless like WAIT) in one write on one
        connection to the master of that slot.

        For a write followed by ``WAIT``: WAIT counts the replicas that have the
        writes of its own connection. A ``MOVED`` (the slot moved) refreshes the slot
        table and tries the new owner; an ``ASK`` (the slot is moving) sends the batch
        to the importing node after ``ASKING``.
        """
        cluster = self.client
        node = cluster.get_node_from_key(key)
        asking = False
        for _ in range(PINNED_REDIRECTS + 1):
            pipe = cluster.get_redis_connection(node).pipeline(transaction=False)
            for args in commands:
                if asking:  # ASKING lets only the next command through
                    pipe.execute_command("ASKING")
                pipe.execute_command(*args)
            replies: list[Any] = pipe.execute(raise_on_error=False)
            if asking:
                replies = replies[1::2]
            redirect: Any = next((r for r in replies if isinstance(r, self._ask)), None)
            if redirect is None:
                return replies
            if isinstance(redirect, self._moved):
                cluster.nodes_manager.initialize()
                node, asking = cluster.get_node_from_key(key), False
            else:
                node = cluster.get_node(host=redirect.host, port=redirect.port)
                asking = True
        raise redirect  # the slot kept moving: the store answers 503

    def scan(self, match: str) -> Iterator[str]:
        """Every key matching ``match`` on every master."""
        yield from self.client.scan_iter(match=match, count=1000)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()
