"""The request class and body limit: hostile bodies answer 400 or 413, never 500.

``init_app`` installs both (:func:`install_request_class`, and
:func:`refuse_oversized_body` unless ``SESSION_BODY_LIMIT`` is off).
"""

from __future__ import annotations

from typing import IO, Any, cast

from flask import Flask, Request, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream

from .errors import BadRequest


class _CappedStream(LimitedStream):
    """A body without a length (chunked), capped at ``MAX_CONTENT_LENGTH``: longer is a 413.

    Werkzeug's ``LimitedStream.readall`` stops quietly at the cap, so ``get_data``
    would hand on the first 64 KiB of a longer chunked body, which may even parse.
    """

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        super().__init__(stream, limit, is_max=True)
        self._source = stream

    def readall(self) -> bytes:
        data = super().readall()
        if self.is_exhausted and self._source.read(1):
            raise RequestEntityTooLarge()
        return data


class GuardedRequestMixin(Request):
    """Deeply nested JSON refused as a 400, and the body limit kept for chunked bodies.

    Flask turns a ``ValueError`` from the JSON parser into a 400, but a body of
    ``[[[[...`` nested past Python's recursion limit raises ``RecursionError``.
    A chunked body longer than ``MAX_CONTENT_LENGTH`` is a 413, not cut short.
    Put it before an app's own request class: ``class R(GuardedRequestMixin, MyRequest)``.
    """

    @cached_property
    def stream(self) -> IO[bytes]:
        limit = self.max_content_length
        if (
            limit is not None
            and not self.shallow
            and self.content_length is None
            and self.environ.get("wsgi.input_terminated")
        ):
            return cast(IO[bytes], _CappedStream(self.environ["wsgi.input"], limit))
        return super().stream

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            if silent:
                return None
            raise BadRequest("The JSON body is nested too deeply.") from None


class GuardedRequest(GuardedRequestMixin, Request):
    """Flask's request with :class:`GuardedRequestMixin`: what ``init_app`` installs."""


def install_request_class(app: Flask) -> None:
    """Make ``app.request_class`` guarded, keeping an app's own request class.

    Flask's ``Request`` becomes :class:`GuardedRequest`; an app's own subclass gets
    the mixin put in front of it; one that already has it is left alone. A class
    set after ``init_app`` is the app's to guard (subclass :class:`GuardedRequest`).
    """
    current = app.request_class
    if issubclass(current, GuardedRequestMixin):
        return
    if current is Request:
        app.request_class = GuardedRequest
        return
    app.request_class = type(f"Guarded{current.__name__}", (GuardedRequestMixin, current), {})


def refuse_oversized_body() -> None:
    """``before_request``: a declared body over ``MAX_CONTENT_LENGTH`` is a 413 on any route.

    Werkzeug enforces the limit only when a view reads the body, so a view that
    takes its token from the header and reads nothing (extend, clear) would answer
    200 to a 10 MB POST. Runs before the session and CSRF checks: refusing costs nothing.
    """
    declared = request.environ.get("CONTENT_LENGTH")
    if not declared or declared == "0":
        return  # most requests declare no body (every GET) or an empty one: nothing to look up
    limit = request.max_content_length
    length = request.content_length
    if limit is not None and length is not None and length > limit:
        raise RequestEntityTooLarge()
