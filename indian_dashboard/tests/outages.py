"""What every store outage must answer: 503 store_unavailable, Retry-After, no cookie."""

from __future__ import annotations


def assert_503(response: object, *, page: bool = False) -> None:
    """``response`` is the clean 503 of an unavailable store (``Retry-After: 5``, the
    default), and sets no cookie: never a 500, never a fresh session. A page stays a
    page (``page=True``: the outage page, not the JSON envelope)."""
    assert response.status_code == 503, response.get_data(as_text=True)  # type: ignore[attr-defined]
    if page:
        assert response.mimetype == "text/html"  # type: ignore[attr-defined]
    else:
        assert response.json["error"] == "store_unavailable"  # type: ignore[attr-defined]
    assert response.headers["Retry-After"] == "5"  # type: ignore[attr-defined]
    assert "Set-Cookie" not in response.headers  # type: ignore[attr-defined]
