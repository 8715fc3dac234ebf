"""Each source's push channel, and the notices its deliveries brought."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.db import Base, UTCDateTime, utcnow


class PushState(StrEnum):
    """Where a source's push stands (shown in `GET /api/v1/sources/{id}`)."""

    ACTIVE = "active"  # registered in the PSA; deliveries are expected
    GAP = "gap"  # polling found changes no delivery announced: registration is checked again
    FAILED = "failed"  # the PSA refused the registration; tried again later
    OFF = "off"  # no public URL, or the PSA cannot push: polling only


class NoticeOutcome(StrEnum):
    STORED = "stored"  # the record was read again and stored
    DELETED = "deleted"  # the PSA confirmed the announced deletion
    IGNORED = "ignored"  # the record cannot be read (gone, or not visible to Northstar)
    EXPIRED = "expired"  # could not be read for too long; polling covers it


class PushChannel(Base):
    """One source's push set-up. The secret is stored only encrypted."""

    __tablename__ = "push_channels"

    source_id: Mapped[int] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True
    )
    secret_encrypted: Mapped[str] = mapped_column(Text)
    # The public URL the registrations point at (without the token), so a changed setting
    # is noticed and registered again.
    public_base_url: Mapped[str] = mapped_column(Text, default="")
    # What was registered in the PSA: [{"remote_id": ..., "entity": ...}].
    subscriptions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(20), default=PushState.OFF)
    state_message: Mapped[str | None] = mapped_column(Text)
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_delivery_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deliveries: Mapped[int] = mapped_column(Integer, default=0)
    replays: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    gaps: Mapped[int] = mapped_column(Integer, default=0)
    gap_detected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PushNoticeRow(Base):
    """One record a delivery announced; pending until `processed_at`. The unique key makes
    a replayed delivery a no-op."""

    __tablename__ = "push_notices"
    __table_args__ = (UniqueConstraint("source_id", "delivery_key", "stream", "record_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    delivery_key: Mapped[str] = mapped_column(String(200))
    stream: Mapped[str] = mapped_column(String(100))
    record_id: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    outcome: Mapped[str | None] = mapped_column(String(20))


def sources_with_unread_notices(session: Session) -> set[int]:
    unread = select(PushNoticeRow.source_id).where(PushNoticeRow.processed_at.is_(None))
    return set(session.scalars(unread.distinct()))


def has_untried_notices(session: Session, source_id: int) -> bool:
    """Notices not read yet and not tried yet (a failed read waits for the next tick)."""
    untried = select(PushNoticeRow.id).where(
        PushNoticeRow.source_id == source_id,
        PushNoticeRow.processed_at.is_(None),
        PushNoticeRow.attempts == 0,
    )
    return session.scalar(untried.limit(1)) is not None
