"""The dashboard's own check in ``flask --app indian_dashboard sessions check``: its files.

The instance folder holds the generated secret key and the SQLite store; nobody
but the service's user may read them.
"""

from __future__ import annotations

import stat
from pathlib import Path

from flask import Flask
from flask_session_guard.checks import Check, LiveAnswer

from .secret_key import FILENAME


def file_permissions(app: Flask, live: LiveAnswer | None) -> Check:
    """``ok`` when the instance folder and its files are private to their owner."""
    folder = Path(app.instance_path)
    problems: list[str] = []
    if folder.stat().st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        problems.append(f"chmod 700 {folder}")
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            problems.append(f"chmod 600 {path}")
    key_file = folder / FILENAME
    if app.config.get("DASHBOARD_KEY_FILE_IN_USE"):
        problems.append(
            f"the generated development key {key_file} is in use: set FLASK_SECRET_KEY "
            "(equal on every server)"
        )
    if problems:
        return Check("key file permissions", "fix", "; ".join(problems))
    return Check("key file permissions", "ok", f"{folder} and its files are owner-only")
