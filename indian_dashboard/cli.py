"""``flask --app indian_dashboard sessions [--instance PATH] ...``.

The library's ``sessions`` commands, with the instance folder chosen as
``python -m indian_dashboard --instance`` chooses it, so a command reads the
server's store rather than a new empty one.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import click
from flask import Flask
from flask.cli import AppGroup
from flask_session_guard.cli import sessions_cli


def sessions_group(factory: Callable[..., Flask]) -> click.Group:
    """A ``sessions`` group with ``--instance`` in front of the library's commands.

    ``factory(instance_path=...)`` builds the app for another instance folder; its
    app context is the one the subcommand runs in.
    """

    @click.group(
        "sessions",
        cls=AppGroup,
        commands=dict(sessions_cli.commands),
        help=f"{sessions_cli.help} The store is the one of --instance (default ./instance).",
    )
    @click.option(
        "--instance",
        # Must exist: a mistyped path must not open a new, empty store.
        type=click.Path(exists=True, file_okay=False),
        default=None,
        help="instance folder, as given to python -m indian_dashboard (default ./instance)",
    )
    @click.pass_context
    def group(ctx: click.Context, instance: str | None) -> None:
        if instance is not None:
            app = factory(instance_path=os.path.abspath(instance))
            ctx.with_resource(app.app_context())

    return group
