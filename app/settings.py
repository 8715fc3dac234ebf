"""Deployment settings, from `NORTHSTAR_*` environment variables and an optional `.env` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.db import normalise_database_url

HOW_TO_MAKE_A_KEY = (
    'Generate one with `northstar genkey` (or: python -c "from cryptography.fernet import '
    'Fernet; print(Fernet.generate_key().decode())"), then set NORTHSTAR_ENCRYPTION_KEY to it.'
)


class Settings(BaseSettings):
    """Every setting has a default that works on a laptop; production needs an encryption key."""

    model_config = SettingsConfigDict(
        env_prefix="NORTHSTAR_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        # A refused value may be a password or a key: errors never repeat what was given.
        hide_input_in_errors=True,
    )

    environment: Literal["development", "production"] = Field(
        "development",
        description="`production` refuses to start without an encryption key and a "
        "database address set explicitly.",
    )
    database_url: str = Field(
        "sqlite:///./northstar.db",
        description="Where the data is kept. PostgreSQL in production: "
        "postgresql://user:password@host:5432/northstar (postgres:// is accepted too; "
        "`northstar migrate` creates the database if the user may). SQLite for a trial.",
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
    max_concurrent_requests: int = Field(
        16,
        ge=1,
        le=1000,
        description="Requests the API works on at once; more wait their turn. The database "
        "pool is sized to match (two connections each).",
    )
    max_queued_requests: int = Field(
        1000,
        ge=0,
        description="Requests that may wait for their turn; one more is answered 503 with "
        "`Retry-After` at once.",
    )
    queue_timeout_seconds: float = Field(
        20,
        gt=0,
        le=600,
        description="How long a request waits for its turn before it is answered 503 with "
        "`Retry-After`. Keep it below the timeouts of your clients and proxy.",
    )
    default_live_interval_seconds: int = Field(
        60,
        ge=15,
        le=3600,
        description="Default interval for tickets and time entries, in seconds (a source's "
        "`live_interval_seconds`).",
    )
    default_fast_interval_minutes: int = Field(
        5,
        ge=1,
        description="Default interval for other changing data (clients in Autotask, surveys, "
        "deletion logs), in minutes.",
    )
    default_slow_interval_minutes: int = Field(
        60, ge=1, description="Default interval for slow-changing entities and deletion sweeps."
    )
    sweep_period_hours: float = Field(
        24,
        ge=0,
        le=24 * 31,
        description="How long a deletion sweep takes to list every id once: each run lists "
        "one slice (24 slices at the hourly slow interval), so a deletion no deletion log "
        "reports is caught within this period. 0 or one interval: every run lists all ids.",
    )
    stale_after_intervals: int = Field(
        3,
        ge=1,
        le=100,
        description="A stream not checked successfully for this many of its intervals is "
        "stale (3: tickets unchecked for 3 minutes at the default live interval), and so is "
        "its source: /api/v1/health turns `degraded`.",
    )
    max_body_bytes: int = Field(
        1024 * 1024,
        ge=1024,
        description="The largest request body accepted, in bytes; a larger one is refused "
        "with 413 before it is read.",
    )
    max_header_bytes: int = Field(
        16 * 1024,
        ge=1024,
        description="The largest request line plus headers accepted, in bytes (431 or 400 beyond).",
    )
    log_format: Literal["console", "json"] = "console"
    log_level: str = "INFO"
    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str | None = Field(
        None,
        description="The address people and BI tools use to reach Northstar, e.g. "
        "https://northstar.example.com (behind a reverse proxy, the proxy's address). Links "
        "Northstar writes (OData paging, alerts) start with it. Unset: links use the address "
        "a request came to when its host is in `trusted_hosts`, and are relative otherwise.",
    )
    push: bool = Field(
        True,
        description="With `public_base_url` set, ask each PSA to tell Northstar about "
        "changes as they happen (ConnectWise callbacks, Autotask webhooks), so they show "
        "within seconds. The PSA must be able to reach `public_base_url` + /api/v1/push/. "
        "Off, or without a public URL: Northstar checks for changes every minute.",
    )
    push_debounce_seconds: float = Field(
        2.0,
        ge=0,
        le=60,
        description="How long Northstar waits after a PSA's first notice before reading "
        "the changed records, so a burst of changes is read in one go.",
    )
    push_gap_minutes: int = Field(
        10,
        ge=1,
        description="A change the regular check finds that no push notice announced within "
        "this many minutes is a gap in deliveries: Northstar reports it and registers with "
        "the PSA again. Checking every minute goes on regardless.",
    )
    trusted_hosts: Annotated[list[str], NoDecode] = Field(
        ["localhost", "127.0.0.1", "::1"],
        description="Host names (comma-separated) a request's `Host` header may name for "
        "Northstar to build links from it when `public_base_url` is unset (the `host` "
        "setting counts too).",
    )
    auth_failure_limit: int = Field(
        10,
        ge=1,
        description="Wrong or revoked API keys one client address may send within "
        "`auth_failure_window_seconds` before its attempts are refused with 429.",
    )
    auth_failure_window_seconds: int = Field(
        60, ge=1, description="The window over which failed API keys are counted per address."
    )
    session_idle_hours: float = Field(
        12,
        gt=0,
        le=24 * 90,
        description="A person signed in to the pages who opens no page for this many hours "
        "is asked to sign in again.",
    )
    session_max_days: float = Field(
        14,
        gt=0,
        le=365,
        description="However active, a sign-in lasts at most this many days; then the person "
        "signs in again.",
    )
    sign_in_failures_per_email: int = Field(
        5,
        ge=1,
        description="Wrong passwords for one e-mail address, from any number of places, within "
        "`sign_in_failure_window_minutes` before further sign-ins for it must wait.",
    )
    sign_in_failure_window_minutes: float = Field(
        15,
        gt=0,
        le=24 * 60,
        description="The window over which wrong passwords are counted per e-mail address.",
    )
    source_check_timeout_seconds: float = Field(
        10,
        gt=0,
        le=120,
        description="How long checking a source may take in all (each request of it gets "
        "half). Adding a source or changing its settings waits for its check.",
    )
    health_degraded_status: int = Field(
        200,
        ge=200,
        le=599,
        description="The HTTP status `/api/v1/health` answers with while a source is failing "
        "or stale: 200 keeps Northstar in a load balancer's rotation while a PSA is down; "
        "503 makes a load balancer or uptime monitor see it as unhealthy.",
    )

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

    @field_validator("database_url")
    @classmethod
    def _postgres_or_sqlite(cls, value: str) -> str:
        return normalise_database_url(value)

    @field_validator("encryption_key")
    @classmethod
    def _valid_fernet_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        keys = value.get_secret_value().split(",")
        for position, key in enumerate(keys, start=1):
            try:
                Fernet(key.strip().encode())
            except ValueError:
                which = f"key {position} of the {len(keys)} given" if len(keys) > 1 else "it"
                raise ValueError(
                    f"not a valid encryption key ({which} should be 44 characters of url-safe "
                    f"base64, as `northstar genkey` prints). {HOW_TO_MAKE_A_KEY}"
                ) from None
        return value

    @field_validator("trusted_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [host.strip().lower() for host in value.split(",") if host.strip()]
        return value

    @field_validator("public_base_url")
    @classmethod
    def _absolute_http_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError(
                f"public_base_url must be an http(s) address such as "
                f"https://northstar.example.com, not {value!r}"
            )
        if parts.query or parts.fragment:
            raise ValueError("public_base_url takes no query string or fragment")
        return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")

    @model_validator(mode="after")
    def _production_needs_a_key_and_a_database(self) -> Settings:
        if self.environment == "development":
            return self
        if self.encryption_key is None:
            raise ValueError(
                "NORTHSTAR_ENCRYPTION_KEY is required outside development mode. "
                + HOW_TO_MAKE_A_KEY
            )
        # The default, a file in whatever folder the service starts in, is for a trial.
        if "database_url" not in self.model_fields_set:
            raise ValueError(
                "NORTHSTAR_DATABASE_URL is required outside development mode: "
                "postgresql://user:password@host:5432/northstar (see docs/deployment.md), or "
                "sqlite:////data/northstar.db to keep the data in one file on a volume."
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
