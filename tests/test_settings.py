from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from registry.errors import ConfigurationError
from registry.settings import Settings, new_key


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


class TestDefaults:
    def test_sqlite_file_and_console_mail(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in ("REGISTRY_DATABASE_URL", "REGISTRY_EMAIL_BACKEND"):
            monkeypatch.delenv(name, raising=False)
        s = settings()
        assert s.database_url == "sqlite+aiosqlite:///./registry.db"
        assert (s.environment, s.email_backend, s.is_sqlite) == ("development", "console", True)

    def test_environment_prefix(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("REGISTRY_SMTP_PORT", "2525")
        assert settings().smtp_port == 2525

    def test_bad_values_name_the_field(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("REGISTRY_SMTP_PORT", "twenty-five")
        with pytest.raises(ValidationError, match="smtp_port"):
            settings()


class TestKeys:
    def test_development_makes_a_private_key_file_once(self, tmp_path: Path) -> None:
        path = tmp_path / "keys.json"
        first = settings(key_file=path).keys()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert settings(key_file=path).keys() == first
        assert len(first.hmac_key) == 32 and first.hmac_key != first.encryption_key

    def test_environment_wins_over_the_file(self, tmp_path: Path) -> None:
        path = tmp_path / "keys.json"
        settings(key_file=path).keys()
        key = new_key()
        keys = settings(key_file=path, hmac_key=key).keys()
        assert keys.hmac_key != json.loads(path.read_text())["hmac_key"]

    def test_production_refuses_missing_keys(self, tmp_path: Path) -> None:
        path = tmp_path / "keys.json"
        with pytest.raises(ConfigurationError, match="REGISTRY_HMAC_KEY, REGISTRY_ENCRYPTION_KEY not set"):
            settings(environment="production", key_file=path, email_backend="smtp").keys()
        assert not path.exists()

    def test_production_accepts_keys_from_the_environment(self, tmp_path: Path) -> None:
        keys = settings(
            environment="production",
            key_file=tmp_path / "none.json",
            hmac_key=new_key(),
            encryption_key=new_key(),
            email_backend="smtp",
        ).keys()
        assert len(keys.encryption_key) == 32

    @pytest.mark.parametrize("bad", ["short", "!!!not base64!!!"])
    def test_weak_or_broken_keys_are_refused(self, tmp_path: Path, bad: str) -> None:
        with pytest.raises(ConfigurationError, match="REGISTRY_HMAC_KEY"):
            settings(key_file=tmp_path / "k.json", hmac_key=bad, encryption_key=new_key()).keys()

    @pytest.mark.parametrize("backend", ["memory", "console"])
    def test_production_refuses_mailers_that_lose_or_print_mail(self, backend: str) -> None:
        with pytest.raises(ValidationError, match=f"email_backend '{backend}' in production"):
            settings(environment="production", email_backend=backend)

    def test_a_lease_shorter_than_a_send_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="outbox_lease_seconds must be longer"):
            settings(outbox_lease_seconds=20, smtp_timeout_seconds=30)
