"""``SESSION_STORE_URL`` for Redis: which deployment, which nodes, which TLS and user.

Forms (``rediss`` instead of ``redis`` turns TLS on, for every one of them):

- ``redis://[[USER]:PASSWORD@]HOST:PORT/DB`` and ``unix:///PATH?db=N``: one server;
- ``redis+sentinel://[[USER]:PASSWORD@]HOST:PORT[,HOST:PORT...]/SERVICE[/DB]``: the
  master that these Sentinels name for ``SERVICE`` (the user and password are the
  master's, not the Sentinels');
- ``redis+cluster://[[USER]:PASSWORD@]HOST:PORT[,HOST:PORT...]``: a Redis Cluster,
  reached through any of these nodes.

TLS takes redis-py's own query parameters: ``ssl_ca_certs``, ``ssl_certfile``,
``ssl_keyfile`` (paths, checked now), ``ssl_cert_reqs`` (``required``, the default,
``optional`` or ``none``) and ``ssl_check_hostname``. Anything else in the query is
refused, so a typo never turns a check off. Every refusal is one
:class:`ConfigError` line naming ``SESSION_STORE_URL``, and never shows the password.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from ..settings import ConfigError

Kind = Literal["standalone", "sentinel", "cluster"]

#: Scheme -> (deployment, TLS).
SCHEMES: dict[str, tuple[Kind, bool]] = {
    "redis": ("standalone", False),
    "rediss": ("standalone", True),
    "unix": ("standalone", False),
    "redis+sentinel": ("sentinel", False),
    "rediss+sentinel": ("sentinel", True),
    "redis+cluster": ("cluster", False),
    "rediss+cluster": ("cluster", True),
}

_TLS_FILES = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile")
_CERT_REQS = ("required", "optional", "none")
_DEFAULT_PORTS: dict[Kind, int] = {"standalone": 6379, "sentinel": 26379, "cluster": 6379}


@dataclass(frozen=True)
class RedisTarget:
    """What a Redis ``SESSION_STORE_URL`` names, checked."""

    kind: Kind
    tls: bool
    #: The servers named in the URL: the one server, the Sentinels, or cluster nodes.
    nodes: tuple[tuple[str, int], ...]
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    db: int = 0
    #: The Sentinel service name of the master.
    service: str | None = None
    #: redis-py's TLS keyword arguments (``ssl_ca_certs``...), as given in the query.
    tls_options: dict[str, Any] = field(default_factory=dict)

    def credentials(self) -> dict[str, Any]:
        """redis-py's ``username``/``password`` keyword arguments (empty ones left out)."""
        made: dict[str, Any] = {}
        if self.username:
            made["username"] = self.username
        if self.password:
            made["password"] = self.password
        return made

    def tls_kwargs(self) -> dict[str, Any]:
        """redis-py's keyword arguments that turn TLS on and configure it (or none)."""
        return {"ssl": True, **self.tls_options} if self.tls else {}

    def describe(self) -> str:
        """The nodes as ``host:port,...``, for messages (no user, no password)."""
        return ",".join(f"{host}:{port}" for host, port in self.nodes)


def _fail(reason: str) -> ConfigError:
    return ConfigError(f"SESSION_STORE_URL cannot be used: {reason}")


def is_redis_scheme(scheme: str) -> bool:
    return scheme.lower() in SCHEMES


def parse_redis_url(url: str) -> RedisTarget:
    """Check ``url`` and say what it names; :class:`ConfigError` for a bad one."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise _fail(f"unknown Redis scheme {scheme!r}")
    kind, tls = SCHEMES[scheme]
    options = _query(parts.query, tls=tls, unix=scheme == "unix")
    userinfo, _, hosts = parts.netloc.rpartition("@")
    username, password = _userinfo(userinfo)
    if scheme == "unix":
        if not parts.path:
            raise _fail("unix:// needs the socket's path, e.g. unix:///run/redis.sock?db=0")
        db = _db(options.pop("db", "0"))
        return RedisTarget(kind, tls, (), username, password, db)
    nodes = _nodes(hosts, _DEFAULT_PORTS[kind])
    path = [unquote(p) for p in parts.path.split("/") if p]
    if kind == "sentinel":
        if not path or len(path) > 2:
            raise _fail("a Sentinel URL ends in /SERVICE or /SERVICE/DB, e.g. /mymaster/0")
        service, db = path[0], _db(path[1] if len(path) == 2 else "0")
        return RedisTarget(kind, tls, nodes, username, password, db, service, options)
    if kind == "cluster":
        if path not in ([], ["0"]):
            raise _fail("a Redis Cluster has database 0 only: no path after the nodes")
        return RedisTarget(kind, tls, nodes, username, password, 0, None, options)
    if len(nodes) != 1:
        raise _fail("redis:// names one server; use redis+sentinel:// or redis+cluster://")
    if len(path) > 1:
        raise _fail("the path of a redis:// URL is the database number, e.g. /0")
    db = _db(path[0] if path else "0")
    return RedisTarget(kind, tls, nodes, username, password, db, None, options)


def _query(query: str, *, tls: bool, unix: bool) -> dict[str, Any]:
    allowed = {"db"} if unix else set()
    if tls:
        allowed |= {*_TLS_FILES, "ssl_cert_reqs", "ssl_check_hostname"}
    found: dict[str, Any] = {}
    for name, values in parse_qs(query, keep_blank_values=True, strict_parsing=False).items():
        if name not in allowed:
            hint = " (TLS parameters need rediss://)" if name.startswith("ssl_") else ""
            raise _fail(f"unknown query parameter {name!r}{hint}")
        if len(values) != 1:
            raise _fail(f"query parameter {name!r} given more than once")
        found[name] = values[0]
    for name in _TLS_FILES:
        if name in found and not os.access(found[name], os.R_OK):
            raise _fail(f"{name} file {found[name]!r} cannot be read")
    reqs = found.get("ssl_cert_reqs")
    if reqs is not None and reqs not in _CERT_REQS:
        raise _fail(f"ssl_cert_reqs must be one of {', '.join(_CERT_REQS)}, got {reqs!r}")
    if "ssl_check_hostname" in found:
        check = found["ssl_check_hostname"].lower()
        if check not in ("true", "false", "1", "0", "yes", "no"):
            raise _fail(f"ssl_check_hostname must be true or false, got {check!r}")
        found["ssl_check_hostname"] = check in ("true", "1", "yes")
    return found


def _userinfo(userinfo: str) -> tuple[str | None, str | None]:
    if not userinfo:
        return None, None
    user, colon, password = userinfo.partition(":")
    if not colon:  # redis://SECRET@host: redis-py's habit, a password alone
        return None, unquote(user) or None
    return unquote(user) or None, unquote(password) or None


def _nodes(hosts: str, default_port: int) -> tuple[tuple[str, int], ...]:
    found: list[tuple[str, int]] = []
    for item in hosts.split(","):
        item = item.strip()
        if not item:
            raise _fail("a host is missing (empty item in the host list)")
        if item.startswith("["):  # [IPv6]:PORT
            host, _, rest = item[1:].partition("]")
            port_text = rest[1:] if rest.startswith(":") else rest
        else:
            host, _, port_text = item.rpartition(":") if ":" in item else (item, "", "")
        if not host:
            raise _fail(f"host missing in {item!r}")
        if port_text == "":
            port = default_port
        elif port_text.isdigit() and 0 < int(port_text) < 65536:
            port = int(port_text)
        else:
            raise _fail(f"port {port_text!r} of {host} is not a port number")
        found.append((host, port))
    return tuple(found)


def _db(text: str) -> int:
    if not text.isdigit():
        raise _fail(f"database must be a whole number, got {text!r}")
    return int(text)
