"""The secret key: checked when given, kept in ``instance/`` when FLASK_SECRET_KEY is not set.

Every session cookie is signed with it and sealed values are encrypted under a key
derived from it, so a guessable one opens both: a key shorter than
:data:`MIN_LENGTH` characters stops start-up. The development key file must be
readable by its owner only; one that others can read is made 0600, with a warning.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from flask_session_guard import ConfigError

log = logging.getLogger(__name__)

FILENAME = "secret_key"
#: Shortest key accepted (characters). ``secrets.token_hex(32)`` gives 64.
MIN_LENGTH = 32
#: The command the refusal names.
MAKE_ONE = "python -c 'import secrets; print(secrets.token_hex(32))'"


def check(key: object, source: str = "FLASK_SECRET_KEY") -> str:
    """``key`` if it is text of at least :data:`MIN_LENGTH` characters, else ConfigError.

    The message is one line naming ``source`` and the command that makes a good key;
    it never shows the key.
    """
    if isinstance(key, bytes):
        key = key.decode("utf-8", "replace")
    if not isinstance(key, str) or len(key.strip()) < MIN_LENGTH:
        size = len(key) if isinstance(key, str) else 0
        raise ConfigError(
            f"{source} is too short ({size} characters; at least {MIN_LENGTH}): "
            f"make one with {MAKE_ONE}"
        )
    return key


def load_or_create(instance_path: str | os.PathLike[str]) -> str:
    """Read the key file, making it (mode 0600) first if there is none.

    Safe when several workers start at once: the file is written aside and linked
    into place, so nobody ever reads a half-written key. A file that group or
    others may read is made 0600 with a warning (ConfigError when that fails); a
    file holding a short key is a ConfigError.
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
        _owner_only(path)
        log.warning(
            "FLASK_SECRET_KEY is not set: using the development key in %s. "
            "Production must set FLASK_SECRET_KEY.",
            path,
        )
    return check(path.read_text().strip(), source=f"The key in {path}")


def _owner_only(path: Path) -> None:
    """Make ``path`` 0600 if group or others have any access to it."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if not mode & 0o077:
        return
    try:
        os.chmod(path, 0o600)
    except OSError as err:
        raise ConfigError(
            f"The key file {path} can be read by others (mode {mode:o}) and could not be "
            f"made 0600 ({err.strerror}): chmod 600 it, or set FLASK_SECRET_KEY"
        ) from None
    log.warning(
        "The key file %s could be read by others (mode %o): made it 0600. "
        "Treat the key as exposed and replace it if others could log in here.",
        path,
        mode,
    )
