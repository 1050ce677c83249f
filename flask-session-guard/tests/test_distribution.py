"""The two distributions: the library never reaches into the dashboard; no tests ship."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .live import LIBRARY_ROOT

REPO = LIBRARY_ROOT.parent
PACKAGE = LIBRARY_ROOT / "src" / "flask_session_guard"
_JUNK = shutil.ignore_patterns(".venv", "__pycache__", "*.egg-info", "build", "instance", "*.pyc")


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports by absolute name."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_no_library_source_imports_the_dashboard() -> None:
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 20
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            name for name in imported_modules(path) if name.split(".")[0] == "indian_dashboard"
        )
        for path in sources
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_check_sees_an_import(tmp_path: Path) -> None:
    # The checker itself must be able to fail.
    sample = tmp_path / "sample.py"
    sample.write_text("from indian_dashboard.api import broker\nimport indian_dashboard\n")
    assert imported_modules(sample) == {"indian_dashboard.api", "indian_dashboard"}


def test_importing_every_library_module_loads_nothing_of_the_dashboard() -> None:
    modules = [
        "flask_session_guard." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts)
        for p in sorted(PACKAGE.rglob("*.py"))
        if p.name != "__init__.py"
    ]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'indian_dashboard'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.strip() == "[]"


def build_wheel(source: Path, out: Path) -> zipfile.ZipFile:
    """``pip wheel --no-deps`` of ``source`` (offline: no build isolation)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    (wheel,) = out.glob("*.whl")
    return zipfile.ZipFile(wheel)


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """The file names in each wheel, built from copies (the checkout stays clean)."""
    work = tmp_path_factory.mktemp("wheels")
    library = work / "flask-session-guard"
    shutil.copytree(LIBRARY_ROOT, library, ignore=_JUNK)
    dashboard = work / "dashboard"
    dashboard.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, dashboard / name)
    # Symlinks (the dashboard's copy of the JS client) are copied as the files they name.
    shutil.copytree(REPO / "indian_dashboard", dashboard / "indian_dashboard", ignore=_JUNK)
    names = {}
    for key, source in (("library", library), ("dashboard", dashboard)):
        with build_wheel(source, work / f"{key}-wheel") as wheel:
            names[key] = wheel.namelist()
    return names


@pytest.mark.parametrize("key", ["library", "dashboard"])
def test_no_tests_ship(wheels: dict[str, list[str]], key: str) -> None:
    names = wheels[key]
    assert names
    shipped_tests = [n for n in names if "tests/" in n or n.split("/")[-1].startswith("test_")]
    assert shipped_tests == []
    assert not [n for n in names if n.startswith("tests")]


def test_library_wheel_has_the_client_and_py_typed(wheels: dict[str, list[str]]) -> None:
    names = set(wheels["library"])
    assert "flask_session_guard/py.typed" in names
    assert "flask_session_guard/static/session-manager.js" in names
    assert "flask_session_guard/static/session-manager.d.ts" in names
    assert not [n for n in names if n.startswith("indian_dashboard")]


def test_dashboard_wheel_holds_only_the_dashboard(wheels: dict[str, list[str]]) -> None:
    names = wheels["dashboard"]
    assert "indian_dashboard/py.typed" in names
    assert "indian_dashboard/static/js/session-manager.js" in names
    assert not [n for n in names if n.startswith("flask_session_guard")]


def third_party_imports(package: Path) -> set[str]:
    """Top-level names ``package`` imports that are neither stdlib nor the package itself."""
    found: set[str] = set()
    for path in package.rglob("*.py"):
        if "tests" in path.relative_to(package).parts:
            continue
        found.update(name.split(".")[0] for name in imported_modules(path))
    return found - set(sys.stdlib_module_names) - {"__future__", "_typeshed", package.name}


def declared(distribution: str) -> tuple[set[str], set[str]]:
    """Import names of the installed ``distribution``'s runtime and optional dependencies.

    Read from its metadata, which ``make`` refreshes whenever a pyproject changes.
    """
    runtime: set[str] = set()
    optional: set[str] = set()
    for requirement in importlib.metadata.requires(distribution) or []:
        name = re.split(r"[\[<>=!~;\s]", requirement, maxsplit=1)[0].lower().replace("-", "_")
        marker = requirement.partition(";")[2]
        if "extra ==" not in marker:
            runtime.add(name)
        elif "test" not in marker:
            optional.add(name)
    return runtime, optional


@pytest.mark.parametrize(
    ("distribution", "package"),
    [("flask-session-guard", PACKAGE), ("indian-dashboard", REPO / "indian_dashboard")],
)
def test_runtime_dependencies_are_what_the_code_imports(distribution: str, package: Path) -> None:
    runtime, optional = declared(distribution)
    imported = third_party_imports(package)
    # Optional drivers (redis, prometheus_client) are imported lazily, behind their extra.
    assert imported - (optional - runtime) == runtime
