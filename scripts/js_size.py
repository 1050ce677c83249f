"""Print the browser client's size: raw, minified, and minified + gzip -9.

Minifies with rjsmin (PyPI, in the test extra); if npx is on PATH it also
reports terser's figure (which also renames locals, so it is smaller).
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
from pathlib import Path

CLIENT = Path(__file__).resolve().parent.parent / "indian_dashboard/static/js/session-manager.js"
BUDGET = 5 * 1024


def gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def main() -> int:
    import rjsmin  # type: ignore[import-untyped]

    source = CLIENT.read_text(encoding="utf-8")
    minified = rjsmin.jsmin(source).encode()
    size = gz(minified)
    print(f"session-manager.js: {len(source.encode())} B raw, {len(minified)} B minified")
    print(f"min+gzip (rjsmin, gzip -9): {size} B (budget {BUDGET} B)")
    if shutil.which("npx"):
        done = subprocess.run(
            ["npx", "--yes", "terser", str(CLIENT), "-c", "-m"],
            capture_output=True,
            timeout=120,
            check=False,
        )
        if done.returncode == 0:
            print(f"min+gzip (terser -c -m, gzip -9): {gz(done.stdout)} B")
    return 0 if size <= BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
