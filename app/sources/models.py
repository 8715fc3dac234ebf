"""A source is one configured PSA connection (one ConnectWise or Autotask tenant)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow
from connectors.sdk import SyncInterval

# The live cadence a source starts with unless told otherwise (settings:
# `default_live_interval_seconds`), and the range a person may choose.
DEFAULT_LIVE_INTERVAL_SECONDS = 60
LIVE_INTERVAL_RANGE = (15, 3600)


class SourceStatus(StrEnum):
    """Only `active` sources are scheduled (see `app.sources.checks` for the moves)."""

    UNVERIFIED = "unverified"  # settings written, their check not passed yet: not scheduled
    ACTIVE = "active"  # its check passed: synced on schedule
    NEEDS_ATTENTION = "needs_attention"  # credentials or settings refused: not scheduled
    PAUSED = "paused"  # switched off by a person


class Source(Base):
    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(50))
    # Non-secret settings in clear; secret ones only as ciphertext (see app.security.crypto).
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secrets_encrypted: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=SourceStatus.UNVERIFIED)
    status_code: Mapped[str | None] = mapped_column(String(64))
    status_message: Mapped[str | None] = mapped_column(Text)
    # How often each cadence of streams is checked (connectors.sdk.SyncInterval): live
    # streams (tickets, time entries) in seconds, fast and slow ones in minutes.
    live_interval_seconds: Mapped[int] = mapped_column(
        Integer, default=DEFAULT_LIVE_INTERVAL_SECONDS, server_default="60"
    )
    fast_interval_minutes: Mapped[int] = mapped_column(Integer, default=5)
    slow_interval_minutes: Mapped[int] = mapped_column(Integer, default=60)
    sync_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The first day from which this source's history is held in full (app.kpis.coverage):
    # the first day of its backfill, or its earliest fact when the PSA was read whole; null
    # until every stream has been read once from the start.
    history_from: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    credentials_updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def schedulable(self) -> bool:
        return self.status == SourceStatus.ACTIVE

    def interval_seconds(self, cadence: SyncInterval) -> int:
        """How often a stream of this cadence is checked, in seconds."""
        if cadence is SyncInterval.LIVE:
            return self.live_interval_seconds
        if cadence is SyncInterval.FAST:
            return self.fast_interval_minutes * 60
        return self.slow_interval_minutes * 60
