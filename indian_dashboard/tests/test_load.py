"""A short run of the load test (``make load`` runs the long one)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.server, pytest.mark.redis]

LOAD_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "load.py"


def test_short_load_run_loses_nothing() -> None:
    """Eight clients for five seconds on gunicorn (2 workers) and Redis: nothing lost."""
    if not LOAD_SCRIPT.exists():
        pytest.skip("scripts/load.py is not part of an installed package")
    done = subprocess.run(
        [sys.executable, str(LOAD_SCRIPT), "--duration", "5", "--clients", "8"],
        capture_output=True,
        text=True,
        timeout=70,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # The report is "NAME (padded to 19 columns) VALUE" per line.
    figures = {line[:19].strip(): line[19:].strip() for line in done.stdout.splitlines()}
    assert figures["lost writes"] == "0"
    assert figures["5xx answers"] == "0"
    assert figures["connection errors"] == "0"
    assert int(figures["watchlist writes"]) > 0
    assert figures["result"] == "OK"
