"""A local emulator of five Indian brokers' sign-in APIs, for tests and ``make demo``.

It speaks each broker's documented endpoints, login and consent pages and
error shapes (see ``/work/shared/brokers.md`` in the project notes and the
README), with demo accounts. It is never started by ``make run``.
"""

from __future__ import annotations

from flask import Flask
from markupsafe import Markup, escape
from werkzeug.wrappers import Response

from . import angelone, dhan, fyers, kite, upstox
from .pages import html
from .state import Account, App, Emulator

__all__ = ["Account", "App", "Emulator", "base_urls", "create_emulator"]


def base_urls(root: str) -> dict[str, str]:
    """The dashboard's ``BROKER_*`` settings for an emulator served at ``root``."""
    root = root.rstrip("/")
    return {
        "BROKER_KITE_LOGIN_URL": f"{root}/kite/connect/login",
        "BROKER_KITE_API_URL": f"{root}/kite",
        "BROKER_UPSTOX_API_URL": f"{root}/upstox",
        "BROKER_FYERS_API_URL": f"{root}/fyers",
        "BROKER_ANGELONE_API_URL": f"{root}/angelone",
        "BROKER_DHAN_AUTH_URL": f"{root}/dhan-auth",
        "BROKER_DHAN_API_URL": f"{root}/dhan-api",
    }


def create_emulator(state: Emulator) -> Flask:
    """The emulator's WSGI app over ``state``."""
    app = Flask(__name__)
    app.extensions["broker_emulator"] = state
    for bp in (kite.bp, upstox.bp, fyers.bp, angelone.bp, dhan.auth_bp, dhan.api_bp):
        app.register_blueprint(bp)

    @app.get("/")
    def home() -> Response:
        """The demo accounts, with Angel One's current TOTP code."""
        rows = []
        for account in sorted(state.accounts.values(), key=lambda a: (a.broker, a.user_id)):
            secret = (
                f"MPIN {account.pin}, TOTP now {state.current_totp(account)}"
                if account.totp_secret
                else f"password {account.password}"
            )
            rows.append(
                f"<li>{escape(account.broker)}: {escape(account.user_id)} "
                f"({escape(account.name)}), {escape(secret)}</li>"
            )
        body = Markup(f"<ul>{''.join(rows)}</ul>")
        return html("five brokers", "Demo broker accounts", body)

    return app
