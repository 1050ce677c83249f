"""``SESSION_STORE_URL`` forms of the Redis store: what each names, and the refusals.

Parsing only (no server): a bad URL is one ConfigError line naming the variable,
never showing the password.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask_session_guard import SessionManager
from flask_session_guard.settings import ConfigError, RedisSettings
from flask_session_guard.stores import open_store
from flask_session_guard.stores.redis_urls import RedisTarget, parse_redis_url

SECRET = "p@ss:w/rd"


def test_plain_url_with_an_acl_user() -> None:
    target = parse_redis_url("redis://trader:p%40ss%3Aw%2Frd@10.0.0.5:6380/3")
    assert target == RedisTarget(
        "standalone", False, (("10.0.0.5", 6380),), "trader", SECRET, 3, None, {}
    )
    assert target.credentials() == {"username": "trader", "password": SECRET}
    assert SECRET not in repr(target)


def test_password_alone_is_redis_py_s_habit() -> None:
    target = parse_redis_url("redis://:only@host/0")
    assert (target.username, target.password) == (None, "only")
    assert parse_redis_url("redis://only@host").password == "only"


def test_tls_parameters(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not checked here")
    url = f"rediss://h:6379/0?ssl_ca_certs={ca}&ssl_cert_reqs=required&ssl_check_hostname=false"
    target = parse_redis_url(url)
    assert target.tls and target.nodes == (("h", 6379),)
    assert target.tls_kwargs() == {
        "ssl": True,
        "ssl_ca_certs": str(ca),
        "ssl_cert_reqs": "required",
        "ssl_check_hostname": False,
    }


def test_sentinel_url() -> None:
    target = parse_redis_url("redis+sentinel://u:pw@s1:26379,s2,[::1]:26380/mymaster/2")
    assert target.kind == "sentinel" and not target.tls
    assert target.nodes == (("s1", 26379), ("s2", 26379), ("::1", 26380))
    assert (target.service, target.db, target.username, target.password) == (
        "mymaster",
        2,
        "u",
        "pw",
    )
    assert parse_redis_url("rediss+sentinel://s1/mymaster").db == 0


def test_cluster_url() -> None:
    target = parse_redis_url("redis+cluster://n1:7000,n2:7001,n3")
    assert target.kind == "cluster"
    assert target.nodes == (("n1", 7000), ("n2", 7001), ("n3", 6379))
    assert parse_redis_url("rediss+cluster://n1:7000/0").tls


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("redis://h:notaport/0", "port 'notaport'"),
        ("redis://h:70000/0", "port '70000'"),
        ("redis://h/zero", "database must be a whole number"),
        ("redis://a:1,b:2/0", "names one server"),
        ("redis://h/0?socket_timeout=9", "unknown query parameter 'socket_timeout'"),
        ("redis://h/0?ssl_ca_certs=/x", "TLS parameters need rediss://"),
        ("rediss://h/0?ssl_cert_reqs=maybe", "ssl_cert_reqs must be one of"),
        ("rediss://h/0?ssl_ca_certs=/nonexistent/ca.pem", "cannot be read"),
        ("rediss://h/0?ssl_check_hostname=perhaps", "ssl_check_hostname must be"),
        ("rediss://h/0?ssl_cert_reqs=none&ssl_cert_reqs=required", "more than once"),
        ("redis+sentinel://s1:26379", "ends in /SERVICE"),
        ("redis+sentinel://s1:26379/a/b/c", "ends in /SERVICE"),
        ("redis+sentinel://s1,,s2/mymaster", "empty item"),
        ("redis+cluster://n1:7000/3", "database 0 only"),
        ("redis+cluster://:7000", "host missing"),
        ("unix://", "needs the socket's path"),
    ],
)
def test_bad_url_is_one_line_naming_the_variable(url: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_redis_url(url)
    message = str(caught.value)
    assert message.startswith("SESSION_STORE_URL cannot be used: ")
    assert reason in message and "\n" not in message


def test_refusal_never_shows_the_password() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_redis_url("redis://trader:hunter2secret@h:bad/0")
    assert "hunter2secret" not in str(caught.value)


def test_bad_url_stops_a_plain_flask_app(tmp_path: Path) -> None:
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config.update(SECRET_KEY="x" * 40, SESSION_STORE_URL="redis+cluster://n1:7000/3?db=1")
    with pytest.raises(ConfigError, match=r"^SESSION_STORE_URL cannot be used: "):
        SessionManager(app)


def test_every_scheme_selects_the_redis_store() -> None:
    from flask_session_guard.stores import STORES
    from flask_session_guard.stores.redis_urls import SCHEMES

    assert {s for s, t in STORES.items() if t.endswith("RedisSessionStore")} == set(SCHEMES)


def test_prefix_with_a_hash_tag_is_refused(tmp_path: Path) -> None:
    settings = RedisSettings.from_config({"SESSION_REDIS_PREFIX": "app{1}:"})
    with pytest.raises(ConfigError, match="SESSION_REDIS_PREFIX must not contain"):
        open_store("redis://127.0.0.1:1/0", instance_path=str(tmp_path), redis=settings)


@pytest.mark.parametrize("value", [-1, "1", 1.5, True])
def test_min_replicas_must_be_a_whole_number(value: object) -> None:
    with pytest.raises(ConfigError, match="SESSION_REDIS_MIN_REPLICAS"):
        RedisSettings.from_config({"SESSION_REDIS_MIN_REPLICAS": value})
    assert RedisSettings.from_config({}).min_replicas == 0
