"""Objectives, goals (key results), milestones, check-ins and daily alignment snapshots
(docs/goals.md §1 and §3).

A goal keeps its scope both as the filters a person gave (source id, client, technician,
board, priority), which the API shows back, and resolved to the KPI store's terms, which
evaluation reads.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow
from app.kpis.scope import ScopeFilter


class GoalKind(StrEnum):
    INCREASE = "increase"
    DECREASE = "decrease"
    STAY_ABOVE = "stay_above"
    STAY_BELOW = "stay_below"
    BAND = "band"

    @property
    def moves(self) -> bool:
        """From a baseline to a target (as opposed to a threshold or band to hold)."""
        return self in (GoalKind.INCREASE, GoalKind.DECREASE)


class Objective(Base):
    """A strategic intent in words. It has no KPI of its own: its progress and status roll
    up from its goals and child objectives."""

    __tablename__ = "objectives"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No ON DELETE: an objective with children cannot be deleted (the API says so first).
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("objectives.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(200))
    horizon: Mapped[str | None] = mapped_column(String(50))
    # What a win will feel like, in the team's words, beside what it looks like on paper.
    win_feels_like: Mapped[str | None] = mapped_column(Text)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    # Set: no longer pursued. Left out of the scorecard, overview and alerts (with its goals
    # and child objectives), still readable, and restorable.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Goal(Base):
    """A key result: a KPI in a scope, a kind, a baseline and a target (or band), dates."""

    __tablename__ = "goals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    objective_id: Mapped[int] = mapped_column(
        ForeignKey("objectives.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    kpi_key: Mapped[str] = mapped_column(String(64))
    # Scope as given; no foreign key on source so deleting a source leaves the goal readable
    # (its alignment then says the source is gone).
    scope_source: Mapped[int | None] = mapped_column(Integer)
    scope_client: Mapped[str | None] = mapped_column(String(200))
    scope_technician: Mapped[str | None] = mapped_column(String(200))
    scope_board: Mapped[str | None] = mapped_column(String(200))
    scope_priority: Mapped[str | None] = mapped_column(String(100))
    # The scope resolved to the KPI store's terms when the goal is written (the same
    # resolution the KPI API does per request), so a scorecard reads no client or
    # technician rows. Canonical and PSA ids never change, so this cannot go stale.
    scope_dim: Mapped[str] = mapped_column(String(16), default="all")
    scope_value: Mapped[str] = mapped_column(String(200), default="")
    # A goal scoped by a pair (client and priority...): the pair's second scope.
    scope_second_dim: Mapped[str | None] = mapped_column(String(16))
    scope_second_value: Mapped[str | None] = mapped_column(String(200))
    scope_source_id: Mapped[int | None] = mapped_column(Integer)
    scope_client_id: Mapped[int | None] = mapped_column(Integer)
    scope_technician_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    baseline: Mapped[float | None] = mapped_column(Float)
    baseline_start: Mapped[date | None] = mapped_column(Date)
    baseline_end: Mapped[date | None] = mapped_column(Date)  # exclusive
    baseline_computed: Mapped[bool] = mapped_column(Boolean, default=False)
    target: Mapped[float | None] = mapped_column(Float)
    low: Mapped[float | None] = mapped_column(Float)
    high: Mapped[float | None] = mapped_column(Float)
    start_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    evaluation_grain: Mapped[str] = mapped_column(String(10), default="month")
    # Judge the period in progress ("so far") instead of the last complete one.
    judge_partial: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def created_on(self, tz: tzinfo) -> date:
        """The day the goal was written down, in the reporting time zone `tz`: before it,
        the goal did not exist, so no snapshot or review of an earlier day grades it."""
        created = self.created_at
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        return created.astimezone(tz).date()

    @property
    def goal_kind(self) -> GoalKind:
        return GoalKind(self.kind)

    @property
    def scope_filter(self) -> ScopeFilter:
        return ScopeFilter(
            self.scope_dim,
            self.scope_value,
            self.scope_source_id,
            technician_id=self.scope_technician_id,
            client_id=self.scope_client_id,
            second_dim=self.scope_second_dim,
            second_value=self.scope_second_value or "",
        )

    def resolved_to(self, scope: ScopeFilter) -> None:
        self.scope_dim, self.scope_value = scope.dim, scope.value
        self.scope_source_id = scope.source_id
        self.scope_client_id, self.scope_technician_id = scope.client_id, scope.technician_id
        self.scope_second_dim = scope.second_dim
        self.scope_second_value = scope.second_value if scope.second_dim else None


class Milestone(Base):
    """A dated intermediate target of a goal; reported as hit, missed or pending."""

    __tablename__ = "goal_milestones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("goals.id", ondelete="CASCADE"), index=True)
    title: Mapped[str | None] = mapped_column(String(200))
    due_date: Mapped[date] = mapped_column(Date)
    # None on threshold and band goals: the milestone is the goal's own condition, held then.
    target: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CheckIn(Base):
    """A person's dated confidence (1–10) and note on a goal or an objective: the leading
    signal kept apart from measured (lagging) progress."""

    __tablename__ = "goal_check_ins"
    __table_args__ = (
        Index("ix_goal_check_ins_day", "check_in_date"),
        # The API says so first, with a message; these keep any other writer honest.
        CheckConstraint("confidence >= 1 AND confidence <= 10", name="confidence_1_to_10"),
        CheckConstraint("(goal_id IS NULL) <> (objective_id IS NULL)", name="one_subject"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    goal_id: Mapped[int | None] = mapped_column(
        ForeignKey("goals.id", ondelete="CASCADE"), index=True
    )
    objective_id: Mapped[int | None] = mapped_column(
        ForeignKey("objectives.id", ondelete="CASCADE"), index=True
    )
    check_in_date: Mapped[date] = mapped_column(Date)
    confidence: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StoryKind(StrEnum):
    CLIENT = "client"
    EMPLOYEE = "employee"


class Story(Base):
    """A client's or an employee's story, told for a quarter: the quarterly review opens
    with the stories of its quarter."""

    __tablename__ = "plan_stories"
    __table_args__ = (Index("ix_plan_stories_quarter", "quarter"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quarter: Mapped[str] = mapped_column(String(7))  # 2026-Q2
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    story_date: Mapped[date] = mapped_column(Date)
    author: Mapped[str | None] = mapped_column(String(200))
    # Deleting the objective keeps the story, unlinked.
    objective_id: Mapped[int | None] = mapped_column(
        ForeignKey("objectives.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PlanChange(Base):
    """One change to an objective, goal or milestone: who, when, what it was and became
    (the fields a person sees, as JSON). Kept when the thing itself is deleted, so no
    foreign keys: `goal_id` and `objective_id` are what it belonged to at the time."""

    __tablename__ = "plan_changes"
    __table_args__ = (
        Index("ix_plan_changes_entity", "entity", "entity_id"),
        Index("ix_plan_changes_goal_id", "goal_id"),
        Index("ix_plan_changes_objective_id", "objective_id"),
        Index("ix_plan_changes_changed_at", "changed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity: Mapped[str] = mapped_column(String(16))  # objective | goal | milestone
    entity_id: Mapped[int] = mapped_column(Integer)
    goal_id: Mapped[int | None] = mapped_column(Integer)
    objective_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))  # create|update|archive|restore|delete
    changed_by: Mapped[str | None] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AlignmentSnapshot(Base):
    """A goal's alignment as computed on `day` (as of that day), kept so a later review reads
    what was known then. One row per goal and day; the first one written is kept."""

    __tablename__ = "goal_alignment_snapshots"
    __table_args__ = (
        UniqueConstraint("goal_id", "day"),
        Index("ix_goal_alignment_snapshots_day", "day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("goals.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    progress: Mapped[float | None] = mapped_column(Float)
    progress_raw: Mapped[float | None] = mapped_column(Float)
    expected_progress: Mapped[float | None] = mapped_column(Float)
    pace: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str | None] = mapped_column(Text)
    current_value: Mapped[float | None] = mapped_column(Float)
    window_start: Mapped[date | None] = mapped_column(Date)
    window_end: Mapped[date | None] = mapped_column(Date)
    baseline: Mapped[float | None] = mapped_column(Float)
    forecast: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The rest of the verdict as it was given that day (held periods, evidence, the
    # explanations), so a review reads it back word for word.
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
