"""Settings: the app's config in, one frozen settings object out.

Our own keys share the ``SESSION_`` prefix; cookie settings are Flask's own
``SESSION_COOKIE_*``. Every value is checked once, in ``init_app``; a bad one raises
:class:`ConfigError` with one line that names the key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .origin import normalize_origin

#: Defaults of our own keys (documented in the README's configuration table).
DEFAULTS: dict[str, Any] = {
    "SESSION_TIMEOUT": 3600,
    "SESSION_ABSOLUTE_TIMEOUT": 43200,
    "SESSION_STORE_URL": "sqlite:///sessions.sqlite3",
    "SESSION_ACTIVITY_INTERVAL": 1.0,
    "SESSION_STORE_RETRY_AFTER": 5,
    "SESSION_CSRF_ENFORCE": True,
    "SESSION_CSRF_ALLOW_SAME_SITE": False,
    "SESSION_TRUSTED_ORIGINS": (),
    "SESSION_PUBLIC_ORIGIN": None,
    "SESSION_TRUSTED_PROXIES": 0,
    "SESSION_ENCRYPTED_KEYS": ("credentials",),
    # Live sessions one account may hold; a new login past it ends the oldest.
    "SESSION_MAX_PER_ACCOUNT": 10,
    "SESSION_AUDIT_LOG": None,
    "SESSION_METRICS": False,
    # What logout's Clear-Site-Data asks the browser to forget. Not "cookies": that
    # clears the cookies of the whole registrable domain (sibling hosts, the parent).
    "SESSION_CLEAR_SITE_DATA": ("cache", "storage"),
    # Strict-Transport-Security max-age (seconds) sent when SESSION_COOKIE_SECURE is on.
    "SESSION_HSTS_MAX_AGE": 365 * 24 * 3600,
    "SESSION_HSTS_INCLUDE_SUBDOMAINS": True,
    # Where the session JSON API is mounted; unset, the app has no such routes.
    "SESSION_API_PREFIX": None,
    # Paths whose errors are always the JSON envelope (besides SESSION_API_PREFIX).
    "SESSION_JSON_PREFIXES": ("/api",),
    # Refuse a declared body over MAX_CONTENT_LENGTH before any view runs.
    "SESSION_BODY_LIMIT": True,
    # True (or a mapping of changes): security_headers.HEADERS on every answer.
    "SESSION_SECURITY_HEADERS": False,
    # Metric names start with this (SESSION_METRICS).
    "SESSION_METRICS_NAMESPACE": "session_guard",
    # Used by the redis:// store only.
    "SESSION_REDIS_PREFIX": "session:",
    "SESSION_REDIS_POOL_SIZE": 10,
    "SESSION_REDIS_SOCKET_TIMEOUT": 1.0,
    "SESSION_REDIS_CONNECT_TIMEOUT": 1.0,
    # Replicas that must acknowledge a login, logout or data write (WAIT); 0: none.
    "SESSION_REDIS_MIN_REPLICAS": 0,
    # Used by the postgresql:// store only.
    "SESSION_PG_POOL_SIZE": 10,
    "SESSION_PG_TIMEOUT": 1.0,
    "SESSION_PG_SCHEMA": "public",
    "SESSION_PG_TABLE_PREFIX": "guard_",
    "SESSION_PG_UNLOGGED": False,
}

#: Flask settings we set differently from Flask's defaults.
FLASK_DEFAULTS: dict[str, Any] = {
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,
    "MAX_CONTENT_LENGTH": 64 * 1024,
}


class ConfigError(ValueError):
    """A setting is missing or wrong; the message is one line that names it."""


def check_seconds(name: str, value: Any, *, allow_zero: bool = False) -> float:
    """``value`` as seconds, or :class:`ConfigError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = "zero or more" if allow_zero else "greater than zero"
        raise ConfigError(f"{name} must be {bound}, got {value!r}")
    return float(value)


def check_count(name: str, value: Any) -> int:
    """``value`` as a whole number of at least 1, or :class:`ConfigError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a whole number of at least 1, got {value!r}")
    return value


def _parse_list(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


SameSite = Literal["Strict", "Lax", "None"]


@dataclass(frozen=True)
class RedisSettings:
    """Options of the ``redis://`` store (read, and checked, whatever the store)."""

    #: Namespaces the keys: ``PREFIX`` + the session's public id.
    prefix: str
    #: Connections per process; a request waits up to ``socket_timeout`` for a free one.
    pool_size: int
    #: Seconds to wait for an answer (and for a free pooled connection).
    socket_timeout: float
    #: Seconds to wait for a new connection to open.
    connect_timeout: float
    #: Replicas that must acknowledge each login, logout and data write (0: none).
    min_replicas: int = 0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RedisSettings:
        """Validate the ``SESSION_REDIS_*`` keys of ``config``."""

        def get(name: str) -> Any:
            return config.get(name, DEFAULTS[name])

        replicas = get("SESSION_REDIS_MIN_REPLICAS")
        if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
            raise ConfigError(
                f"SESSION_REDIS_MIN_REPLICAS must be a whole number of 0 or more, got {replicas!r}"
            )
        prefix = get("SESSION_REDIS_PREFIX")
        if not isinstance(prefix, str) or not prefix:
            raise ConfigError(f"SESSION_REDIS_PREFIX must be a non-empty string, got {prefix!r}")
        return cls(
            prefix=prefix,
            pool_size=check_count("SESSION_REDIS_POOL_SIZE", get("SESSION_REDIS_POOL_SIZE")),
            socket_timeout=check_seconds(
                "SESSION_REDIS_SOCKET_TIMEOUT", get("SESSION_REDIS_SOCKET_TIMEOUT")
            ),
            connect_timeout=check_seconds(
                "SESSION_REDIS_CONNECT_TIMEOUT", get("SESSION_REDIS_CONNECT_TIMEOUT")
            ),
            min_replicas=replicas,
        )


#: A PostgreSQL identifier we accept unquoted: lower case, so it means the same quoted or not.
_PG_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
#: PostgreSQL's identifier limit (63 bytes) less our longest suffix, ``session_data_pkey``.
_PG_PREFIX_MAX = 63 - len("session_data_pkey")


@dataclass(frozen=True)
class PostgresSettings:
    """Options of the ``postgresql://`` store (read, and checked, whatever the store)."""

    #: Connections per process; a request waits up to ``timeout`` for a free one.
    pool_size: int
    #: Seconds: the server's ``statement_timeout`` and the wait for a pooled connection.
    timeout: float
    #: The schema that holds the tables (created when missing).
    schema: str
    #: Prepended to the table names: ``PREFIXsessions`` and ``PREFIXsession_data``.
    table_prefix: str
    #: Create the tables ``UNLOGGED``: faster writes, emptied after a server crash.
    unlogged: bool

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PostgresSettings:
        """Validate the ``SESSION_PG_*`` keys of ``config``."""

        def get(name: str) -> Any:
            return config.get(name, DEFAULTS[name])

        schema, prefix = get("SESSION_PG_SCHEMA"), get("SESSION_PG_TABLE_PREFIX")
        if not isinstance(schema, str) or not _PG_IDENTIFIER.fullmatch(schema) or len(schema) > 63:
            raise ConfigError(
                f"SESSION_PG_SCHEMA must be a lower-case identifier (a-z, 0-9, _), got {schema!r}"
            )
        if not isinstance(prefix, str) or not (prefix == "" or _PG_IDENTIFIER.fullmatch(prefix)):
            raise ConfigError(
                "SESSION_PG_TABLE_PREFIX must be empty or lower-case letters, digits and _,"
                f" got {prefix!r}"
            )
        if len(prefix) > _PG_PREFIX_MAX:
            raise ConfigError(
                f"SESSION_PG_TABLE_PREFIX must be at most {_PG_PREFIX_MAX} characters,"
                f" got {len(prefix)}"
            )
        unlogged = get("SESSION_PG_UNLOGGED")
        if not isinstance(unlogged, bool):
            raise ConfigError(f"SESSION_PG_UNLOGGED must be true or false, got {unlogged!r}")
        return cls(
            pool_size=check_count("SESSION_PG_POOL_SIZE", get("SESSION_PG_POOL_SIZE")),
            timeout=check_seconds("SESSION_PG_TIMEOUT", get("SESSION_PG_TIMEOUT")),
            schema=schema,
            table_prefix=prefix,
            unlogged=unlogged,
        )


@dataclass(frozen=True)
class SessionSettings:
    """Everything the session layer needs per request, resolved once at start-up."""

    idle_timeout: float
    absolute_timeout: float
    activity_interval: float
    store_url: str
    retry_after: int
    cookie_name: str
    cookie_domain: str | None
    cookie_path: str
    cookie_secure: bool
    cookie_httponly: bool
    cookie_samesite: SameSite | None
    csrf_enforce: bool
    csrf_allow_same_site: bool
    trusted_origins: frozenset[str]
    public_origin: str | None
    encrypted_keys: frozenset[str]
    audit_log: str | None
    redis: RedisSettings
    #: Live sessions per account; at the limit a new login ends the oldest one.
    max_per_account: int = 10
    #: How many proxies in front set X-Forwarded-* (0: those headers count for nothing).
    trusted_proxies: int = 0
    #: The ``Clear-Site-Data`` value of a logout answer (``""``: none is sent).
    clear_site_data: str = '"cache", "storage"'
    #: Options of the postgresql:// store.
    postgres: PostgresSettings = field(default_factory=lambda: PostgresSettings.from_config({}))

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SessionSettings:
        """Validate ``config`` (a Flask config) and freeze what we use."""
        idle = check_seconds("SESSION_TIMEOUT", config["SESSION_TIMEOUT"])
        absolute = check_seconds("SESSION_ABSOLUTE_TIMEOUT", config["SESSION_ABSOLUTE_TIMEOUT"])
        if absolute < idle:
            raise ConfigError(
                f"SESSION_ABSOLUTE_TIMEOUT ({absolute:g}) must be at least "
                f"SESSION_TIMEOUT ({idle:g})"
            )
        interval = check_seconds(
            "SESSION_ACTIVITY_INTERVAL", config["SESSION_ACTIVITY_INTERVAL"], allow_zero=True
        )
        retry_after = check_seconds(
            "SESSION_STORE_RETRY_AFTER", config["SESSION_STORE_RETRY_AFTER"]
        )
        store_url = config["SESSION_STORE_URL"]
        if not isinstance(store_url, str) or "://" not in store_url:
            raise ConfigError(
                "SESSION_STORE_URL must look like sqlite:///PATH, redis://HOST:PORT/DB,"
                " postgresql://HOST/DB or memory://,"
                f" got {store_url!r}"
            )
        samesite = config.get("SESSION_COOKIE_SAMESITE")
        if samesite not in (None, "Strict", "Lax", "None"):
            raise ConfigError(
                f"SESSION_COOKIE_SAMESITE must be Strict, Lax or None, got {samesite!r}"
            )
        secure = bool(config.get("SESSION_COOKIE_SECURE"))
        domain = config.get("SESSION_COOKIE_DOMAIN") or None
        path = config.get("SESSION_COOKIE_PATH") or config.get("APPLICATION_ROOT") or "/"
        name = str(config["SESSION_COOKIE_NAME"])
        if secure and not name.startswith(("__Host-", "__Secure-")):
            # __Host- binds the cookie to this exact host and path "/", so a sibling
            # subdomain cannot plant one; with a Domain only __Secure- is allowed.
            name = f"__Host-{name}" if domain is None else f"__Secure-{name}"
        if name.startswith("__Host-"):
            path = "/"
        public = config.get("SESSION_PUBLIC_ORIGIN")
        proxies = _trusted_proxies(config.get("SESSION_TRUSTED_PROXIES", 0), public)
        return cls(
            idle_timeout=idle,
            absolute_timeout=absolute,
            activity_interval=interval,
            store_url=store_url,
            retry_after=max(1, round(retry_after)),
            cookie_name=name,
            cookie_domain=domain,
            cookie_path=path,
            cookie_secure=secure,
            cookie_httponly=bool(config.get("SESSION_COOKIE_HTTPONLY")),
            cookie_samesite=samesite,
            csrf_enforce=bool(config["SESSION_CSRF_ENFORCE"]),
            csrf_allow_same_site=bool(config["SESSION_CSRF_ALLOW_SAME_SITE"]),
            trusted_origins=frozenset(
                _origin("SESSION_TRUSTED_ORIGINS", o)
                for o in _strings("SESSION_TRUSTED_ORIGINS", config["SESSION_TRUSTED_ORIGINS"])
            ),
            public_origin=None if not public else _origin("SESSION_PUBLIC_ORIGIN", public),
            encrypted_keys=frozenset(
                _strings("SESSION_ENCRYPTED_KEYS", config["SESSION_ENCRYPTED_KEYS"])
            ),
            audit_log=config.get("SESSION_AUDIT_LOG") or None,
            redis=RedisSettings.from_config(config),
            trusted_proxies=proxies,
            max_per_account=check_count(
                "SESSION_MAX_PER_ACCOUNT",
                config.get("SESSION_MAX_PER_ACCOUNT", DEFAULTS["SESSION_MAX_PER_ACCOUNT"]),
            ),
            clear_site_data=clear_site_data(
                config.get("SESSION_CLEAR_SITE_DATA", DEFAULTS["SESSION_CLEAR_SITE_DATA"])
            ),
            postgres=PostgresSettings.from_config(config),
        )


def _trusted_proxies(value: Any, public_origin: Any) -> int:
    """``SESSION_TRUSTED_PROXIES``; behind a proxy, ``SESSION_PUBLIC_ORIGIN`` is required.

    The origin browsers see is configuration: guessed from ``X-Forwarded-Host``, it
    would be whatever the client (or a misconfigured proxy) wrote there.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"SESSION_TRUSTED_PROXIES must be a whole number, got {value!r}")
    if value and not public_origin:
        raise ConfigError(
            f"SESSION_TRUSTED_PROXIES is {value} but SESSION_PUBLIC_ORIGIN is not set: behind "
            "a proxy set SESSION_PUBLIC_ORIGIN to the origin browsers use, e.g. "
            "https://dash.example.com"
        )
    return value


#: Clear-Site-Data directives a browser understands (W3C Clear Site Data).
CLEAR_SITE_DATA_TYPES = frozenset(
    {
        "cache",
        "cookies",
        "storage",
        "executionContexts",
        "clientHints",
        "prefetchCache",
        "prerenderCache",
        "*",
    }
)


def clear_site_data(value: Any) -> str:
    """``SESSION_CLEAR_SITE_DATA`` (a list, or text like ``cache,storage``) as the header
    value ``"cache", "storage"``; empty for none. An unknown directive is a ConfigError.
    """
    names = [n.strip().strip('"') for n in _strings("SESSION_CLEAR_SITE_DATA", value)]
    unknown = [n for n in names if n not in CLEAR_SITE_DATA_TYPES]
    if unknown:
        known = ", ".join(sorted(CLEAR_SITE_DATA_TYPES))
        raise ConfigError(
            f"SESSION_CLEAR_SITE_DATA has unknown directive(s) {', '.join(unknown)}; use {known}"
        )
    return ", ".join(f'"{n}"' for n in dict.fromkeys(names))


def _strings(name: str, value: Any) -> Iterable[str]:
    if isinstance(value, str):
        return _parse_list(value)
    if not isinstance(value, (list, tuple, set, frozenset)) or not all(
        isinstance(v, str) for v in value
    ):
        raise ConfigError(f"{name} must be a list of strings, got {value!r}")
    return value


def _origin(name: str, value: Any) -> str:
    normalized = normalize_origin(value) if isinstance(value, str) else None
    if normalized is None:
        raise ConfigError(
            f"{name} must hold origins like https://host[:port] (a scheme, no path, "
            f"not null), got {value!r}"
        )
    return normalized


def apply_defaults(config: dict[str, Any], *, session_timeout: float) -> None:
    """``setdefault`` every key we read; the extension calls this in ``init_app``.

    Flask ships ``None`` for SameSite and the body limit; ours are stricter, so a
    ``None`` there is replaced too.
    """
    config.setdefault("SESSION_TIMEOUT", session_timeout)
    for key, value in DEFAULTS.items():
        config.setdefault(key, value)
    for key, value in FLASK_DEFAULTS.items():
        if config.get(key) is None:
            config[key] = value
