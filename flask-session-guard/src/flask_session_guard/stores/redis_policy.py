"""Redis's eviction policy, as the Redis store sees it.

When Redis reaches ``maxmemory`` it evicts keys by its ``maxmemory-policy``. For
sessions that is a silent logout, and an evicted account index would let "sign out
everywhere" miss that account's sessions. Session hashes and indexes both carry a
TTL, so every ``volatile-*`` policy may evict them as readily as ``allkeys-*``: only
``noeviction`` keeps them (a full Redis then refuses writes, which the app answers
with 503).

:class:`EvictionWatch` checks the policy when the store starts (``CONFIG GET``,
where the server allows it) and logs loudly, naming the setting, when it can evict.
While serving, it keeps listings by account complete: once Redis reports evicted
keys (``INFO stats`` ``evicted_keys`` above 0 since its start or its last
``CONFIG RESETSTAT``) the index alone is not trusted, and the account's sessions
are also found by a scan of every session.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .redis_cluster import ClusterCommands
from .redis_connections import RedisConnections

log = logging.getLogger(__name__)

#: The one policy under which Redis never drops a session or an index.
SAFE_POLICY = "noeviction"
#: Session hashes read per round trip while scanning for an account's sessions.
SCAN_BATCH = 500


def evicting_policy_warning(policy: str, maxmemory: int) -> str | None:
    """The warning for ``policy`` with ``maxmemory`` bytes (0: no limit), or ``None``
    when Redis will not evict sessions under it."""
    if policy == SAFE_POLICY or maxmemory == 0:
        return None
    return (
        f"Redis maxmemory-policy is {policy} (maxmemory {maxmemory} bytes): when Redis is"
        " full it evicts session keys (the user is logged out without notice) and account"
        " indexes; set maxmemory-policy noeviction (a full Redis then answers 503)."
        " Sign-out-everywhere stays complete: once Redis reports evicted keys, each"
        " account listing also scans every session."
    )


class EvictionWatch:
    """Start-up check of the eviction policy, and completion of account listings.

    Thread-safe; each process keeps its own flag.
    """

    def __init__(
        self,
        connections: RedisConnections | ClusterCommands,
        prefix: str,
        refused: type[Exception],
        unreachable: tuple[type[Exception], ...],
    ) -> None:
        self._connections = connections
        self._prefix = prefix
        #: redis-py's ``ResponseError``: CONFIG or INFO refused (ACL, renamed command).
        self._refused = refused
        #: Errors that mean Redis did not answer the start-up check.
        self._unreachable = unreachable
        #: Set once Redis reported an eviction (a plain flag: setting it twice is harmless).
        self._evicted = False

    def check_policy(self) -> str | None:
        """Ask Redis for its policy; log loudly if it can evict sessions.

        Returns the policy, or ``None`` when the server refuses ``CONFIG GET`` (a
        managed Redis often does): then one line says what to check by hand; also
        ``None``, silently, when Redis does not answer (the store has said so).
        """
        try:
            reply = self._connections.command("CONFIG", "GET", "maxmemory*")
        except self._unreachable:
            return None
        except self._refused as err:
            log.info(
                "cannot read Redis maxmemory-policy (%s): make sure it is noeviction, or"
                " Redis may evict sessions when full",
                str(err).split()[0] if str(err) else type(err).__name__,
            )
            return None
        settings = _pairs(reply)
        policy = settings.get("maxmemory-policy", "")
        maxmemory = int(settings.get("maxmemory", "0") or 0)
        warning = evicting_policy_warning(policy, maxmemory)
        if warning is not None:
            log.warning(warning)
        return policy

    def may_have_evicted(self) -> bool:
        """Whether Redis has evicted any key since it started (``INFO stats``).

        One round trip per listing by account (not the hot path), so that an eviction
        a moment ago is seen. Once true it stays true in this process: an index entry
        that was evicted does not come back by itself. A server that refuses ``INFO``
        is taken at its word of the start-up check: no scan (README "Eviction").
        """
        if self._evicted:
            return True
        try:
            stats = self._connections.command("INFO", "stats")
        except self._refused:
            return False
        if _evicted_keys(stats) > 0:
            self._evicted = True
        return self._evicted

    def complete(
        self, keys: Sequence[str], account: str, scan: Callable[[], Iterable[str]]
    ) -> list[str]:
        """``keys`` (the account's index) plus, if Redis may have evicted index entries,
        every other session whose hash names ``account`` (found with ``scan``)."""
        if not self.may_have_evicted():
            return list(keys)
        known = set(keys)
        found: list[str] = list(keys)
        batch: list[str] = []

        def flush() -> None:
            # The session's hash: PREFIX{KEY} (stores/redis.py, the id as hash tag).
            names = [self._prefix + "{" + key + "}" for key in batch]
            replies = self._connections.batch([("HGET", name, "n") for name in names])
            found.extend(key for key, owner in zip(batch, replies, strict=True) if owner == account)
            batch.clear()

        for key in scan():
            if key not in known:
                batch.append(key)
                if len(batch) >= SCAN_BATCH:
                    flush()
        if batch:
            flush()
        if len(found) > len(known):
            log.warning(
                "%d session(s) of one account were missing from its index (Redis evicted"
                " keys: check maxmemory-policy); found by a scan",
                len(found) - len(known),
            )
        return found


def _pairs(reply: Any) -> dict[str, str]:
    """``CONFIG GET``'s reply: a map (RESP3) or a flat list of name, value (RESP2)."""
    if isinstance(reply, dict):
        return {str(k): str(v) for k, v in reply.items()}
    it = iter(reply)
    return {str(k): str(v) for k, v in zip(it, it, strict=True)}


def _evicted_keys(stats: Any) -> int:
    """``evicted_keys`` from ``INFO stats`` (text, or a dict once parsed); 0 if absent."""
    if isinstance(stats, dict):
        return int(stats.get("evicted_keys", 0))
    text = stats.decode() if isinstance(stats, bytes) else str(stats)
    for line in text.splitlines():
        if line.startswith("evicted_keys:"):
            return int(line.partition(":")[2].strip() or 0)
    return 0
