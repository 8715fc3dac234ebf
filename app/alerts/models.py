"""The alert tables: channels, rules, events and the outbox of deliveries (docs/alerts.md).

A channel's addresses and passwords are kept only in `secrets_encrypted` (the cipher PSA
credentials use); `display` holds what may be shown, e.g. the host a URL posts to.
An event and its deliveries are written in one transaction, so an event is never known
without its deliveries, nor a delivery without its event.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class ChannelKind(StrEnum):
    TEAMS = "teams"
    SLACK = "slack"
    EMAIL = "email"
    WEBHOOK = "webhook"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # due at next_attempt_at
    SENDING = "sending"  # claimed by a worker; if it stays so past the lease, sent again
    SENT = "sent"
    FAILED = "failed"  # gave up: the reason is in last_error


class AlertChannel(Base):
    __tablename__ = "alert_channels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    # What may be shown: host, port, sender and recipients; never a URL path or a password.
    display: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secrets_encrypted: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Weekly digest: ISO weekday (1 = Monday) and local time in the reporting time zone.
    digest_weekday: Mapped[int | None] = mapped_column(Integer)
    digest_time: Mapped[str | None] = mapped_column(String(5))
    digest_last_sent_on: Mapped[date | None] = mapped_column(Date)
    review_last_quarter: Mapped[str | None] = mapped_column(String(7))  # e.g. 2026-Q4
    send_quarterly_review: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true()
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AlertRule(Base):
    """A channel's subscription: which goals (one, an objective and its children, or the
    whole plan) and which kind of event, with its filters and quiet period."""

    __tablename__ = "alert_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("alert_channels.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(200))
    event: Mapped[str] = mapped_column(String(32))
    goal_id: Mapped[int | None] = mapped_column(ForeignKey("goals.id", ondelete="CASCADE"))
    objective_id: Mapped[int | None] = mapped_column(
        ForeignKey("objectives.id", ondelete="CASCADE")
    )
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    # Filters: from/to statuses, hit/missed, hours or weeks (see app.alerts.schemas).
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    quiet_hours: Mapped[int] = mapped_column(Integer, default=24)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Days up to this one have been evaluated (snapshot events).
    evaluated_through: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertEvent(Base):
    """Something a rule noticed, once: `dedupe_key` names it (rule, subject, what, when)."""

    __tablename__ = "alert_events"
    __table_args__ = (UniqueConstraint("dedupe_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_rules.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    goal_id: Mapped[int | None] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(200))  # e.g. goal:4, source:2
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The message as rendered-independent parts (title, summary, facts, link).
    message: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertDelivery(Base):
    """One message to one channel: the outbox row the delivery worker sends."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        Index("ix_alert_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("alert_channels.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_events.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(16))  # event, test, digest, review
    idempotency_key: Mapped[str] = mapped_column(String(80))
    message: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Every attempt: when, what came back (HTTP status or error), what happens next.
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
