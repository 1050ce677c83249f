"""Broker sign-in: one adapter per broker behind :class:`~.base.Broker`.

``init_app`` resolves the ``BROKER_*`` settings once and keeps them, with one
shared HTTP client, in ``app.extensions["brokers"]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app
from flask_session_guard import ConfigError
from flask_session_guard.settings import check_seconds

from .angelone import AngelOne
from .base import Broker, BrokerAuthFailed, BrokerHttp, BrokerSettings, BrokerUnavailable
from .dhan import Dhan
from .fyers import Fyers
from .kite import Kite
from .upstox import Upstox

__all__ = [
    "ADAPTERS",
    "DEFAULT_URLS",
    "Broker",
    "BrokerAuthFailed",
    "BrokerUnavailable",
    "Brokers",
    "brokers",
    "init_app",
]

#: name -> adapter, in the order the connect page lists them.
ADAPTERS: dict[str, Broker] = {b.name: b for b in (Kite(), Upstox(), AngelOne(), Fyers(), Dhan())}

#: Config key -> the broker's real base URL (tests and the demo point these elsewhere).
DEFAULT_URLS = {
    "BROKER_KITE_LOGIN_URL": "https://kite.zerodha.com/connect/login",
    "BROKER_KITE_API_URL": "https://api.kite.trade",
    "BROKER_UPSTOX_API_URL": "https://api.upstox.com",
    "BROKER_FYERS_API_URL": "https://api-t1.fyers.in",
    "BROKER_ANGELONE_API_URL": "https://apiconnect.angelone.in",
    "BROKER_DHAN_AUTH_URL": "https://auth.dhan.co",
    "BROKER_DHAN_API_URL": "https://api.dhan.co",
}
#: Other settings and their defaults.
DEFAULTS: dict[str, Any] = {
    "BROKER_CONNECT_TIMEOUT": 5.0,
    "BROKER_READ_TIMEOUT": 10.0,
    "BROKER_LOGOUT_TIMEOUT": 3.0,
    "BROKER_ANGELONE_PUBLIC_IP": "127.0.0.1",
    "BROKER_DEMO": False,
}


@dataclass(frozen=True)
class Brokers:
    """What ``app.extensions["brokers"]`` holds."""

    settings: BrokerSettings
    http: BrokerHttp
    #: Pages show a banner: the brokers are the local emulator (``make demo``).
    demo: bool


def _url_key(config_key: str) -> str:
    # BROKER_KITE_LOGIN_URL -> kite_login
    return config_key.removeprefix("BROKER_").removesuffix("_URL").lower()


def init_app(app: Flask) -> None:
    """Check the ``BROKER_*`` settings (``ConfigError`` naming a bad one) and keep them."""
    for key, value in {**DEFAULT_URLS, **DEFAULTS}.items():
        app.config.setdefault(key, value)
    urls = {}
    for key in DEFAULT_URLS:
        url = app.config[key]
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"{key} must be an http(s) URL, got {url!r}")
        urls[_url_key(key)] = url
    seconds = {key: check_seconds(key, app.config[key]) for key in DEFAULTS if "TIMEOUT" in key}
    settings = BrokerSettings(
        urls,
        connect_timeout=seconds["BROKER_CONNECT_TIMEOUT"],
        read_timeout=seconds["BROKER_READ_TIMEOUT"],
        logout_timeout=seconds["BROKER_LOGOUT_TIMEOUT"],
        angelone_public_ip=str(app.config["BROKER_ANGELONE_PUBLIC_IP"]),
    )
    app.extensions["brokers"] = Brokers(
        settings, BrokerHttp(settings), bool(app.config["BROKER_DEMO"])
    )


def brokers() -> Brokers:
    """The current app's broker settings and HTTP client."""
    found: Brokers = current_app.extensions["brokers"]
    return found
