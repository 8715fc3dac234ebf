"""The JSON shapes of objectives, goals, milestones and check-ins (what is sent and stored).
The alignment and review shapes are in `app.goals.views`."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from app.goals.models import CheckIn, Goal, GoalKind, Milestone, Objective
from app.inputs import DATE_WINDOW_WORDS, VALUE_LIMIT, WEIGHT_MAX, Day, Id
from app.kpis.catalogue import Grain

# Ranges shown in the OpenAPI document; the service checks them and says what to change.
NUMBER_RANGE: dict[str, Any] = {"minimum": -VALUE_LIMIT, "maximum": VALUE_LIMIT}
WEIGHT_RANGE: dict[str, Any] = {"maximum": WEIGHT_MAX}
DATE_WORDS = f"YYYY-MM-DD, {DATE_WINDOW_WORDS}."
Title = Annotated[str, Field(min_length=1, max_length=200)]


def refuse_null(value: Any, field: str) -> Any:
    """For a change (PATCH): a field that must always have a value cannot be sent as null."""
    if value is None:
        raise PydanticCustomError(
            "null_not_allowed",
            "`{field}` cannot be null: leave it out to keep it as it is, or send a value.",
            {"field": field},
        )
    return value


class ObjectiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200, examples=["Reach a $1M recurring run rate"])
    purpose: str | None = Field(
        None, max_length=4000, description="Who it serves and why it matters."
    )
    owner: str | None = Field(None, max_length=200, description="The person answerable for it.")
    horizon: str | None = Field(None, max_length=50, examples=["6 months", "12 months", "3 years"])
    parent_id: Id | None = Field(
        None, description="The objective this one serves (a 3-year objective's 12-month step)."
    )
    win_feels_like: str | None = Field(
        None,
        max_length=4000,
        description="What a win will feel like, not just what it looks like on paper "
        '("I can take a real vacation"). The quarterly review ends with these.',
    )
    weight: float = Field(
        1.0,
        gt=0,
        json_schema_extra=WEIGHT_RANGE,
        description=f"Its weight in its parent's progress: above 0, at most {WEIGHT_MAX:,.0f}.",
    )


class ObjectivePatch(BaseModel):
    """Only the fields sent change; send `parent_id: null` to make it a top-level objective."""

    model_config = ConfigDict(extra="forbid")

    title: Title | SkipJsonSchema[None] = None
    purpose: str | None = Field(None, max_length=4000)
    owner: str | None = Field(None, max_length=200)
    horizon: str | None = Field(None, max_length=50)
    parent_id: Id | None = None
    win_feels_like: str | None = Field(None, max_length=4000)
    weight: Annotated[float, Field(gt=0, json_schema_extra=WEIGHT_RANGE)] | SkipJsonSchema[None] = (
        None
    )

    @field_validator("title", "weight", mode="before")
    @classmethod
    def _not_null(cls, value: Any, info: Any) -> Any:
        return refuse_null(value, info.field_name)


class ObjectiveOut(BaseModel):
    id: int
    parent_id: int | None
    title: str
    purpose: str | None
    owner: str | None
    horizon: str | None
    win_feels_like: str | None = Field(description="What a win will feel like.")
    weight: float
    archived_at: datetime | None = Field(
        description="When it was archived (left out of the scorecard with its goals and "
        "child objectives); null while in use."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Objective) -> ObjectiveOut:
        return cls.model_validate(row, from_attributes=True)


class GoalScope(BaseModel):
    """All optional; one of client, technician, board, priority, or two of them where the KPI
    can be split by the pair (client and priority, technician and board...: docs/kpis.md),
    with source if you like, and only those the KPI supports (see `scopes` in
    GET /api/v1/kpis/{key})."""

    model_config = ConfigDict(extra="forbid")

    source: Id | None = Field(None, description="Only this source (PSA).")
    client: str | None = Field(
        None,
        description="Northstar's client id, or the PSA's own id together with `source`, or "
        "`linked:<id>` for a client linked across PSAs (its numbers pooled).",
    )
    technician: str | None = Field(
        None,
        description="Northstar's technician id, or the PSA's own id with `source`, or "
        "`linked:<id>` for a technician linked across PSAs.",
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

    objective_id: Id
    title: str = Field(min_length=1, max_length=200, examples=["ARR run rate to $1M"])
    kpi: str = Field(description="Any KPI key of GET /api/v1/kpis, manual ones included.")
    scope: GoalScope = Field(default_factory=GoalScope)
    kind: GoalKind = Field(description=GOAL_FIELDS_HELP)
    baseline: float | None = Field(
        None,
        allow_inf_nan=False,
        json_schema_extra=NUMBER_RANGE,
        description="Where the KPI started. Leave it out to have Northstar compute it from the "
        "baseline period; once set it stays fixed.",
    )
    baseline_start: Day | None = Field(
        None,
        description="First day of the baseline period (default: the evaluation period before "
        f"the one containing start_date). {DATE_WORDS}",
    )
    baseline_end: Day | None = Field(
        None, description=f"The day after the baseline period's last day. {DATE_WORDS}"
    )
    target: float | None = Field(None, allow_inf_nan=False, json_schema_extra=NUMBER_RANGE)
    low: float | None = Field(
        None,
        allow_inf_nan=False,
        json_schema_extra=NUMBER_RANGE,
        description="Band goals: lower bound.",
    )
    high: float | None = Field(
        None,
        allow_inf_nan=False,
        json_schema_extra=NUMBER_RANGE,
        description="Band goals: upper bound.",
    )
    start_date: Day = Field(description=DATE_WORDS)
    due_date: Day = Field(description=DATE_WORDS)
    evaluation_grain: Grain = Field(
        Grain.MONTH,
        description="The period the goal is judged over: the last complete one.",
    )
    judge_partial: bool = Field(
        False,
        description="Judge the goal on the period in progress (so far) instead of the last "
        "complete one. Off by default: a half-month of data can mislead.",
    )
    weight: float = Field(
        1.0,
        gt=0,
        json_schema_extra=WEIGHT_RANGE,
        description=f"Its weight in its objective's progress: above 0, at most {WEIGHT_MAX:,.0f}.",
    )


class GoalPatch(BaseModel):
    """Only the fields sent change. Changing the KPI, scope, baseline period, evaluation
    grain or start date recomputes a computed baseline; a baseline you typed stays until you
    change it."""

    model_config = ConfigDict(extra="forbid")

    objective_id: Id | SkipJsonSchema[None] = None
    title: Title | SkipJsonSchema[None] = None
    kpi: str | SkipJsonSchema[None] = None
    scope: GoalScope | None = Field(None, description="null: the whole company.")
    kind: GoalKind | SkipJsonSchema[None] = None
    baseline: float | None = Field(
        None,
        allow_inf_nan=False,
        json_schema_extra=NUMBER_RANGE,
        description="null: compute it from the baseline period.",
    )
    baseline_start: Day | None = Field(None, description=DATE_WORDS)
    baseline_end: Day | None = Field(None, description=DATE_WORDS)
    target: float | None = Field(None, allow_inf_nan=False, json_schema_extra=NUMBER_RANGE)
    low: float | None = Field(None, allow_inf_nan=False, json_schema_extra=NUMBER_RANGE)
    high: float | None = Field(None, allow_inf_nan=False, json_schema_extra=NUMBER_RANGE)
    start_date: Day | SkipJsonSchema[None] = Field(None, description=DATE_WORDS)
    due_date: Day | SkipJsonSchema[None] = Field(None, description=DATE_WORDS)
    evaluation_grain: Grain | None = Field(None, description="null: month, the default.")
    judge_partial: bool | SkipJsonSchema[None] = None
    weight: Annotated[float, Field(gt=0, json_schema_extra=WEIGHT_RANGE)] | SkipJsonSchema[None] = (
        None
    )

    @field_validator(
        "objective_id",
        "title",
        "kpi",
        "kind",
        "start_date",
        "due_date",
        "judge_partial",
        "weight",
        mode="before",
    )
    @classmethod
    def _not_null(cls, value: Any, info: Any) -> Any:
        return refuse_null(value, info.field_name)


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
    archived_at: datetime | None = Field(
        description="When it was archived (left out of the scorecard); null while in use."
    )
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
            archived_at=row.archived_at,
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
    due_date: Day = Field(description=DATE_WORDS)
    target: float | None = Field(
        None,
        allow_inf_nan=False,
        json_schema_extra=NUMBER_RANGE,
        description="The KPI value to reach by then (increase/decrease goals need one; "
        "threshold goals may step their threshold; band goals take none: the band held).",
    )


class MilestonePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, max_length=200)
    due_date: Day | SkipJsonSchema[None] = Field(None, description=DATE_WORDS)
    target: float | None = Field(None, allow_inf_nan=False, json_schema_extra=NUMBER_RANGE)

    @field_validator("due_date", mode="before")
    @classmethod
    def _not_null(cls, value: Any, info: Any) -> Any:
        return refuse_null(value, info.field_name)


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

    goal_id: Id | None = Field(None, description="A check-in is on a goal or an objective.")
    objective_id: Id | None = None
    date: Day | None = Field(
        None, description=f"Default: today in the reporting time zone. {DATE_WORDS}"
    )
    confidence: int = Field(ge=1, le=10, description="1 (won't happen) to 10 (certain).")
    note: str | None = Field(None, max_length=4000)
    author: str | None = Field(
        None,
        max_length=200,
        description="Who is confident. Default: who records it (the API key's name).",
    )


class CheckInPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: Day | SkipJsonSchema[None] = Field(None, description=DATE_WORDS)
    confidence: Annotated[int, Field(ge=1, le=10)] | SkipJsonSchema[None] = None
    note: str | None = Field(None, max_length=4000)
    author: str | None = Field(None, max_length=200)

    @field_validator("date", "confidence", mode="before")
    @classmethod
    def _not_null(cls, value: Any, info: Any) -> Any:
        return refuse_null(value, info.field_name)


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
