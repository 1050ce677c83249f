"""The emulated login and consent pages, the way back to the app, and the fault switch."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import Blueprint, current_app, redirect, request
from markupsafe import Markup, escape
from werkzeug.wrappers import Response

from .state import Emulator

F = TypeVar("F", bound=Callable[..., Any])

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:28rem;margin:2rem auto}}
.demo{{background:#fde68a;padding:.5rem;border-radius:4px}} label{{display:block;margin:.5rem 0}}
.error{{color:#b91c1c}}</style></head>
<body><p class="demo" role="note">Demo broker: a local emulator of {broker}, not the real one.</p>
<h1>{title}</h1>{body}</body></html>"""


def emulator() -> Emulator:
    """The current emulator's state."""
    found: Emulator = current_app.extensions["broker_emulator"]
    return found


def page(view: F) -> F:
    """Mark a browser page (no faults, not recorded as an API call)."""
    view.emulator_page = True  # type: ignore[attr-defined]
    return view


def json_answer(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def html(broker: str, title: str, body: str | Markup, status: int = 200) -> Response:
    text = _PAGE.format(title=escape(title), broker=escape(broker), body=body)
    return Response(text, status=status, mimetype="text/html")


def login_form(
    broker: str, title: str, carry: Mapping[str, str], *, error: str = "", extra: str = ""
) -> Response:
    """A sign-in form posting back to this URL with ``carry`` as hidden fields."""
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in carry.items()
    )
    message = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = (
        f'{message}<form method="post">{hidden}'
        '<label>User ID <input name="user_id" autocomplete="off"></label>'
        '<label>Password <input name="password" type="password"></label>'
        f"{extra}"
        '<button name="decision" value="allow" type="submit">Allow</button> '
        '<button name="decision" value="deny" type="submit">Deny</button></form>'
    )
    return html(broker, title, Markup(body))


def signed_in(broker: str) -> tuple[str, str] | str:
    """The form's user and decision: ``(user_id, decision)``, or the error to show."""
    state = emulator()
    if request.form.get("decision") == "deny":
        return ("", "deny")
    user_id = request.form.get("user_id", "").strip()
    account = state.account(broker, user_id)
    if account is None or account.password != request.form.get("password", ""):
        return "Wrong user ID or password."
    return (user_id, "allow")


def login_page(
    broker: str, name: str, title: str, carry: Mapping[str, str]
) -> Response | tuple[str, str]:
    """The sign-in form (on GET, or again after a wrong password), or ``(user_id, decision)``.

    ``decision`` is ``"allow"`` or ``"deny"`` (a denial names no user).
    """
    if request.method == "GET":
        return login_form(name, title, carry)
    outcome = signed_in(broker)
    if isinstance(outcome, str):
        return login_form(name, title, carry, error=outcome)
    return outcome


def back(url: str, query: Mapping[str, str], encoded: str = "") -> Response:
    """Send the browser to the app's ``url`` with ``query`` (and ``encoded``, as is) appended."""
    text = urlencode(query) + (f"&{encoded}" if encoded else "")
    return redirect(f"{url}{'&' if '?' in url else '?'}{text}", code=302)


def install_faults(bp: Blueprint, broker: str) -> None:
    """Let tests make ``broker``'s API answer 500 or stall, and record its calls."""

    @bp.before_request
    def _fault() -> Response | None:
        view = current_app.view_functions.get(request.endpoint or "")
        if getattr(view, "emulator_page", False):
            return None
        state = emulator()
        state.record(broker, request.method, request.path)
        fault = state.faults.get(broker)
        if fault == "500":
            return json_answer({"status": "error", "message": "Internal server error"}, 500)
        if fault == "slow":
            time.sleep(state.slow_seconds)
        return None
