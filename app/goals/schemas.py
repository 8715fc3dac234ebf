"""The JSON shapes of objectives, goals, milestones and check-ins (what is sent and stored).
The alignment and review shapes are in `app.goals.views`."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from app.goals.models import CheckIn, Goal, GoalKind, Milestone, Objective
from app.kpis.catalogue import Grain


class ObjectiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200, examples=["Reach a $1M recurring run rate"])
    purpose: str | None = Field(
        None, max_length=4000, description="Who it serves and why it matters."
    )
    owner: str | None = Field(None, max_length=200, description="The person answerable for it.")
    horizon: str | None = Field(None, max_length=50, examples=["6 months", "12 months", "3 years"])
    parent_id: int | None = Field(
        None, description="The objective this one serves (a 3-year objective's 12-month step)."
    )
    weight: float = Field(1.0, gt=0, description="Its weight in its parent's progress.")


class ObjectivePatch(BaseModel):
    """Only the fields sent change; send `parent_id: null` to make it a top-level objective."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, min_length=1, max_length=200)
    purpose: str | None = Field(None, max_length=4000)
    owner: str | None = Field(None, max_length=200)
    horizon: str | None = Field(None, max_length=50)
    parent_id: int | None = None
    weight: float | None = Field(None, gt=0)


class ObjectiveOut(BaseModel):
    id: int
    parent_id: int | None
    title: str
    purpose: str | None
    owner: str | None
    horizon: str | None
    weight: float
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Objective) -> ObjectiveOut:
        return cls.model_validate(row, from_attributes=True)


class GoalScope(BaseModel):
    """All optional; at most one of client, technician, board, priority (with source if you
    like), and only those the KPI supports (see `scopes` in GET /api/v1/kpis/{key})."""

    model_config = ConfigDict(extra="forbid")

    source: int | None = Field(None, description="Only this source (PSA).")
    client: str | None = Field(
        None, description="Northstar's client id, or the PSA's own id together with `source`."
    )
    technician: str | None = Field(
        None, description="Northstar's technician id, or the PSA's own id with `source`."
    )
    board: str | None = Field(None, description="Board (ConnectWise) or queue (Autotask) name.")
    priority: str | None = Field(None, description="P1–P4, or a priority's name.")


GOAL_FIELDS_HELP = (
    "`increase`/`decrease` need a `target` (and a `baseline`, or a baseline period to compute "
    "it from); `stay_above`/`stay_below` need a `target` (the threshold); `band` needs `low` "
    "and `high`."
)


class GoalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    objective_id: int
    title: str = Field(min_length=1, max_length=200, examples=["ARR run rate to $1M"])
    kpi: str = Field(description="Any KPI key of GET /api/v1/kpis, manual ones included.")
    scope: GoalScope = Field(default_factory=GoalScope)
    kind: GoalKind = Field(description=GOAL_FIELDS_HELP)
    baseline: float | None = Field(
        None,
        allow_inf_nan=False,
        description="Where the KPI started. Leave it out to have Northstar compute it from the "
        "baseline period; once set it stays fixed.",
    )
    baseline_start: date | None = Field(
        None,
        description="First day of the baseline period (default: the evaluation period before "
        "the one containing start_date).",
    )
    baseline_end: date | None = Field(
        None, description="The day after the baseline period's last day."
    )
    target: float | None = Field(None, allow_inf_nan=False)
    low: float | None = Field(None, allow_inf_nan=False, description="Band goals: lower bound.")
    high: float | None = Field(None, allow_inf_nan=False, description="Band goals: upper bound.")
    start_date: date
    due_date: date
    evaluation_grain: Grain = Field(
        Grain.MONTH,
        description="The period the goal is judged over: the last complete one.",
    )
    judge_partial: bool = Field(
        False,
        description="Judge the goal on the period in progress (so far) instead of the last "
        "complete one. Off by default: a half-month of data can mislead.",
    )
    weight: float = Field(1.0, gt=0, description="Its weight in its objective's progress.")


class GoalPatch(BaseModel):
    """Only the fields sent change. Changing the KPI, scope, baseline period, evaluation
    grain or start date recomputes a computed baseline; a baseline you typed stays until you
    change it."""

    model_config = ConfigDict(extra="forbid")

    objective_id: int | None = None
    title: str | None = Field(None, min_length=1, max_length=200)
    kpi: str | None = None
    scope: GoalScope | None = None
    kind: GoalKind | None = None
    baseline: float | None = Field(None, allow_inf_nan=False)
    baseline_start: date | None = None
    baseline_end: date | None = None
    target: float | None = Field(None, allow_inf_nan=False)
    low: float | None = Field(None, allow_inf_nan=False)
    high: float | None = Field(None, allow_inf_nan=False)
    start_date: date | None = None
    due_date: date | None = None
    evaluation_grain: Grain | None = None
    judge_partial: bool | None = None
    weight: float | None = Field(None, gt=0)


class GoalOut(BaseModel):
    id: int
    objective_id: int
    title: str
    kpi: str
    scope: GoalScope
    kind: GoalKind
    baseline: float | None = Field(description="null until it can be computed.")
    baseline_start: date | None
    baseline_end: date | None
    baseline_computed: bool = Field(description="true when Northstar computed the baseline.")
    target: float | None
    low: float | None
    high: float | None
    start_date: date
    due_date: date
    evaluation_grain: Grain
    judge_partial: bool
    weight: float
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Goal) -> GoalOut:
        return cls(
            id=row.id,
            objective_id=row.objective_id,
            title=row.title,
            kpi=row.kpi_key,
            scope=scope_of(row),
            kind=GoalKind(row.kind),
            baseline=row.baseline,
            baseline_start=row.baseline_start,
            baseline_end=row.baseline_end,
            baseline_computed=row.baseline_computed,
            target=row.target,
            low=row.low,
            high=row.high,
            start_date=row.start_date,
            due_date=row.due_date,
            evaluation_grain=Grain(row.evaluation_grain),
            judge_partial=row.judge_partial,
            weight=row.weight,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


def scope_of(row: Goal) -> GoalScope:
    return GoalScope(
        source=row.scope_source,
        client=row.scope_client,
        technician=row.scope_technician,
        board=row.scope_board,
        priority=row.scope_priority,
    )


class MilestoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, max_length=200, examples=["6-month checkpoint"])
    due_date: date
    target: float | None = Field(
        None,
        allow_inf_nan=False,
        description="The KPI value to reach by then (increase/decrease goals need one; "
        "threshold goals may step their threshold; band goals take none: the band held).",
    )


class MilestonePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, max_length=200)
    due_date: date | None = None
    target: float | None = Field(None, allow_inf_nan=False)


class MilestoneOut(BaseModel):
    id: int
    goal_id: int
    title: str | None
    due_date: date
    target: float | None

    @classmethod
    def of(cls, row: Milestone) -> MilestoneOut:
        return cls.model_validate(row, from_attributes=True)


class CheckInIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    goal_id: int | None = Field(None, description="A check-in is on a goal or an objective.")
    objective_id: int | None = None
    date: dt.date | None = Field(None, description="Default: today in the reporting time zone.")
    confidence: int = Field(ge=1, le=10, description="1 (won't happen) to 10 (certain).")
    note: str | None = Field(None, max_length=4000)
    author: str | None = Field(None, max_length=200)


class CheckInPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: dt.date | None = None
    confidence: int | None = Field(None, ge=1, le=10)
    note: str | None = Field(None, max_length=4000)
    author: str | None = Field(None, max_length=200)


class CheckInOut(BaseModel):
    id: int
    goal_id: int | None
    objective_id: int | None
    date: dt.date
    confidence: int
    note: str | None
    author: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: CheckIn) -> CheckInOut:
        return cls(
            id=row.id,
            goal_id=row.goal_id,
            objective_id=row.objective_id,
            date=row.check_in_date,
            confidence=row.confidence,
            note=row.note,
            author=row.author,
            created_at=row.created_at,
        )
