"""What the dashboard's account card shows, read from the session's user data.

The broker sign-in stores what the broker confirmed: ``broker``, the account id
(``client_id``, or ``account``), the holder's ``user_name`` and when the broker's
access token expires (``token_expires_at``: POSIX seconds or ISO 8601). Whatever is
absent is left out of the card, never guessed.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask import Flask
from flask_session_guard import get_session_manager

from .api.broker import BROKER_NAMES


def init_app(app: Flask) -> None:
    """Give templates ``account_summary()``; only the dashboard (rendered for an active
    session) calls it, so no other page touches the session."""
    app.add_template_global(account_summary, "account_summary")


def account_summary() -> dict[str, str | None]:
    """The current session's account: ``broker_name``, ``account_id``, ``user_name``,
    ``token_expires_at`` (ISO 8601 UTC); a value is ``None`` when the session lacks it."""
    manager = get_session_manager()
    broker = _text(manager.get_user_data("broker"))
    account_id = _text(manager.get_user_data("client_id")) or _account_id(
        manager.get_user_data("account")
    )
    return {
        "broker_name": BROKER_NAMES.get(broker, broker) if broker else None,
        "account_id": account_id,
        "user_name": _text(manager.get_user_data("user_name")),
        "token_expires_at": _instant(manager.get_user_data("token_expires_at")),
    }


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _account_id(value: Any) -> str | None:
    # "kite:AB1234" (the session's account key) or a bare id
    text = _text(value)
    return text.partition(":")[2] or text if text else None


def _instant(value: Any) -> str | None:
    """POSIX seconds or an ISO 8601 string as ISO 8601 UTC; ``None`` if neither."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            moment = datetime.fromtimestamp(value, timezone.utc)
        elif isinstance(value, str):
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)  # the library's times are UTC
        else:
            return None
    except (ValueError, OverflowError, OSError):
        return None
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")
