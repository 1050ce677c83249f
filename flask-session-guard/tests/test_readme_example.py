"""The README's "Use it in your own Flask app" example, run exactly as printed."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from flask import Flask
from flask.testing import FlaskClient

from .live import LIBRARY_ROOT

README = LIBRARY_ROOT.parent / "README.md"
SECTION = "## Use it in your own Flask app"


def example_source() -> str:
    """The first python block of the README's section."""
    text = README.read_text()
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the section has no python example"
    return match.group(1)


@pytest.fixture
def example(tmp_path: Path) -> Iterator[ModuleType]:
    """The example as a module ``app.py`` of its own folder (its instance/ goes there)."""
    path = tmp_path / "readme_app.py"
    path.write_text(example_source())
    spec = importlib.util.spec_from_file_location("readme_app", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["readme_app"] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules["readme_app"]
        module.app.extensions["session_manager"].store.close()


def form_token(client: FlaskClient) -> str:
    page = client.get("/").get_data(as_text=True)
    return page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def test_the_section_is_about_thirty_lines_and_installs_from_the_checkout() -> None:
    assert 25 <= len(example_source().splitlines()) <= 45
    assert "pip install ./flask-session-guard" in README.read_text().split(SECTION, 1)[1]


def test_the_example_works(example: ModuleType) -> None:
    app: Flask = example.app
    assert app.config["SESSION_STORE_URL"].startswith("sqlite:")
    client = app.test_client()
    assert client.get("/api/me").status_code == 401
    # Logging in without the form's token is refused.
    assert client.post("/login", data={"user": "asha"}).status_code == 403
    answer = client.post("/login", data={"user": "asha", "csrf_token": form_token(client)})
    assert answer.status_code == 302
    assert client.get("/api/me").json == {"user": "asha"}
    page = client.get("/").get_data(as_text=True)
    assert "Hello asha" in page
    script = page.split('<script src="', 1)[1].split('"', 1)[0]
    client_js = client.get(script)
    assert client_js.status_code == 200 and b"sessionManager" in client_js.data
    client_js.close()
    # The client's API is there too.
    assert client.get("/api/session/info").json["session"]["is_active"] is True  # type: ignore[index]
    assert client.post("/logout", data={"csrf_token": form_token(client)}).status_code == 302
    assert client.get("/api/me").status_code == 401
    assert (Path(str(example.__file__)).parent / "instance" / "sessions.sqlite3").exists()
