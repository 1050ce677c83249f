"""Session stores, picked by the scheme of ``SESSION_STORE_URL``.

Each store lives in its own module and is imported only when its scheme is asked
for, so an optional driver (redis-py, psycopg) is needed only by those who use it.
"""

from __future__ import annotations

import importlib
from urllib.parse import urlsplit

from ..settings import ConfigError, PostgresSettings, RedisSettings
from .base import (
    Refresh,
    SessionExists,
    SessionGone,
    SessionRecord,
    SessionStore,
    StoreError,
    StoreUnavailable,
    Touch,
)

__all__ = [
    "STORES",
    "Refresh",
    "SessionExists",
    "SessionGone",
    "SessionRecord",
    "SessionStore",
    "StoreError",
    "StoreUnavailable",
    "Touch",
    "open_store",
]

#: URL scheme -> "module:Class" (module relative to this package).
STORES: dict[str, str] = {
    "memory": ".memory:MemorySessionStore",
    "sqlite": ".sqlite:SQLiteSessionStore",
    "redis": ".redis:RedisSessionStore",
    "rediss": ".redis:RedisSessionStore",
    "unix": ".redis:RedisSessionStore",
    "postgresql": ".postgres:PostgresSessionStore",
    "postgres": ".postgres:PostgresSessionStore",
    "redis+sentinel": ".redis:RedisSessionStore",
    "rediss+sentinel": ".redis:RedisSessionStore",
    "redis+cluster": ".redis:RedisSessionStore",
    "rediss+cluster": ".redis:RedisSessionStore",
}
#: Schemes whose store takes :class:`PostgresSettings` instead of :class:`RedisSettings`.
_POSTGRES_SCHEMES = frozenset({"postgresql", "postgres"})


def open_store(
    url: str,
    *,
    instance_path: str,
    redis: RedisSettings | None = None,
    postgres: PostgresSettings | None = None,
) -> SessionStore:
    """Build the store ``url`` names; a bad URL raises :class:`ConfigError`.

    ``redis`` and ``postgres`` hold the options of the Redis and PostgreSQL stores
    (defaults when ``None``); the other stores ignore them.
    """
    scheme = urlsplit(url).scheme.lower()
    target = STORES.get(scheme)
    if target is None:
        known = ", ".join(f"{s}://" for s in sorted(STORES))
        raise ConfigError(f"SESSION_STORE_URL has unknown scheme {scheme!r}; use one of {known}")
    module_name, _, class_name = target.partition(":")
    module = importlib.import_module(module_name, __name__)
    options: dict[str, RedisSettings | PostgresSettings]
    if scheme in _POSTGRES_SCHEMES:
        options = {"postgres": postgres or PostgresSettings.from_config({})}
    else:
        options = {"redis": redis or RedisSettings.from_config({})}
    try:
        store: SessionStore = getattr(module, class_name).from_url(
            url, instance_path=instance_path, **options
        )
    except ConfigError:
        raise  # already one line naming the fix (e.g. a missing driver)
    except (ValueError, OSError) as err:
        raise ConfigError(f"SESSION_STORE_URL cannot be used: {err}") from err
    return store
