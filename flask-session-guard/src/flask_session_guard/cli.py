"""``flask --app APP sessions ...``: operator commands on the app's own store.

Added to every app by ``SessionManager.init_app``. Everything a client chose (an
account's client id, a device description, an IP text, an id typed back) is
printed through :func:`~.log_safety.escape`, so ESC sequences and newlines never
reach the operator's terminal as they are.
"""

from __future__ import annotations

from collections import Counter

import click
from flask import current_app
from flask.cli import AppGroup

from .checks import fetch, run_checks
from .clock import isoformat
from .extension import get_session_manager
from .log_safety import escape
from .stores import StoreUnavailable

sessions_cli = AppGroup("sessions", help="Inspect and end stored sessions.")


@sessions_cli.command("stats")
def stats() -> None:
    """Live sessions: total, by account, and created in the last hour."""
    state = current_app.extensions["session_manager"]
    now = state.interface.now()
    records = state.store.list_sessions(now)
    by_account = Counter(r.account or "(pre-login)" for r in records)
    recent = sum(1 for r in records if r.created_at >= now - 3600)
    click.echo(f"store: {state.settings.store_url.split('://', 1)[0]}")
    click.echo(f"live sessions: {len(records)}")
    click.echo(f"created in the last hour: {recent}")
    for account, count in by_account.most_common():
        click.echo(f"  {escape(account)}: {count}")


@sessions_cli.command("list")
@click.option("--account", help="Only this account's sessions, e.g. user:42.")
@click.option("--limit", default=100, show_default=True, help="At most this many rows.")
def list_sessions(account: str | None, limit: int) -> None:
    """Live sessions, newest first: public id, account, device, IP, times."""
    state = current_app.extensions["session_manager"]
    records = state.store.list_sessions(state.interface.now(), account=account, limit=limit)
    if not records:
        click.echo("no live sessions")
        return
    for r in records:
        click.echo(
            f"{escape(r.key)}  {escape(r.account or '(pre-login)')}  {escape(r.device or '-')}"
            f"  {escape(r.ip or '-')}"
            f"  created {isoformat(r.created_at)}  last active {isoformat(r.last_activity)}"
        )


# Public ids may start with "-": take them as the argument, not as an option.
@sessions_cli.command("revoke", context_settings={"ignore_unknown_options": True})
@click.argument("public_id")
def revoke(public_id: str) -> None:
    """End one session by its public id; its holder gets 401 session_revoked."""
    state = current_app.extensions["session_manager"]
    record = state.store.get(public_id, state.interface.now())
    account = record.account if record else None
    if not get_session_manager().revoke_by_operator(public_id, account):
        raise click.ClickException("no live session has that id")
    click.echo(f"Revoked session {escape(public_id)}.")


@sessions_cli.command("revoke-account")
@click.argument("account")
def revoke_account(account: str) -> None:
    """End every session of ACCOUNT (e.g. user:42)."""
    count = get_session_manager().revoke_all_sessions(account)
    click.echo(f"Revoked {count} session(s) of {escape(account)}.")


@sessions_cli.command("revoke-all")
@click.option("--yes", is_flag=True, help="Do it without asking.")
def revoke_all(yes: bool) -> None:
    """End every live session of every account (their holders get 401 session_revoked)."""
    if not yes:
        click.confirm("End every live session of every account?", abort=True)
    state = current_app.extensions["session_manager"]
    manager = get_session_manager()
    records = state.store.list_sessions(state.interface.now())
    count = sum(manager.revoke_by_operator(r.key, r.account) for r in records)
    click.echo(f"Revoked {count} session(s).")


@sessions_cli.command("purge-expired")
def purge_expired() -> None:
    """Remove expired sessions from the store and say how many went (0 on Redis)."""
    removed = get_session_manager().purge_expired()
    click.echo(f"Removed {removed} expired session(s).")


@sessions_cli.command("check")
@click.option("--url", help="Also read a live answer of this site, e.g. https://dash.example.com.")
@click.option(
    "--cafile",
    type=click.Path(exists=True, dir_okay=False),
    help="Trust this CA certificate for --url (a private or test CA).",
)
def check(url: str | None, cafile: str | None) -> None:
    """Production checks, each as ok or the fix; exits 1 if anything needs fixing."""
    live = fetch(url.rstrip("/") + "/", cafile=cafile) if url else None
    results = run_checks(current_app, live)
    for result in results:
        click.echo(f"{result.status:4}  {result.name}: {result.message}")
    fixes = sum(1 for r in results if r.status == "fix")
    if fixes:
        raise click.ClickException(f"{fixes} check(s) need fixing")
    click.echo("all checks passed")


@sessions_cli.command("init-db")
def init_db() -> None:
    """Create the store's tables now (PostgreSQL) instead of on first use."""
    state = current_app.extensions["session_manager"]
    scheme = state.settings.store_url.split("://", 1)[0]
    # Only stores with a schema to set up have init_schema (see stores/postgres.py).
    init_schema = getattr(state.store, "init_schema", None)
    if init_schema is None:
        click.echo(f"store: {scheme}: nothing to create (this store sets itself up when it opens).")
        return
    try:
        done = init_schema()
    except StoreUnavailable as err:
        raise click.ClickException(f"the session store is unavailable: {escape(err)}") from None
    click.echo(f"store: {scheme}: {done}.")
