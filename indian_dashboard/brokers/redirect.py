"""The redirect sign-in Kite, Upstox and Fyers share: their login page, a code back, a token.

:meth:`RedirectBroker.start` sends the browser to the broker's login page with
the broker's own query; :meth:`RedirectBroker.finish` reads the one-time code
the broker sent back to the callback and hands it to :meth:`RedirectBroker.redeem`,
which is each broker's own: how the exchange is signed and how its answer names
the trader.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import ClassVar
from urllib.parse import urlencode

from .base import Broker, BrokerAuthFailed, Context, Login, Redirect, reason


class RedirectBroker(Broker):
    """A broker signed in to through its own login page, with a one-time code back."""

    #: The login page: a base URL's name in the settings and the path under it.
    login_page: ClassVar[tuple[str, str]]
    #: The callback parameter that carries the one-time code.
    code_param: ClassVar[str]
    #: The ``(parameter, value)`` a successful callback carries besides the code, if any.
    callback_success: ClassVar[tuple[str, str] | None] = None
    #: The callback parameter holding the broker's words when the login failed, if any.
    callback_message: ClassVar[str | None] = None
    #: Why the sign-in failed when the callback carries no code and no words.
    cancelled: ClassVar[str]

    @abstractmethod
    def login_query(self, credentials: dict[str, str], ctx: Context) -> dict[str, str]:
        """The login page's query: the app's id, our callback and our ``state``."""

    def pending(self, credentials: dict[str, str], ctx: Context) -> dict[str, str]:
        """What :meth:`redeem` will need: by default the credentials typed."""
        return dict(credentials)

    def start(self, credentials: dict[str, str], ctx: Context) -> Redirect:
        base, path = self.login_page
        query = urlencode(self.login_query(credentials, ctx))
        return Redirect(f"{ctx.settings.url(base)}{path}?{query}", self.pending(credentials, ctx))

    def finish(self, pending: dict[str, str], params: Mapping[str, str], ctx: Context) -> Login:
        code = params.get(self.code_param, "")
        success = self.callback_success
        if not code or (success is not None and params.get(success[0]) != success[1]):
            words = params.get(self.callback_message) if self.callback_message else None
            raise BrokerAuthFailed(reason(self.display_name, words, self.cancelled))
        return self.redeem(pending, code, ctx)

    @abstractmethod
    def redeem(self, pending: dict[str, str], code: str, ctx: Context) -> Login:
        """Exchange the one-time ``code`` for a token, and read whom it signs in.

        Raises :class:`~.base.BrokerAuthFailed` or :class:`~.base.BrokerUnavailable`.
        """
