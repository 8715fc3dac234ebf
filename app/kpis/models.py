"""The KPI store's tables.

`kpi_daily_rollups` holds additive sums per scope: one row per (source, local day,
dimension, value), where dimension is `all`, `client`, `technician`, `board`,
`priority_level` or `priority`; `kpi_monthly_rollups` holds the same summed per month.
`kpi_daily_pair_rollups` and `kpi_monthly_pair_rollups` hold the same measures per pair of
scopes (client and priority, technician and board...: `app.kpis.pairs`), in tables of their
own so that no one-scope query ever reads a pair row.
Numerators and denominators are kept apart, so every grain rolls up exactly, and a query
costs what the number of days (or months) asked for costs, whatever the number of tickets.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow

# The additive measures kept per day and scope, in the order rollups compute them.
MEASURES = (
    "tickets_created",
    "tickets_closed",
    "response_met",
    "response_decided",
    "resolution_met",
    "resolution_decided",
    "response_hours_sum",
    "response_count",
    "resolution_hours_sum",
    "resolution_count",
    "csat_good",
    "csat_count",
    "csat_score_sum",
    "time_entries",
    "hours",
    "utilization_hours",
    "billable_hours",
    "client_hours",
)


class MeasureColumns:
    """The additive measures of one source's day or month in one scope."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    tickets_created: Mapped[float] = mapped_column(Float, default=0)
    tickets_closed: Mapped[float] = mapped_column(Float, default=0)
    response_met: Mapped[float] = mapped_column(Float, default=0)
    response_decided: Mapped[float] = mapped_column(Float, default=0)
    resolution_met: Mapped[float] = mapped_column(Float, default=0)
    resolution_decided: Mapped[float] = mapped_column(Float, default=0)
    response_hours_sum: Mapped[float] = mapped_column(Float, default=0)
    response_count: Mapped[float] = mapped_column(Float, default=0)
    resolution_hours_sum: Mapped[float] = mapped_column(Float, default=0)
    resolution_count: Mapped[float] = mapped_column(Float, default=0)
    csat_good: Mapped[float] = mapped_column(Float, default=0)
    csat_count: Mapped[float] = mapped_column(Float, default=0)
    csat_score_sum: Mapped[float] = mapped_column(Float, default=0)
    time_entries: Mapped[float] = mapped_column(Float, default=0)
    hours: Mapped[float] = mapped_column(Float, default=0)
    utilization_hours: Mapped[float] = mapped_column(Float, default=0)
    billable_hours: Mapped[float] = mapped_column(Float, default=0)
    client_hours: Mapped[float] = mapped_column(Float, default=0)


class RollupRow(MeasureColumns):
    """The additive measures of one (source, day or month, dimension, value)."""

    dim: Mapped[str] = mapped_column(String(16))
    dim_value: Mapped[str] = mapped_column(String(200), default="")


class PairRollupRow(MeasureColumns):
    """The additive measures of one (source, day or month, pair, first value, second
    value): `pair` is a `ScopePair.name` such as `client+priority_level`."""

    pair: Mapped[str] = mapped_column(String(32))
    first_value: Mapped[str] = mapped_column(String(200), default="")
    second_value: Mapped[str] = mapped_column(String(200), default="")


class KpiDailyRollup(RollupRow, Base):
    __tablename__ = "kpi_daily_rollups"
    __table_args__ = (
        UniqueConstraint("source_id", "day", "dim", "dim_value"),
        # Series read one member over many days; breakdowns read every member over a period.
        Index("ix_kpi_daily_rollups_member_day", "dim", "dim_value", "day"),
        Index("ix_kpi_daily_rollups_dim_day", "dim", "day"),
    )

    day: Mapped[date] = mapped_column(Date)


class KpiMonthlyRollup(RollupRow, Base):
    """The daily rollups summed per calendar month (`day` is the month's first day), so
    monthly, quarterly and yearly reads cost what the number of months costs."""

    __tablename__ = "kpi_monthly_rollups"
    __table_args__ = (
        UniqueConstraint("source_id", "day", "dim", "dim_value"),
        Index("ix_kpi_monthly_rollups_member_day", "dim", "dim_value", "day"),
        Index("ix_kpi_monthly_rollups_dim_day", "dim", "day"),
    )

    day: Mapped[date] = mapped_column(Date)


class KpiDailyPairRollup(PairRollupRow, Base):
    __tablename__ = "kpi_daily_pair_rollups"
    # One index serves both: a series reads one pair member over many days, and the
    # source last keeps each row unique.
    __table_args__ = (
        Index(
            "ix_kpi_daily_pair_rollups_member_day",
            "pair",
            "first_value",
            "second_value",
            "day",
            "source_id",
            unique=True,
        ),
    )

    day: Mapped[date] = mapped_column(Date)


class KpiMonthlyPairRollup(PairRollupRow, Base):
    """The daily pair rollups summed per calendar month (`day` is the month's first day)."""

    __tablename__ = "kpi_monthly_pair_rollups"
    __table_args__ = (
        Index(
            "ix_kpi_monthly_pair_rollups_member_day",
            "pair",
            "first_value",
            "second_value",
            "day",
            "source_id",
            unique=True,
        ),
    )

    day: Mapped[date] = mapped_column(Date)


class KpiDirtyDay(Base):
    """A local day whose facts changed and whose rollups must be recomputed.

    Written in the same transaction as the facts, so a crash between storing a page and
    re-aggregating loses nothing: the next refresh picks the day up.
    """

    __tablename__ = "kpi_dirty_days"

    source_id: Mapped[int] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class KpiRebuildPending(Base):
    """A source whose rollups are rebuilt whole when its current sync ends.

    A backfill stores every fact anew: rather than work out, page after page, which days
    each fact changes, it notes its source here (committed before its first page) and
    rebuilds the source's rollups once at the end. The note outlives a crash, so a resumed
    backfill still ends with the rebuild.
    """

    __tablename__ = "kpi_rebuilds_pending"

    source_id: Mapped[int] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True
    )
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ManualKpi(Base):
    """A KPI no PSA holds (docs/kpis.md §4.5), fed by posted observations."""

    __tablename__ = "manual_kpis"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(10))
    aggregation: Mapped[str] = mapped_column(String(10))
    description: Mapped[str | None] = mapped_column(Text)
    # The declared scale (e.g. 1–10); either end optional. Observations, targets and
    # forecasts stay within it (app.kpis.domain).
    scale_min: Mapped[float | None] = mapped_column(Float)
    scale_max: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
