"""Text from a request, made safe to put in a log line or on an operator's terminal.

A request path, a header or a client id can carry CR, LF, VT, FF, NEL (U+0085),
the Unicode line and paragraph separators (U+2028, U+2029), ESC (terminal control
sequences) and bidirectional overrides. Written as they are, one log line can be
made to look like two, or an operator's terminal can be driven by a client.
:func:`escape` turns every such character into a visible escape (``\\n``,
``\\x1b``, ``\\u2028``) and doubles the backslash, so an escaped line cannot be
mistaken for one that was typed with a backslash.

:data:`security_log` is the library's ``flask_session_guard.security`` logger with
:class:`EscapeArgs` installed: every string argument of its records is escaped,
whoever calls it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["EscapeArgs", "escape", "security_log"]

#: C0 controls, DEL, C1 controls (NEL included), zero-width and bidi format
#: characters, the line and paragraph separators, the byte-order mark, lone
#: surrogates (from undecodable bytes), and the backslash itself.
_UNSAFE = re.compile(
    "[\\\\\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ud800-\udfff]"
)
_SHORT = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _replace(match: re.Match[str]) -> str:
    char = match.group()
    short = _SHORT.get(char)
    if short is not None:
        return short
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(value: object) -> str:
    """``str(value)`` with every control and line-separator character escaped.

    Plain printable text (the common case) comes back unchanged and unallocated.
    """
    text = value if isinstance(value, str) else str(value)
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_replace, text)


class EscapeArgs(logging.Filter):
    """A logger filter: escapes the string arguments of every record it passes.

    The format string is the caller's constant; only what came from outside (the
    arguments) is rewritten, so ``log.info("refused %s", request.path)`` is safe.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple):
            record.args = tuple(_escaped(a) for a in args)
        elif isinstance(args, Mapping):
            record.args = {k: _escaped(v) for k, v in args.items()}
        return True


def _escaped(value: Any) -> Any:
    # Numbers keep their type, so ``%d`` and ``%.2f`` still work; anything else (an
    # exception, an object) is escaped as the text ``%s`` would print.
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return escape(value)


#: Rejected tokens, refused origins, tampered cookies: reasons, never secret values.
security_log = logging.getLogger("flask_session_guard.security")
if not any(isinstance(f, EscapeArgs) for f in security_log.filters):
    security_log.addFilter(EscapeArgs())
