"""``/api/watchlist``: NSE symbols kept in the session, changed atomically."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, jsonify
from flask_session_guard import (
    BadRequest,
    NotFound,
    get_session_manager,
    json_object,
    require_csrf,
    require_session,
)

bp = Blueprint("watchlist_api", __name__, url_prefix="/api/watchlist")

#: NSE-style symbols: letters (either case; kept in capitals), digits, ``&`` and ``-``.
SYMBOL_RE = re.compile(r"[A-Za-z0-9&-]{1,20}")
#: The longest symbol, in characters.
MAX_SYMBOL = 20
MAX_SYMBOLS = 200
#: What a symbol may hold, as a trader is told.
ALLOWED = "use only letters A to Z, digits 0 to 9, “&” and “-”."
#: The field's label on the dashboard: messages name the field as the trader sees it.
LABEL = "NSE symbol"
_KEY = "watchlist"


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def check_symbol(value: Any) -> str:
    """The symbol as kept (letters in capitals), or :class:`BadRequest` saying what is wrong.

    Nothing else is changed silently: a space, a character outside A-Z, 0-9, ``&`` and
    ``-`` (``ß`` is refused, not turned into ``SS``) or a 21st character is an error
    that names the field by its label and says what to do.
    """
    if not isinstance(value, str):
        raise BadRequest(f"Type the {LABEL} as text, for example RELIANCE.")
    if not value:
        raise BadRequest(f"Type an {LABEL}, for example RELIANCE.")
    if any(c.isspace() for c in value):
        inner = value.strip()
        where = "inside it" if any(c.isspace() for c in inner) else "at the start or end"
        raise BadRequest(f"Remove the space {where}: an {LABEL} has no spaces.")
    if len(value) > MAX_SYMBOL:
        raise BadRequest(
            f"An {LABEL} has at most {MAX_SYMBOL} characters; this one has {len(value)}."
        )
    if not SYMBOL_RE.fullmatch(value):
        bad = next(c for c in value if not SYMBOL_RE.fullmatch(c))
        shown = f"“{bad}”" if bad.isprintable() else f"U+{ord(bad):04X}"
        raise BadRequest(f"An {LABEL} cannot contain {shown}: {ALLOWED}")
    return value.upper()


@bp.get("")
@require_session
def list_symbols() -> Response:
    """The watchlist, in the order symbols were added."""
    return jsonify(status="success", watchlist=get_session_manager().get_user_data(_KEY, []))


@bp.post("")
@require_session
@require_csrf
def add_symbol() -> Response:
    """Add one symbol; adding one already there changes nothing."""
    symbol = check_symbol(json_object().get("symbol"))

    def add(current: list[str] | None) -> list[str]:
        symbols = list(current or [])
        if symbol in symbols:
            return symbols
        if len(symbols) >= MAX_SYMBOLS:
            raise BadRequest(f"The watchlist holds at most {MAX_SYMBOLS} symbols.")
        return [*symbols, symbol]

    watchlist = get_session_manager().update_user_data(_KEY, add)
    return jsonify(status="success", watchlist=watchlist)


@bp.delete("/<path:symbol>")
@require_session
@require_csrf
def remove_symbol(symbol: str) -> Response:
    """Remove one symbol; 404 when it is not in the watchlist."""
    symbol = check_symbol(symbol)
    removed: list[bool] = []

    def remove(current: list[str] | None) -> list[str]:
        symbols = list(current or [])
        removed.append(symbol in symbols)
        return [s for s in symbols if s != symbol]

    watchlist = get_session_manager().update_user_data(_KEY, remove)
    if not removed[-1]:
        raise NotFound(f"{symbol} is not in your watchlist; reload the page to see it as it is.")
    return jsonify(status="success", watchlist=watchlist)
