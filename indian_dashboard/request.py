"""The request class: JSON parsing that answers 400, never 500, for hostile bodies."""

from __future__ import annotations

from typing import Any

from flask import Request

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
