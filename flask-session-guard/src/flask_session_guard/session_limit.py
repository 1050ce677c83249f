"""``SESSION_MAX_PER_ACCOUNT``: how many live sessions one account may hold.

The policy at the limit (ASVS 5.0 V7.1.2): a new login always succeeds, and the
account's oldest sessions (by creation) end to make room for it. They are revoked
with the reason ``session_limit``, so their holders are told so (401
``session_limit``) on their next request, and each is audited as
``session_revoked`` with ``by: "session_limit"``. Refusing the new login instead
would let someone who left sessions on lost devices lock themselves out for up to
the absolute lifetime.

Room is made when the login's answer succeeds (an ``after_this_request`` hook):
a login that fails afterwards ends nobody. Two logins of one account at the same
instant each make room for themselves, so the account can briefly hold one
session over the limit; the next login trims it.
"""

from __future__ import annotations

from collections.abc import Collection

from .stores.base import SessionRecord, SessionStore


def make_room(
    store: SessionStore,
    account: str,
    now: float,
    limit: int,
    *,
    keep: Collection[str] = (),
) -> list[SessionRecord]:
    """Revoke the oldest live sessions of ``account`` until one more fits under ``limit``.

    Sessions under ``keep`` (the ones this login replaces, deleted when it is
    saved) neither count nor are chosen. One index look-up, then one revocation per
    session ended. Returns the sessions that were ended by this call.
    """
    records = [r for r in store.list_sessions(now, account=account) if r.key not in keep]
    excess = len(records) - (limit - 1)
    if excess <= 0:
        return []
    oldest = sorted(records, key=lambda r: r.created_at)[:excess]
    return [r for r in oldest if store.revoke(r.key, now, reason="session_limit")]
