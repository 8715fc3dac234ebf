"""A source is one configured PSA connection (one ConnectWise or Autotask tenant)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


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

    def interval_minutes(self, fast: bool) -> int:
        return self.fast_interval_minutes if fast else self.slow_interval_minutes
