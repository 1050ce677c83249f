"""Signals an app can connect to, sent with blinker as Flask's own signals are.

Connect a receiver for one app with ``session_ended.connect(receiver, sender=app)``;
receivers run in the request that ended the session, before its answer is saved.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: Sent when a logout ends a live session (``clear_session()`` or ``session.clear()``).
#: The sender is the app; keyword arguments: ``data``, a copy of the session's user
#: data (sealed values decrypted), and ``account``, its account or ``None``. For
#: ending what the session holds elsewhere, such as a third party's access token.
#: Not sent for sessions that expire or are revoked: no request holds their data.
session_ended = _signals.signal("session-ended")
