"""The dashboard's configuration: documented environment variables in, Flask config out.

The library (:mod:`flask_session_guard.settings`) checks the values again and
freezes them in ``init_app``; this module only turns text into typed values, and
a bad one raises :class:`ConfigError` with one line that names the variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_session_guard import ConfigError
from flask_session_guard.settings import check_count, check_seconds

__all__ = ["ConfigError", "config_from_env"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_BOOL_VARS = (
    "SESSION_COOKIE_SECURE",
    "SESSION_CSRF_ENFORCE",
    "SESSION_CSRF_ALLOW_SAME_SITE",
    "SESSION_METRICS",
    "SESSION_HSTS_INCLUDE_SUBDOMAINS",
    "BROKER_DEMO",
)
_LIST_VARS = ("SESSION_TRUSTED_ORIGINS", "SESSION_ENCRYPTED_KEYS", "SESSION_CLEAR_SITE_DATA")
#: Whole numbers where 0 has a meaning (none sent, no limit).
_WHOLE_VARS = ("SESSION_TRUSTED_PROXIES", "SESSION_HSTS_MAX_AGE", "SESSION_MAX_PER_ACCOUNT")


def _parse_number(name: str, raw: str, *, allow_zero: bool = False) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    return check_seconds(name, value, allow_zero=allow_zero)


def _parse_count(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    return check_count(name, value)


def _parse_bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _parse_list(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def config_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """Read the documented environment variables into Flask config keys."""
    config: dict[str, Any] = {}
    if environ.get("FLASK_SECRET_KEY"):
        config["SECRET_KEY"] = environ["FLASK_SECRET_KEY"]
    for name in ("SESSION_TIMEOUT", "SESSION_ABSOLUTE_TIMEOUT"):
        if name in environ:
            config[name] = _parse_number(name, environ[name])
    if "SESSION_ACTIVITY_INTERVAL" in environ:
        config["SESSION_ACTIVITY_INTERVAL"] = _parse_number(
            "SESSION_ACTIVITY_INTERVAL", environ["SESSION_ACTIVITY_INTERVAL"], allow_zero=True
        )
    for name in ("SESSION_STORE_URL", "SESSION_PUBLIC_ORIGIN", "SESSION_AUDIT_LOG"):
        if environ.get(name):
            config[name] = environ[name]
    for name in _BOOL_VARS:
        if name in environ:
            config[name] = _parse_bool(name, environ[name])
    for name in _LIST_VARS:
        if name in environ:
            config[name] = _parse_list(environ[name])
    for name in _WHOLE_VARS:
        if name in environ:
            raw = environ[name]
            if not raw.strip().isdigit():
                raise ConfigError(f"{name} must be a whole number, got {raw!r}")
            config[name] = int(raw)
    if environ.get("SESSION_REDIS_PREFIX"):
        config["SESSION_REDIS_PREFIX"] = environ["SESSION_REDIS_PREFIX"]
    if "SESSION_REDIS_POOL_SIZE" in environ:
        config["SESSION_REDIS_POOL_SIZE"] = _parse_count(
            "SESSION_REDIS_POOL_SIZE", environ["SESSION_REDIS_POOL_SIZE"]
        )
    for name in ("SESSION_REDIS_SOCKET_TIMEOUT", "SESSION_REDIS_CONNECT_TIMEOUT"):
        if name in environ:
            config[name] = _parse_number(name, environ[name])
    if "SESSION_REDIS_MIN_REPLICAS" in environ:
        raw = environ["SESSION_REDIS_MIN_REPLICAS"].strip()
        if not raw.isdigit():
            raise ConfigError(f"SESSION_REDIS_MIN_REPLICAS must be a whole number, got {raw!r}")
        config["SESSION_REDIS_MIN_REPLICAS"] = int(raw)
    config.update(_postgres_from_env(environ))
    config.update(_broker_config(environ))
    return config


def _postgres_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """The ``SESSION_PG_*`` variables of the postgresql:// store."""
    config: dict[str, Any] = {}
    if "SESSION_PG_POOL_SIZE" in environ:
        config["SESSION_PG_POOL_SIZE"] = _parse_count(
            "SESSION_PG_POOL_SIZE", environ["SESSION_PG_POOL_SIZE"]
        )
    if "SESSION_PG_TIMEOUT" in environ:
        config["SESSION_PG_TIMEOUT"] = _parse_number(
            "SESSION_PG_TIMEOUT", environ["SESSION_PG_TIMEOUT"]
        )
    if environ.get("SESSION_PG_SCHEMA"):
        config["SESSION_PG_SCHEMA"] = environ["SESSION_PG_SCHEMA"]
    if "SESSION_PG_TABLE_PREFIX" in environ:  # may be set empty: no prefix
        config["SESSION_PG_TABLE_PREFIX"] = environ["SESSION_PG_TABLE_PREFIX"]
    if "SESSION_PG_UNLOGGED" in environ:
        config["SESSION_PG_UNLOGGED"] = _parse_bool(
            "SESSION_PG_UNLOGGED", environ["SESSION_PG_UNLOGGED"]
        )
    return config


#: The brokers' base URLs (defaults: the real ones, in :mod:`indian_dashboard.brokers`).
BROKER_URL_VARS = (
    "BROKER_KITE_LOGIN_URL",
    "BROKER_KITE_API_URL",
    "BROKER_UPSTOX_API_URL",
    "BROKER_FYERS_API_URL",
    "BROKER_ANGELONE_API_URL",
    "BROKER_DHAN_AUTH_URL",
    "BROKER_DHAN_API_URL",
)


def _broker_config(environ: Mapping[str, str]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for name in (*BROKER_URL_VARS, "BROKER_ANGELONE_PUBLIC_IP"):
        if environ.get(name):
            config[name] = environ[name]
    for name in ("BROKER_CONNECT_TIMEOUT", "BROKER_READ_TIMEOUT", "BROKER_LOGOUT_TIMEOUT"):
        if name in environ:
            config[name] = _parse_number(name, environ[name])
    return config
