"""The development secret key kept in ``instance/`` when FLASK_SECRET_KEY is not set."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

log = logging.getLogger(__name__)

FILENAME = "secret_key"


def load_or_create(instance_path: str | os.PathLike[str]) -> str:
    """Read the key file, making it (mode 0600) first if there is none.

    Safe when several workers start at once: the file is written aside and linked
    into place, so nobody ever reads a half-written key.
    """
    folder = Path(instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILENAME
    if not path.exists():
        tmp = folder / f".{FILENAME}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
            log.warning(
                "FLASK_SECRET_KEY is not set: generated a development key in %s. "
                "Production must set FLASK_SECRET_KEY.",
                path,
            )
        except FileExistsError:
            pass  # another worker won the race; use its key
        finally:
            tmp.unlink()
    else:
        log.warning(
            "FLASK_SECRET_KEY is not set: using the development key in %s. "
            "Production must set FLASK_SECRET_KEY.",
            path,
        )
    return path.read_text().strip()
