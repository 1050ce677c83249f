"""RedisConnections: the Redis store's own lending of redis-py connections (unit tests
against the private redis-server)."""

from __future__ import annotations

import inspect
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask_session_guard.stores.redis import RedisSessionStore
from flask_session_guard.stores.redis_connections import RedisConnections

from .redis_server import RedisServer


def _connections(
    url: str, size: int = 2, wait: float = 0.3, timeout: float = 2.0
) -> RedisConnections:
    factory = redis.ConnectionPool.from_url(
        url, socket_timeout=timeout, decode_responses=True, max_connections=size
    )
    return RedisConnections(
        factory, size, wait, redis.exceptions.ConnectionError, redis.exceptions.ResponseError
    )


def _wait_until_all_lent(conns: RedisConnections) -> None:
    """Until another thread holds every permit (it has started its command)."""
    deadline = time.monotonic() + 5
    while not conns._permits.empty():
        assert time.monotonic() < deadline, "the holding thread never borrowed"
        time.sleep(0.001)


@pytest.fixture
def conns(redis_url: str) -> Iterator[RedisConnections]:
    made = _connections(redis_url)
    yield made
    made.close()


def test_one_command_answers_its_reply(conns: RedisConnections) -> None:
    assert conns.command("SET", "k", "v") == "OK"
    assert conns.command("GET", "k") == "v"
    conns.command("HSET", "h", "a", "1", "b", "2")
    assert dict(conns.command("HGETALL", "h")) == {"a": "1", "b": "2"}


def test_a_connection_is_reused(conns: RedisConnections) -> None:
    first = conns.command("CLIENT", "ID")
    assert conns.command("CLIENT", "ID") == first


def test_error_reply_raises_and_leaves_the_connection_usable(conns: RedisConnections) -> None:
    conns.command("SET", "s", "text")
    before = conns.command("CLIENT", "ID")
    with pytest.raises(redis.exceptions.ResponseError, match="WRONGTYPE"):
        conns.command("HGET", "s", "f")
    assert conns.command("CLIENT", "ID") == before  # not reconnected
    with pytest.raises(redis.exceptions.NoScriptError):
        conns.command("EVALSHA", "0" * 40, 0)


def test_batch_is_one_write_and_keeps_error_replies_in_place(conns: RedisConnections) -> None:
    conns.command("SET", "s", "text")
    replies = conns.batch([("PING",), ("HGET", "s", "f"), ("GET", "s")])
    assert replies[0] == "PONG" and replies[2] == "text"
    assert isinstance(replies[1], redis.exceptions.ResponseError)
    # Every reply was read: the next command gets its own.
    assert conns.command("ECHO", "next") == "next"


def test_at_most_size_connections_and_a_bounded_wait(redis_url: str) -> None:
    conns = _connections(redis_url, size=1, wait=0.3)
    held = threading.Thread(target=conns.command, args=("BLPOP", "nothing", "1"))
    held.start()
    _wait_until_all_lent(conns)
    started = time.monotonic()
    with pytest.raises(redis.exceptions.ConnectionError, match="No connection available"):
        conns.command("PING")
    assert 0.25 < time.monotonic() - started < 0.9
    held.join()
    assert conns.command("PING") == "PONG"  # the permit came back
    conns.close()


def test_timed_out_reply_is_never_read_by_the_next_command(redis_url: str) -> None:
    """A reply that arrives after its command timed out must not answer the next one."""
    conns = _connections(redis_url, size=1, timeout=0.2)
    with pytest.raises(redis.exceptions.TimeoutError):
        conns.command("BLPOP", "nothing", "0.5")  # its (nil) comes after 0.5 s
    time.sleep(0.7)  # the late reply has arrived by now
    assert conns.command("ECHO", "mine") == "mine"
    conns.close()


def test_connection_closed_by_the_server_is_replaced(
    conns: RedisConnections, redis_server: RedisServer
) -> None:
    first = conns.command("CLIENT", "ID")
    redis_server.client().client_kill_filter(_id=first)
    (idle,) = conns._idle
    deadline = time.monotonic() + 5
    while True:  # until the server's close has arrived
        try:
            idle.can_read(timeout=0.05)
        except redis.exceptions.ConnectionError:
            break  # "closed by server": redis-py has dropped the socket
        assert time.monotonic() < deadline, "the server never closed the connection"
    second = conns.command("CLIENT", "ID")
    assert second != first


def test_a_forked_child_opens_its_own_connection(conns: RedisConnections) -> None:
    parent = conns.command("CLIENT", "ID")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        try:
            os.write(write, str(conns.command("CLIENT", "ID")).encode())
        finally:
            os._exit(0)
    os.close(write)
    child = int(os.read(read, 64).decode())
    os.close(read)
    os.waitpid(pid, 0)
    assert child != parent
    assert conns.command("CLIENT", "ID") == parent  # the parent's socket is untouched


def test_a_forked_child_starts_afresh_at_the_fork(redis_url: str) -> None:
    """Reset by an at-fork hook while the child has one thread, not by whichever of its
    threads borrows first; a connection the parent had lent out is not missed."""
    conns = _connections(redis_url, size=1, wait=0.3)
    held = threading.Thread(target=conns.command, args=("BLPOP", "nothing", "1"))
    held.start()
    _wait_until_all_lent(conns)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        try:
            fresh = conns._permits.qsize() == 1  # before any borrow
            answer = conns.command("PING")
            os.write(write, f"{fresh} {answer}".encode())
        finally:
            os._exit(0)
    os.close(write)
    report = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)
    held.join()
    assert report == "True PONG"
    conns.close()


def test_maintenance_notifications_are_off(redis_url: str, tmp_path: Path) -> None:
    """redis-py 8 handles them in its own pool, which the store does not use."""
    pytest.importorskip("redis.maint_notifications")
    store = RedisSessionStore.from_url(redis_url, instance_path=str(tmp_path))
    factory = store._connections.factory  # type: ignore[union-attr]
    conn = factory.connection_class(**factory.connection_kwargs)
    config = getattr(conn, "maint_notifications_config", None)
    assert config is None or config.enabled is False
    store.close()


def test_the_redis_py_api_this_pool_relies_on_is_public_and_there() -> None:
    """RedisConnections uses only these public names of redis-py's ``Connection``;
    a redis-py version that renames or drops one fails here, loudly, before a
    request does."""
    connection = redis.Connection
    assert isinstance(inspect.getattr_static(connection, "is_connected"), property)
    for name in ("connect", "can_read", "send_command", "send_packed_command", "pack_commands"):
        assert callable(getattr(connection, name)), name
    assert "disconnect_on_error" in inspect.signature(connection.read_response).parameters
    pool = redis.ConnectionPool(host="127.0.0.1", port=1)
    assert pool.connection_class is connection and isinstance(pool.connection_kwargs, dict)
    made = pool.connection_class(**pool.connection_kwargs)  # type: ignore[no-untyped-call]
    assert made.is_connected is False


def test_a_sentinel_connection_connects_through_the_sentinels(tmp_path: Path) -> None:
    """Sending on a Sentinel-managed connection would connect straight to its own
    host and port (here a closed port: a plain refusal); the pool calls ``connect``,
    which asks the Sentinels first (none answers: no master found)."""
    from redis.sentinel import Sentinel, SentinelConnectionPool

    sentinels = Sentinel([("127.0.0.1", 1)], sentinel_kwargs={"socket_connect_timeout": 0.2})  # type: ignore[no-untyped-call]
    factory = SentinelConnectionPool(  # type: ignore[no-untyped-call]
        "nosuch", sentinels, host="127.0.0.1", port=1, socket_connect_timeout=0.2
    )
    conns = RedisConnections(
        factory, 1, 0.2, redis.exceptions.ConnectionError, redis.exceptions.ResponseError
    )
    with pytest.raises(redis.sentinel.MasterNotFoundError):
        conns.command("PING")
