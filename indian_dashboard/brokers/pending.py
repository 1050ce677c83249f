"""The pending login of a redirect flow, kept in the visitor's pre-login session.

Written when the connect form is submitted (never before), sealed at rest, read
at the callback and taken exactly once: :func:`take` removes it atomically in
the store, so two callbacks racing with one code cannot both find it.
"""

from __future__ import annotations

from typing import Any

from flask_session_guard import SessionExpired, get_session_manager

#: The user-data key.
KEY = "pending_login"
#: How long a started login stays valid, in seconds.
LIFETIME = 600.0


def keep(broker: str, state: str, typed_id: str | None, secrets: dict[str, str]) -> None:
    """Remember a started login for this visitor (replacing one started before)."""
    manager = get_session_manager()
    manager.store_user_data(
        KEY,
        {
            "broker": broker,
            "state": state,
            "typed_id": typed_id,
            "started_at": manager.clock.now().timestamp(),
            "secrets": secrets,
        },
        sensitive=True,
    )


def take() -> dict[str, Any] | None:
    """This visitor's pending login, removed; ``None`` if there is none (or it expired).

    A visitor without a session gets ``None`` and nothing is written for them.
    """
    manager = get_session_manager()
    if manager.session_state() not in ("pre_login", "active"):
        return None
    if manager.get_user_data(KEY) is None:
        return None
    taken: list[Any] = []

    def remove(old: Any) -> None:
        taken.append(old)
        return None

    try:
        manager.update_user_data(KEY, remove)
    except SessionExpired:
        return None
    found = taken[0] if taken else None
    if not isinstance(found, dict):
        return None
    started = found.get("started_at")
    age = manager.clock.now().timestamp() - started if isinstance(started, int | float) else None
    if age is None or not 0 <= age <= LIFETIME:
        return None
    return found
