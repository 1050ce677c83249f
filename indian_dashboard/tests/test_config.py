"""Configuration from the environment, start-up errors, and the development secret key."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from indian_dashboard import create_app
from indian_dashboard.config import ConfigError, config_from_env

from .servers import SECRET, start_up_refusal


class TestEnvironment:
    def test_documented_variables_are_read(self) -> None:
        config = config_from_env(
            {
                "FLASK_SECRET_KEY": "k" * 40,
                "SESSION_TIMEOUT": "120",
                "SESSION_ABSOLUTE_TIMEOUT": "7200",
                "SESSION_STORE_URL": "memory://",
                "SESSION_COOKIE_SECURE": "true",
                "SESSION_ACTIVITY_INTERVAL": "0",
            }
        )
        assert config == {
            "SECRET_KEY": "k" * 40,
            "SESSION_TIMEOUT": 120.0,
            "SESSION_ABSOLUTE_TIMEOUT": 7200.0,
            "SESSION_STORE_URL": "memory://",
            "SESSION_COOKIE_SECURE": True,
            "SESSION_ACTIVITY_INTERVAL": 0.0,
        }

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("SESSION_TIMEOUT", "-5"),
            ("SESSION_TIMEOUT", "0"),
            ("SESSION_TIMEOUT", "an hour"),
            ("SESSION_TIMEOUT", "nan"),
            ("SESSION_ABSOLUTE_TIMEOUT", "inf"),
            ("SESSION_COOKIE_SECURE", "maybe"),
            ("SESSION_ACTIVITY_INTERVAL", "-1"),
        ],
    )
    def test_bad_values_name_the_variable(self, name: str, value: str) -> None:
        with pytest.raises(ConfigError, match=name):
            config_from_env({name: value})

    def test_defaults_follow_the_guide(self, tmp_path: Path) -> None:
        app = create_app({"SECRET_KEY": SECRET}, instance_path=str(tmp_path))
        assert app.config["SESSION_TIMEOUT"] == 3600
        assert app.config["SESSION_ABSOLUTE_TIMEOUT"] == 43200
        assert app.config["SESSION_COOKIE_HTTPONLY"] is True
        assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
        assert app.config["SESSION_COOKIE_SECURE"] is False
        assert app.config["SESSION_STORE_URL"] == "sqlite:///sessions.sqlite3"
        assert (tmp_path / "sessions.sqlite3").exists()

    def test_cookie_flags(self, tmp_path: Path) -> None:
        app = create_app(
            {"SECRET_KEY": SECRET, "SESSION_STORE_URL": "memory://", "SESSION_COOKIE_SECURE": True},
            instance_path=str(tmp_path),
        )
        cookie = app.test_client().get("/api/session/csrf-token").headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
        # A pre-login cookie lives as long as the browser session: no Expires.
        assert "Expires=" not in cookie and "Path=/" in cookie


class TestSecretKey:
    def test_generated_once_with_mode_0600_and_one_warning(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        monkeypatch.delenv("FLASK_SECRET_KEY", raising=False)
        with caplog.at_level(logging.WARNING):
            first = create_app({"SESSION_STORE_URL": "memory://"}, instance_path=str(tmp_path))
        key_file = tmp_path / "secret_key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        warnings = [r for r in caplog.records if "FLASK_SECRET_KEY" in r.getMessage()]
        assert len(warnings) == 1
        assert "production" in warnings[0].getMessage().lower()
        assert isinstance(first.secret_key, str) and first.secret_key not in caplog.text
        second = create_app({"SESSION_STORE_URL": "memory://"}, instance_path=str(tmp_path))
        assert first.secret_key == second.secret_key
        assert len(str(first.secret_key)) >= 64

    def test_environment_key_wins(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("FLASK_SECRET_KEY", "from-the-environment-" + "e" * 32)
        app = create_app({"SESSION_STORE_URL": "memory://"}, instance_path=str(tmp_path))
        assert app.secret_key == "from-the-environment-" + "e" * 32
        assert not (tmp_path / "secret_key").exists()

    def test_short_key_is_refused_naming_the_variable_and_the_fix(self, tmp_path: Path) -> None:
        env = {"PATH": "/usr/bin:/bin", "FLASK_SECRET_KEY": "x" * 31}
        result = start_up_refusal(tmp_path, env)
        assert result.returncode == 2
        (line,) = result.stderr.strip().splitlines()
        assert "FLASK_SECRET_KEY" in line and "at least 32" in line
        assert "python -c 'import secrets; print(secrets.token_hex(32))'" in line
        assert "x" * 31 not in line

    @pytest.mark.parametrize("key", ["x", "password", "k" * 31, " " * 40])
    def test_short_keys_stop_create_app(self, tmp_path: Path, key: str) -> None:
        with pytest.raises(ConfigError, match="FLASK_SECRET_KEY"):
            create_app(
                {"SECRET_KEY": key, "SESSION_STORE_URL": "memory://"}, instance_path=str(tmp_path)
            )
        assert create_app(
            {"SECRET_KEY": "k" * 32, "SESSION_STORE_URL": "memory://"}, instance_path=str(tmp_path)
        )

    def test_short_fallback_key_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="SECRET_KEY_FALLBACKS"):
            create_app(
                {
                    "SECRET_KEY": SECRET,
                    "SECRET_KEY_FALLBACKS": ["old"],
                    "SESSION_STORE_URL": "memory://",
                },
                instance_path=str(tmp_path),
            )

    def test_key_file_readable_by_others_is_made_owner_only(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        monkeypatch.delenv("FLASK_SECRET_KEY", raising=False)
        key_file = tmp_path / "secret_key"
        key_file.write_text("f" * 64)
        key_file.chmod(0o644)
        with caplog.at_level(logging.WARNING):
            app = create_app({"SESSION_STORE_URL": "memory://"}, instance_path=str(tmp_path))
        assert app.secret_key == "f" * 64
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert any("made it 0600" in r.getMessage() for r in caplog.records)
        assert "f" * 64 not in caplog.text

    def test_key_file_that_cannot_be_made_owner_only_is_refused(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("FLASK_SECRET_KEY", raising=False)
        key_file = tmp_path / "secret_key"
        key_file.write_text("f" * 64)
        key_file.chmod(0o640)

        def refuse(path: object, mode: int) -> None:
            raise PermissionError(1, "Operation not permitted")

        monkeypatch.setattr(os, "chmod", refuse)
        with pytest.raises(ConfigError, match="chmod 600"):
            create_app({"SESSION_STORE_URL": "memory://"}, instance_path=str(tmp_path))

    def test_short_key_in_the_key_file_is_refused(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("FLASK_SECRET_KEY", raising=False)
        key_file = tmp_path / "secret_key"
        key_file.write_text("short")
        key_file.chmod(0o600)
        with pytest.raises(ConfigError, match="secret_key"):
            create_app({"SESSION_STORE_URL": "memory://"}, instance_path=str(tmp_path))


class TestStartUpErrors:
    @pytest.mark.parametrize(
        ("name", "value"),
        [("SESSION_TIMEOUT", "-1"), ("SESSION_STORE_URL", "mongodb://x"), ("SESSION_TIMEOUT", "x")],
    )
    def test_bad_setting_is_one_line_naming_it(self, tmp_path: Path, name: str, value: str) -> None:
        env = {**os.environ, "FLASK_SECRET_KEY": SECRET, name: value}
        result = start_up_refusal(tmp_path, env)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert name in lines[0]
        assert "Traceback" not in result.stderr
