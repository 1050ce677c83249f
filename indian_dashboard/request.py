"""The request class and body limit: hostile bodies answer 400 or 413, never 500."""

from __future__ import annotations

from typing import Any

from flask import Request, request
from werkzeug.exceptions import RequestEntityTooLarge

from .errors import BadRequest


class DashboardRequest(Request):
    """Flask's request, with deeply nested JSON refused as a 400.

    Flask turns a ``ValueError`` from the JSON parser into a 400, but a body of
    ``[[[[...`` nested past Python's recursion limit raises ``RecursionError``.
    """

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            if silent:
                return None
            raise BadRequest("The JSON body is nested too deeply.") from None


def refuse_oversized_body() -> None:
    """``before_request``: a declared body over ``MAX_CONTENT_LENGTH`` is a 413 on any route.

    Werkzeug enforces the limit only when a view reads the body, so a view that
    takes its token from the header and reads nothing (extend, clear) would answer
    200 to a 10 MB POST. Runs before the session and CSRF checks: refusing costs nothing.
    """
    limit = request.max_content_length
    length = request.content_length
    if limit is not None and length is not None and length > limit:
        raise RequestEntityTooLarge()
