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

#: NSE-style symbols: upper-case letters, digits, ``&`` and ``-``, 1 to 20 characters.
SYMBOL_RE = re.compile(r"[A-Z0-9&-]{1,20}")
MAX_SYMBOLS = 200
_KEY = "watchlist"


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _symbol(value: Any) -> str:
    if not isinstance(value, str) or not SYMBOL_RE.fullmatch(value):
        raise BadRequest(
            "symbol must be 1 to 20 upper-case letters, digits, '&' or '-' (e.g. RELIANCE)."
        )
    return value


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
    symbol = _symbol(json_object().get("symbol"))

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
    symbol = _symbol(symbol)
    removed: list[bool] = []

    def remove(current: list[str] | None) -> list[str]:
        symbols = list(current or [])
        removed.append(symbol in symbols)
        return [s for s in symbols if s != symbol]

    watchlist = get_session_manager().update_user_data(_KEY, remove)
    if not removed[-1]:
        raise NotFound(f"{symbol} is not in the watchlist.")
    return jsonify(status="success", watchlist=watchlist)
