"""Settings: defaults for a newcomer, and no production start without an encryption key."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from app.security.crypto import CredentialCipher, CredentialCipherError, cipher_from_settings
from app.settings import Settings


def make(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_defaults_work_for_a_newcomer(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NORTHSTAR_DATABASE_URL", "NORTHSTAR_ENVIRONMENT", "NORTHSTAR_ENCRYPTION_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings = make()

    assert settings.database_url == "sqlite:///./northstar.db"
    assert settings.reporting_timezone == "UTC"
    assert settings.scheduler_enabled is True


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORTHSTAR_REPORTING_TIMEZONE", "Europe/London")
    monkeypatch.setenv("NORTHSTAR_SCHEDULER_ENABLED", "false")

    settings = make()

    assert settings.reporting_timezone == "Europe/London"
    assert settings.scheduler_enabled is False


def test_production_refuses_to_start_without_a_key() -> None:
    with pytest.raises(ValidationError) as error:
        make(environment="production")

    assert "NORTHSTAR_ENCRYPTION_KEY is required" in str(error.value)
    assert "northstar genkey" in str(error.value)


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'"):
        make(reporting_timezone="Mars/Olympus")


def test_development_keeps_one_generated_key(tmp_path: Path) -> None:
    settings = make(dev_key_file=tmp_path / "dev.key")

    token = cipher_from_settings(settings).encrypt({"private_key": "abc"})

    assert cipher_from_settings(settings).decrypt(token) == {"private_key": "abc"}


def test_keys_rotate_first_encrypts_all_decrypt() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = CredentialCipher([old]).encrypt({"secret": "s3cret-value"})

    rotated = CredentialCipher([new, old])

    assert rotated.decrypt(token) == {"secret": "s3cret-value"}
    with pytest.raises(CredentialCipherError, match="cannot be decrypted"):
        CredentialCipher([new]).decrypt(token)


def test_a_malformed_key_says_how_to_make_one() -> None:
    with pytest.raises(ValueError, match="northstar genkey"):
        CredentialCipher(["not-a-key"])
