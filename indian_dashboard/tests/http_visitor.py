"""A browser-like HTTP client for tests against real servers (gunicorn on loopback)."""

from __future__ import annotations

from typing import Any

import requests

from .emulated import DHAN


class HttpVisitor:
    """Keeps its cookie (shared by every port of 127.0.0.1) and its latest CSRF token."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.timeout = timeout
        self.token: str | None = None
        self.info: dict[str, Any] = {}

    def close(self) -> None:
        self.http.close()

    def url(self, path: str, base_url: str | None = None) -> str:
        return (base_url or self.base_url) + path

    def request(
        self, method: str, path: str, *, base_url: str | None = None, **kwargs: Any
    ) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if self.token and method != "GET":
            headers.setdefault("X-CSRF-Token", self.token)
        return self.http.request(
            method, self.url(path, base_url), headers=headers, timeout=self.timeout, **kwargs
        )

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def connect(
        self, base_url: str | None = None, *, credentials: dict[str, str] | None = None
    ) -> None:
        """Fetch a pre-login token, sign in (Dhan's direct flow, at the emulator; with
        ``credentials``, default the test account's), keep the new token and session info."""
        answer = self.get("/api/session/csrf-token", base_url=base_url)
        answer.raise_for_status()
        self.token = answer.json()["csrf_token"]
        answer = self.post(
            "/api/broker/connect",
            json={"broker": "dhan", "credentials": credentials or DHAN},
            base_url=base_url,
        )
        answer.raise_for_status()
        self.token = answer.json()["csrf_token"]
        self.info = answer.json()["session"]

    def cookie(self) -> str:
        """The session cookie's value."""
        value = self.http.cookies.get("session")
        assert value is not None, "no session cookie"
        return value

    def clone(self, base_url: str | None = None) -> HttpVisitor:
        """Another client holding the same cookie and token (another tab, another server)."""
        other = HttpVisitor(base_url or self.base_url, timeout=self.timeout)
        other.http.cookies.update(self.http.cookies)
        other.token = self.token
        other.info = dict(self.info)
        return other


def http_connect(base_url: str) -> tuple[str, str]:
    """Connect a Dhan account over HTTP: the session cookie and the CSRF token."""
    visitor = HttpVisitor(base_url)
    try:
        visitor.connect()
        assert visitor.token is not None
        return visitor.cookie(), visitor.token
    finally:
        visitor.close()
