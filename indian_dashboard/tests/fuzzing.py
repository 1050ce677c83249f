"""Hypothesis settings, strategies and helpers of the property-based tests.

Those tests live with their subjects (test_csrf.py, test_cookies.py, test_bad_input.py).
Whatever arrives, the app answers below 500, every error is the envelope with a
code documented for its status (and the status documented for the operation),
and every success validates against the OpenAPI document. Runs are deterministic
(``derandomize``) and bounded; the number of examples tried is printed at the end
of the pytest run (see ``pytest_terminal_summary`` in conftest.py).
"""

from __future__ import annotations

import string

from flask import Flask
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from .conftest import DHAN, Visitor
from .contract import FUZZ_SCALE, TRIED


def fuzz(max_examples: int) -> settings:
    """Deterministic, bounded (times ``FUZZ_SCALE``), no example database."""
    return settings(
        derandomize=True,
        database=None,
        deadline=None,
        max_examples=max_examples * FUZZ_SCALE,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def tried(name: str) -> None:
    TRIED["hypothesis"] += 1
    TRIED[f"hypothesis: {name}"] += 1


B64_ALPHABET = string.ascii_letters + string.digits + "-_"
#: What a WSGI header value can hold: latin-1 text without line breaks.
header_text = st.text(
    st.characters(min_codepoint=0, max_codepoint=255, exclude_characters="\r\n"), max_size=300
)
any_text = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
    st.text(B64_ALPHABET, max_size=200),
    st.integers(0, 200).map(lambda n: "A" * n),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)


def connected_visitor(app: Flask) -> Visitor:
    visitor = Visitor(app.test_client())
    visitor.connect("dhan", DHAN)  # direct: one request per example
    return visitor
