"""``flask --app indian_dashboard sessions ...``: operator commands."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from .session_manager import get_session_manager

sessions_cli = AppGroup("sessions", help="Inspect and maintain stored sessions.")


@sessions_cli.command("purge-expired")
def purge_expired() -> None:
    """Remove expired sessions from the store and say how many went."""
    removed = get_session_manager().purge_expired()
    click.echo(f"Removed {removed} expired session(s).")


def register_cli(app: Flask) -> None:
    """Add the ``sessions`` command group to ``app``."""
    app.cli.add_command(sessions_cli)
