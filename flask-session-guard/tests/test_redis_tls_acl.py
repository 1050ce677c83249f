"""The Redis store over TLS (a redis-server with a test CA) and as an ACL user.

Real servers on free loopback ports: the store verifies the server's certificate,
a wrong CA stops start-up with one clear line, and so do a wrong password and a
user without the rights the store needs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
import redis
from flask_session_guard.settings import ConfigError
from flask_session_guard.stores import SessionRecord, open_store
from flask_session_guard.stores.redis import RedisSessionStore

from .redis_server import RedisServer, TlsFiles
from .redis_topology import make_ca, tls_files

pytestmark = pytest.mark.redis


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory, tls: TlsFiles) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("tls-redis"), tls=tls)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _tls_url(server: RedisServer, ca: Path, tls: TlsFiles, **extra: str) -> str:
    query = urlencode(
        {
            "ssl_ca_certs": str(ca),
            "ssl_certfile": str(tls.client_cert),
            "ssl_keyfile": str(tls.client_key),
            **extra,
        }
    )
    return f"rediss://127.0.0.1:{server.port}/0?{query}"


def _round_trip(store: object, key: str) -> None:
    assert isinstance(store, RedisSessionStore)
    now = time.time()
    store.create(SessionRecord(key, now, now, now + 60, now + 60, "s", True, {"a": "1"}))
    got = store.get(key, now + 1)
    assert got is not None and got.data == {"a": "1"}


def test_rediss_verifies_the_server_and_works(
    tls_server: RedisServer, tls: TlsFiles, tmp_path: Path
) -> None:
    store = open_store(
        _tls_url(tls_server, tls.ca, tls, ssl_cert_reqs="required"),
        instance_path=str(tmp_path),
    )
    try:
        _round_trip(store, "overtls")
        assert isinstance(store, RedisSessionStore)
        factory = store._connections.factory  # type: ignore[union-attr]
        assert issubclass(factory.connection_class, redis.SSLConnection)
        assert factory.connection_kwargs["ssl_cert_reqs"] == "required"
    finally:
        store.close()
    assert tls_server.client().hget("session:{overtls}", "d:a") == "1"


def test_wrong_ca_is_refused_at_start_up(
    tls_server: RedisServer, tls: TlsFiles, tmp_path: Path
) -> None:
    other_ca, _, _ = make_ca(tmp_path, "other-ca")
    with pytest.raises(ConfigError) as caught:
        open_store(_tls_url(tls_server, other_ca, tls), instance_path=str(tmp_path))
    message = str(caught.value)
    assert message.startswith("SESSION_STORE_URL: Redis TLS certificate not verified")
    assert "check ssl_ca_certs" in message and "\n" not in message


def test_plain_redis_to_a_tls_port_is_an_outage_not_a_crash(
    tls_server: RedisServer, tmp_path: Path
) -> None:
    """Without rediss:// the TLS port answers nothing we can read: 503s, not start-up
    failure (it cannot be told from a server that is still coming up)."""
    store = open_store(f"redis://127.0.0.1:{tls_server.port}/0", instance_path=str(tmp_path))
    store.close()


@pytest.fixture(scope="module")
def acl_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """Users: ``trader`` may do everything on ``session:*`` keys; ``reader`` may not
    load scripts. The default user stays on (the helper's PING needs it)."""
    server = RedisServer(
        tmp_path_factory.mktemp("acl-redis"),
        extra_args=[
            *("--user", "trader", "on", ">trader-secret-1", "~session:*", "+@all"),
            *("--user", "reader", "on", ">reader-secret-1", "~session:*", "+@read"),
        ],
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_acl_user_in_the_url(acl_server: RedisServer, tmp_path: Path) -> None:
    store = open_store(
        f"redis://trader:trader-secret-1@127.0.0.1:{acl_server.port}/0",
        instance_path=str(tmp_path),
    )
    try:
        _round_trip(store, "asuser")
        assert store._connections.command("ACL", "WHOAMI") == "trader"  # type: ignore[attr-defined]
    finally:
        store.close()


def test_wrong_password_is_refused_at_start_up(acl_server: RedisServer, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        open_store(
            f"redis://trader:not-the-password@127.0.0.1:{acl_server.port}/0",
            instance_path=str(tmp_path),
        )
    message = str(caught.value)
    assert message.startswith("SESSION_STORE_URL: Redis refused the user or password")
    assert "not-the-password" not in message and "\n" not in message


def test_user_without_the_rights_is_refused_at_start_up(
    acl_server: RedisServer, tmp_path: Path
) -> None:
    with pytest.raises(
        ConfigError,
        match=r"SESSION_STORE_URL: Redis refused a command the store needs .*script.load",
    ):
        open_store(
            f"redis://reader:reader-secret-1@127.0.0.1:{acl_server.port}/0",
            instance_path=str(tmp_path),
        )
