"""``memory://``: records in a dict of this process, for tests and one-process runs."""

from __future__ import annotations

import heapq
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping

from ..settings import RedisSettings
from .base import Change, Refresh, SessionExists, SessionGone, SessionRecord, Touch


class MemorySessionStore:
    """A thread-safe in-process store. Sessions die with the process."""

    def __init__(self) -> None:
        self._records: dict[str, SessionRecord] = {}
        self._by_account: defaultdict[str, set[str]] = defaultdict(set)
        #: Keys counted live, and (expiry when counted, key) to find those that may
        #: have expired since: count_live re-checks only those, never every record.
        self._counted: set[str] = set()
        self._expiries: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    @classmethod
    def from_url(
        cls, url: str, *, instance_path: str, redis: RedisSettings | None = None
    ) -> MemorySessionStore:
        """Build from ``memory://`` (nothing to configure)."""
        return cls()

    def _live(self, key: str, now: float) -> SessionRecord | None:
        record = self._records.get(key)
        return record if record is not None and record.live(now) else None

    def get(self, key: str, now: float, refresh: Refresh | None = None) -> SessionRecord | None:
        with self._lock:
            record = self._records.get(key)
            if record is None:
                return None
            touch = refresh.due(record, now) if refresh else None
            if touch is not None:
                record.last_activity, record.expires_at = touch.last_activity, touch.expires_at
            return record.copy()

    def create(self, record: SessionRecord) -> None:
        with self._lock:
            if record.key in self._records:
                raise SessionExists("session key already taken")
            self._records[record.key] = record.copy()
            if not record.revoked:
                self._counted.add(record.key)
                heapq.heappush(self._expiries, (record.expires_at, record.key))
            if record.account is not None:
                self._by_account[record.account].add(record.key)

    def update(
        self,
        key: str,
        now: float,
        changes: Mapping[str, Change],
        touch: Touch | None = None,
    ) -> bool:
        with self._lock:
            record = self._live(key, now)
            if record is None:
                return False
            _apply(record.data, changes)
            if touch is not None:
                record.last_activity = touch.last_activity
                record.expires_at = touch.expires_at
            return True

    def update_value(
        self, key: str, name: str, now: float, fn: Callable[[str | None], Change]
    ) -> Change:
        with self._lock:
            record = self._live(key, now)
            if record is None:
                raise SessionGone
            value = fn(record.data.get(name))
            _apply(record.data, {name: value})
            return value

    def delete(self, key: str) -> None:
        with self._lock:
            self._remove(key)

    def _remove(self, key: str) -> None:
        self._counted.discard(key)
        record = self._records.pop(key, None)
        if record is not None and record.account is not None:
            keys = self._by_account[record.account]
            keys.discard(key)
            if not keys:
                del self._by_account[record.account]

    def revoke(self, key: str, now: float, reason: str = "revoked") -> bool:
        with self._lock:
            record = self._live(key, now)
            if record is None:
                return False
            record.revoked, record.revoked_reason = True, reason
            self._counted.discard(key)
            return True

    def list_sessions(
        self, now: float, account: str | None = None, limit: int | None = None
    ) -> list[SessionRecord]:
        with self._lock:
            keys = self._records if account is None else self._by_account.get(account, ())
            live = [r.copy() for k in keys if (r := self._live(k, now)) is not None]
        live.sort(key=lambda r: r.created_at, reverse=True)
        return live if limit is None else live[:limit]

    def count_live(self, now: float) -> int:
        with self._lock:
            # Only entries whose counted expiry has passed are looked at: a session
            # touched since is counted again under its new expiry, the others go.
            expiries = self._expiries
            while expiries and expiries[0][0] <= now:
                _, key = heapq.heappop(expiries)
                record = self._records.get(key)
                if record is not None and record.live(now) and key in self._counted:
                    heapq.heappush(expiries, (record.expires_at, key))
                else:
                    self._counted.discard(key)
            return len(self._counted)

    def purge_expired(self, now: float) -> int:
        with self._lock:
            dead = [k for k, r in self._records.items() if r.expires_at <= now]
            for key in dead:
                self._remove(key)
            return len(dead)

    def ping(self) -> None:
        """Always answers: the store is this process's memory."""

    def close(self) -> None:
        """Nothing to release."""

    def __len__(self) -> int:
        return len(self._records)


def _apply(data: dict[str, str], changes: Mapping[str, Change]) -> None:
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
