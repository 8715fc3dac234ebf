"""Canonical fact tables. Each row is unique on (source_id, external_id).

References to other facts are the PSA's ids within the same source (`*_external_id`), so a
fact can arrive before the fact it points to; joins resolve them through the unique key.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from app.db import Base, UTCDateTime, utcnow

ExternalId = String(64)


class FactRow:
    """Columns every fact table has."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(ExternalId)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @declared_attr.directive
    @classmethod
    def __table_args__(cls) -> tuple[Any, ...]:
        return (
            UniqueConstraint("source_id", "external_id"),
            *getattr(cls, "__fact_indexes__", ()),
        )


class ClientRow(FactRow, Base):
    __tablename__ = "clients"

    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class TechnicianRow(FactRow, Base):
    __tablename__ = "technicians"

    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    included_in_utilization: Mapped[bool] = mapped_column(Boolean, default=True)
    capacity_mon: Mapped[float] = mapped_column(Float, default=8.0)
    capacity_tue: Mapped[float] = mapped_column(Float, default=8.0)
    capacity_wed: Mapped[float] = mapped_column(Float, default=8.0)
    capacity_thu: Mapped[float] = mapped_column(Float, default=8.0)
    capacity_fri: Mapped[float] = mapped_column(Float, default=8.0)
    capacity_sat: Mapped[float] = mapped_column(Float, default=0.0)
    capacity_sun: Mapped[float] = mapped_column(Float, default=0.0)


class TicketRow(FactRow, Base):
    __tablename__ = "tickets"
    __fact_indexes__ = (
        Index("ix_tickets_source_created", "source_id", "created_at"),
        Index("ix_tickets_source_closed", "source_id", "closed_at"),
        Index("ix_tickets_source_first_response", "source_id", "first_response_at"),
        Index("ix_tickets_source_resolved", "source_id", "resolved_at"),
        Index("ix_tickets_source_client", "source_id", "client_external_id"),
        Index("ix_tickets_source_assignee", "source_id", "assignee_external_id"),
    )

    number: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(Text)
    client_external_id: Mapped[str | None] = mapped_column(ExternalId)
    board: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str | None] = mapped_column(String(200))
    is_closed: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[str | None] = mapped_column(String(200))
    priority_level: Mapped[int | None] = mapped_column(Integer)
    assignee_external_id: Mapped[str | None] = mapped_column(ExternalId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_met: Mapped[bool | None] = mapped_column(Boolean)
    resolution_met: Mapped[bool | None] = mapped_column(Boolean)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TimeEntryRow(FactRow, Base):
    __tablename__ = "time_entries"
    __fact_indexes__ = (
        Index("ix_time_entries_source_work_date", "source_id", "work_date"),
        Index("ix_time_entries_source_technician", "source_id", "technician_external_id"),
        Index("ix_time_entries_source_ticket", "source_id", "ticket_external_id"),
    )

    technician_external_id: Mapped[str | None] = mapped_column(ExternalId)
    client_external_id: Mapped[str | None] = mapped_column(ExternalId)
    ticket_external_id: Mapped[str | None] = mapped_column(ExternalId)
    work_date: Mapped[date] = mapped_column(Date)
    hours: Mapped[float] = mapped_column(Float)
    billable_hours: Mapped[float] = mapped_column(Float, default=0.0)
    counts_toward_utilization: Mapped[bool] = mapped_column(Boolean, default=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RecurringRevenueRow(FactRow, Base):
    __tablename__ = "recurring_revenues"
    __fact_indexes__ = (
        Index("ix_recurring_revenues_source_client", "source_id", "client_external_id"),
    )

    client_external_id: Mapped[str | None] = mapped_column(ExternalId)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    cancelled_on: Mapped[date | None] = mapped_column(Date)
    # The schedule as canonical JSON text, so an upsert can tell whether it changed (JSON
    # values cannot be compared on PostgreSQL). Queries read recurring_revenue_amounts.
    amount_schedule: Mapped[str] = mapped_column(Text, default="[]")


class RecurringAmountRow(Base):
    """One piece of a recurring revenue's schedule: `monthly_amount` on `[valid_from, valid_to)`."""

    __tablename__ = "recurring_revenue_amounts"
    __table_args__ = (Index("ix_recurring_revenue_amounts_window", "valid_from", "valid_to"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revenue_id: Mapped[int] = mapped_column(
        ForeignKey("recurring_revenues.id", ondelete="CASCADE"), index=True
    )
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    monthly_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))


class SurveyResponseRow(FactRow, Base):
    __tablename__ = "survey_responses"
    __fact_indexes__ = (Index("ix_survey_responses_source_completed", "source_id", "completed_at"),)

    ticket_external_id: Mapped[str | None] = mapped_column(ExternalId)
    client_external_id: Mapped[str | None] = mapped_column(ExternalId)
    technician_external_id: Mapped[str | None] = mapped_column(ExternalId)
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    score: Mapped[float] = mapped_column(Float)


class ObservationRow(Base):
    """A value of a manual KPI (docs/kpis.md §4.5) on a date: one per KPI and date."""

    __tablename__ = "kpi_observations"
    __table_args__ = (UniqueConstraint("kpi_key", "observed_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kpi_key: Mapped[str] = mapped_column(String(64))
    observed_on: Mapped[date] = mapped_column(Date)
    value: Mapped[float] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)
    # Who recorded the value last: a person's name, or "API key <name>".
    recorded_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
