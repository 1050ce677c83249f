"""In-process clients: each framework's own test client, holding one session and its token."""

from __future__ import annotations

from typing import Any

from .apps import AppSpec


class InProcessClient:
    """``start()`` once, then ``read()``/``write()`` answer the status code."""

    def __init__(self, spec: AppSpec, app: Any) -> None:
        self.spec = spec
        self._app = app
        if spec.kind == "django":
            from django.test import Client

            self._client: Any = Client(enforce_csrf_checks=True)
        else:
            self._client = app.test_client()
        self._headers: dict[str, str] = {}

    def start(self) -> None:
        answer = self._client.get("/start")
        if answer.status_code != 200:
            raise RuntimeError(f"{self.spec.name}: /start answered {answer.status_code}")
        token = answer.json()["token"] if self.spec.kind == "django" else answer.json["token"]
        self._headers = {self.spec.csrf_header: token}

    def read(self) -> int:
        return int(self._client.get("/read").status_code)

    def write(self) -> int:
        if self.spec.kind == "django":
            # Django's test client takes headers as WSGI environ keys.
            key = "HTTP_" + self.spec.csrf_header.upper().replace("-", "_")
            return int(
                self._client.post(
                    "/write", **{key: self._headers[self.spec.csrf_header]}
                ).status_code
            )
        return int(self._client.post("/write", headers=self._headers).status_code)

    def store(self) -> Any:
        """The app's session store (ours only)."""
        return self._app.extensions["session_manager"].store

    def close(self) -> None:
        """Close the store's connections (a pool of ours), before its server stops."""
        extensions = getattr(self._app, "extensions", {})
        if "session_manager" in extensions:
            extensions["session_manager"].store.close()
