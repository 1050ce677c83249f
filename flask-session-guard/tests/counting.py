"""A store wrapper that counts the calls it receives (to count round trips)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from flask_session_guard import SessionStore


class CountingStore:
    """Wraps a store and counts the calls it receives."""

    def __init__(self, inner: SessionStore) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return attr(*args, **kwargs)

        return counted
