"""The emulator on a loopback port in a background thread (tests)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from . import base_urls, create_emulator

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment
from .state import Emulator


class BrokerRequestHandler(WSGIRequestHandler):
    """Keeps headers whose names hold ``_`` (Dhan's ``app_id``, ``app_secret``).

    Werkzeug's server drops them (a header-smuggling defence for apps behind
    proxies); Dhan's API relies on them, so the emulator must see them.
    """

    def make_environ(self) -> WSGIEnvironment:
        environ = super().make_environ()
        for key, value in self.headers.items():
            if "_" in key:
                environ["HTTP_" + key.upper()] = value
        return environ


class _QuietHandler(BrokerRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Tests read the emulator's ``calls`` instead of an access log."""


class EmulatorServer:
    """``EmulatorServer(state).start()`` serves on a free port until ``stop()``."""

    def __init__(self, state: Emulator, host: str = "127.0.0.1") -> None:
        self.state = state
        self._server: BaseWSGIServer = make_server(
            host,
            0,
            create_emulator(state),
            threaded=True,
            request_handler=_QuietHandler,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="broker-emulator", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self._server.host}:{self._server.port}"

    def settings(self) -> dict[str, str]:
        """The dashboard's ``BROKER_*`` base URLs pointing here."""
        return base_urls(self.url)

    def start(self) -> EmulatorServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
