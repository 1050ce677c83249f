"""Text from requests in log lines and terminal output: every control character escaped."""

from __future__ import annotations

import logging

import pytest
from flask_session_guard.log_safety import EscapeArgs, escape, security_log

#: Each makes one line look like two, or drives a terminal, when written as it is.
UNSAFE = {
    "\r": "\\r",
    "\n": "\\n",
    "\t": "\\t",
    "\x0b": "\\x0b",  # VT
    "\x0c": "\\x0c",  # FF
    "\x1b": "\\x1b",  # ESC
    "\x00": "\\x00",
    "\x7f": "\\x7f",
    "\x85": "\\x85",  # NEL
    "\x9b": "\\x9b",  # CSI (C1)
    "\u2028": "\\u2028",  # LINE SEPARATOR
    "\u2029": "\\u2029",  # PARAGRAPH SEPARATOR
    "\u202e": "\\u202e",  # RIGHT-TO-LEFT OVERRIDE
    "\ud800": "\\ud800",  # a lone surrogate (undecodable bytes)
    "\\": "\\\\",
}


@pytest.mark.parametrize(("char", "shown"), list(UNSAFE.items()))
def test_every_unsafe_character_is_escaped(char: str, shown: str) -> None:
    assert escape(f"/a{char}b") == f"/a{shown}b"


def test_escaped_text_has_one_line_and_only_printable_characters() -> None:
    text = escape("".join(UNSAFE) + "x")
    assert len(text.splitlines()) == 1
    assert text.isprintable()


def test_plain_text_is_unchanged() -> None:
    text = "/api/watchlist/NSE:SBIN-EQ ₹ ünïcode 日本"
    assert escape(text) is text


def test_a_typed_backslash_cannot_pass_for_an_escape() -> None:
    assert escape("\\n") != escape("\n")


def test_security_log_escapes_its_arguments(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=security_log.name):
        security_log.info("refused %s (%d)", "/x\r\n2026 INFO forged line\u2028", 7)
    (record,) = caplog.records
    assert record.getMessage() == "refused /x\\r\\n2026 INFO forged line\\u2028 (7)"


def test_filter_keeps_numbers_and_escapes_mapping_arguments() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%(p)s %(n).1f", None, None)
    record.args = {"p": "a\x1b[2Jb", "n": 1.25}
    assert EscapeArgs().filter(record)
    assert record.getMessage() == "a\\x1b[2Jb 1.2"


def test_other_objects_are_escaped_as_their_text() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s", (ValueError("a\nb"),), None)
    EscapeArgs().filter(record)
    assert record.getMessage() == "a\\nb"
