"""Deployment settings, from `NORTHSTAR_*` environment variables and an optional `.env` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

HOW_TO_MAKE_A_KEY = (
    'Generate one with `northstar genkey` (or: python -c "from cryptography.fernet import '
    'Fernet; print(Fernet.generate_key().decode())"), then set NORTHSTAR_ENCRYPTION_KEY to it.'
)


class Settings(BaseSettings):
    """Every setting has a default that works on a laptop; production needs an encryption key."""

    model_config = SettingsConfigDict(
        env_prefix="NORTHSTAR_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    environment: Literal["development", "production"] = Field(
        "development",
        description="`production` refuses to start without an encryption key.",
    )
    database_url: str = Field(
        "sqlite:///./northstar.db",
        description="SQLAlchemy URL. PostgreSQL in production: postgresql+psycopg://user@host/db",
    )
    reporting_timezone: str = Field(
        "UTC", description="IANA time zone that decides which day and month a number falls in."
    )
    encryption_key: SecretStr | None = Field(
        None,
        description=(
            "Fernet key(s) that encrypt stored PSA credentials; several, comma-separated, "
            "to rotate (the first encrypts, all decrypt)."
        ),
    )
    dev_key_file: Path = Field(
        Path(".northstar-dev.key"),
        description="Development only: where a generated encryption key is kept.",
    )
    scheduler_enabled: bool = Field(True, description="Run scheduled syncs inside `serve`.")
    scheduler_tick_seconds: int = Field(
        30, ge=1, description="How often the scheduler looks for new sources and sync requests."
    )
    default_fast_interval_minutes: int = Field(
        5, ge=1, description="Default interval for tickets and time entries."
    )
    default_slow_interval_minutes: int = Field(
        60, ge=1, description="Default interval for slow-changing entities and deletion sweeps."
    )
    log_format: Literal["console", "json"] = "console"
    log_level: str = "INFO"
    host: str = "127.0.0.1"
    port: int = 8000

    @field_validator("reporting_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as Europe/London"
            ) from exc
        return value

    @model_validator(mode="after")
    def _production_needs_a_key(self) -> Settings:
        if self.environment != "development" and self.encryption_key is None:
            raise ValueError(
                "NORTHSTAR_ENCRYPTION_KEY is required outside development mode. "
                + HOW_TO_MAKE_A_KEY
            )
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.reporting_timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
