"""The browser client stays within its budget: 5 KB minified and gzipped."""

from __future__ import annotations

import gzip
from pathlib import Path

import rjsmin  # type: ignore[import-untyped]

CLIENT = Path(__file__).resolve().parent.parent / "static/js/session-manager.js"


def test_client_is_at_most_5_kb_minified_and_gzipped() -> None:
    minified = rjsmin.jsmin(CLIENT.read_text(encoding="utf-8")).encode()
    assert len(gzip.compress(minified, compresslevel=9, mtime=0)) <= 5 * 1024


def test_client_has_no_inline_handlers_or_external_urls() -> None:
    templates = Path(__file__).resolve().parent.parent / "templates"
    for page in templates.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "<script>" not in text and " onclick=" not in text and "<style" not in text
        assert "http://" not in text and "https://" not in text
