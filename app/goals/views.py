"""The JSON shapes of alignment (scorecard, one goal as of a date) and quarterly reviews."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from app.goals.alignment import Status
from app.goals.models import GoalKind
from app.goals.schemas import CheckInOut, GoalScope


class KpiRef(BaseModel):
    key: str
    name: str
    unit: str
    direction: str


class WindowOut(BaseModel):
    start: date = Field(description="First day of the window the current value covers.")
    end: date = Field(description="The day after its last day.")
    complete: bool = Field(description="false when the window is still in progress.")
    rule: str = Field(description="Which window was taken, in words.")


class ForecastOut(BaseModel):
    method: str = Field(description="How the forecast was made, in words.")
    points: int = Field(description="How many period values the line goes through.")
    slope_per_day: float
    projected_value: float = Field(description="The line's value at the due date.")
    meets_target: bool = Field(description="Whether the projected value satisfies the goal.")
    crossing_date: date | None = Field(
        description="Increase/decrease: the day the line reaches the target (null if it moves "
        "away or is flat). Threshold/band: the next day it crosses the threshold or a bound."
    )


class MilestoneStatusOut(BaseModel):
    id: int
    title: str | None
    due_date: date
    target: float | None
    status: str = Field(description="hit, missed or pending.")
    value: float | None = Field(description="The KPI over the window as of the due date.")


class SeriesPointOut(BaseModel):
    period_start: date
    period_end: date
    value: float | None


class GoalAlignmentOut(BaseModel):
    goal_id: int
    objective_id: int
    title: str
    kpi: KpiRef
    scope: GoalScope
    kind: GoalKind
    baseline: float | None
    baseline_computed: bool
    target: float | None
    low: float | None
    high: float | None
    start_date: date
    due_date: date
    evaluation_grain: str
    weight: float
    as_of: date
    window: WindowOut | None
    current_value: float | None
    progress_raw: float | None = Field(
        description="Unclamped: above 1 is over-achievement, below 0 is going backwards."
    )
    progress: float | None = Field(description="Clamped to [0, 1].")
    expected_progress: float = Field(description="Where progress should be by as_of (0–1).")
    pace: float | None = Field(description="progress ÷ expected, for increase/decrease goals.")
    status: Status
    status_words: str
    reason: str = Field(description="Why the status is what it is, in words.")
    forecast: ForecastOut | None
    forecast_note: str | None = Field(description="Why there is no forecast, when there is none.")
    milestones: list[MilestoneStatusOut]
    next_milestone: MilestoneStatusOut | None
    latest_check_in: CheckInOut | None
    series: list[SeriesPointOut] = Field(description="The KPI per period, for a sparkline.")
    recorded_on: date | None = Field(
        None,
        description="Set when the value, progress, status and forecast are those recorded by "
        "the daily snapshot of as_of (what was known then); null when computed now.",
    )


class ObjectiveAlignmentOut(BaseModel):
    id: int
    parent_id: int | None
    title: str
    purpose: str | None
    owner: str | None
    horizon: str | None
    weight: float
    progress: float | None = Field(
        description="Weighted mean of the progress of its goals and child objectives with data."
    )
    status: Status = Field(description="Its worst child's status; no_data when none has data.")
    status_words: str
    no_data: int = Field(description="Goals and child objectives without data, shown apart.")
    latest_check_in: CheckInOut | None
    goals: list[GoalAlignmentOut]
    objectives: list[ObjectiveAlignmentOut]


class ThresholdsOut(BaseModel):
    on_track_pace: float
    at_risk_pace: float
    at_risk_margin: float


class ScorecardOut(BaseModel):
    as_of: date
    timezone: str
    thresholds: ThresholdsOut
    objectives: list[ObjectiveAlignmentOut]


class ReviewPointOut(BaseModel):
    as_of: date
    status: Status
    status_words: str
    value: float | None
    progress: float | None
    from_snapshot: bool = Field(description="true when read from that day's snapshot.")


class StatusChangeOut(BaseModel):
    day: date
    before: Status
    after: Status


class ReviewGoalOut(BaseModel):
    goal_id: int
    title: str
    kpi: KpiRef
    kind: GoalKind
    target: float | None
    low: float | None
    high: float | None
    due_date: date
    start: ReviewPointOut
    end: ReviewPointOut
    kpi_change: float | None = Field(description="end value − start value.")
    status_changed: bool
    status_changes: list[StatusChangeOut] = Field(
        description="Changes seen in the daily snapshots within the quarter."
    )
    milestones: list[MilestoneStatusOut] = Field(description="Milestones due in the quarter.")
    check_ins: list[CheckInOut]


class ReviewObjectiveOut(BaseModel):
    id: int
    parent_id: int | None
    path: list[str] = Field(description="Titles from the top objective down to this one.")
    title: str
    purpose: str | None
    owner: str | None
    horizon: str | None
    status_start: Status
    status_end: Status
    goals: list[ReviewGoalOut]
    check_ins: list[CheckInOut]


class ReviewOut(BaseModel):
    quarter: str
    start: date = Field(description="The quarter's first day (statuses at the start: as of it).")
    end: date = Field(description="The quarter's last day, or today for the current quarter.")
    timezone: str
    objectives: list[ReviewObjectiveOut] = Field(description="Top-down, parents first.")
    status_changed: list[int] = Field(description="Goals whose status changed over the quarter.")
