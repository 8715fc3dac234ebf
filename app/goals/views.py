"""The JSON shapes of alignment (scorecard, one goal as of a date) and quarterly reviews."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from app.goals.alignment import Status
from app.goals.models import GoalKind
from app.goals.plan_schemas import PlanChangeOut, StoryOut
from app.goals.schemas import CheckInOut, GoalScope


class KpiRef(BaseModel):
    key: str
    name: str
    unit: str
    direction: str
    min: float | None = Field(None, description="The lowest value the KPI can take.")
    max: float | None = Field(None, description="The highest value the KPI can take.")


class WindowOut(BaseModel):
    start: date = Field(description="First day of the period the status is judged on.")
    end: date = Field(description="The day after its last day.")
    complete: bool = Field(description="false when the period is still in progress.")
    partial: bool = Field(
        False, description="true when judged on the period so far (the goal opted in)."
    )
    rule: str = Field(description="Which period was taken, in words.")


class ForecastOut(BaseModel):
    method: str = Field(description="How the forecast was made, in words.")
    level: float = Field(description="The level of the range, e.g. 0.8 for 80 %.")
    points: int = Field(description="How many complete periods the trend is fitted to.")
    first_day: date = Field(description="The last day of the first period used.")
    last_day: date = Field(description="The last day of the latest period used.")
    projected_value: float = Field(description="The trend's value at the due date.")
    low: float = Field(description="The range's low end at the due date.")
    high: float = Field(description="The range's high end at the due date.")
    probability: float = Field(
        description="The chance (0–1) that the goal's condition holds at the due date."
    )
    meets_target: bool = Field(description="Whether the projected value satisfies the goal.")
    explanation: str = Field(description="The forecast in one sentence.")


class RecordOut(BaseModel):
    """Threshold and band goals: what held since the start, instead of a progress line."""

    held: int = Field(description="Complete periods since the start in which the goal held.")
    judged: int = Field(description="Complete periods since the start with a value.")
    streak: int = Field(description="Consecutive periods, ending with the latest, alike.")
    streak_held: bool = Field(description="true: the streak is of periods held.")
    margin: float = Field(
        description="The latest value's distance to the threshold or nearest bound: "
        "positive inside, negative outside."
    )
    words: str


class EvidenceOut(BaseModel):
    sample_size: int = Field(description="Tickets, responses, entries or technicians behind it.")
    interval_low: float | None = Field(
        description="Proportions (SLA %, satisfaction): low end of the 90 % Wilson interval."
    )
    interval_high: float | None
    level: float | None = Field(description="The interval's level (0.9).")
    small_sample: bool = Field(description="Fewer than 30 events behind a proportion.")
    thin: bool = Field(
        description="The interval still reaches the goal, so this period alone cannot fail it: "
        "the status is at most at_risk."
    )


class MilestoneStatusOut(BaseModel):
    id: int
    title: str | None
    due_date: date
    target: float | None
    status: str = Field(
        description="hit, missed, pending (not due, or its period not complete and synced yet) "
        "or no_data (its period has no value, or is before the history held)."
    )
    value: float | None = Field(description="The KPI over the period judged for it.")


class SeriesPointOut(BaseModel):
    period_start: date
    period_end: date
    value: float | None
    sample_size: int = 0
    partial: bool = Field(
        False, description="The period is still in progress, or not synced to its end: so far."
    )
    reason: str | None = Field(
        None, description="Why the value is null: before_history or not_synced."
    )


class CoverageOut(BaseModel):
    history_from: date | None = Field(
        description="The first day from which every PSA in the goal's scope holds complete "
        "history; earlier periods are never graded."
    )
    synced_until: datetime | None = Field(description="The oldest of their last syncs.")


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
    judge_partial: bool = Field(description="Judged on the period so far (opted in).")
    weight: float
    as_of: date
    coverage: CoverageOut | None = Field(description="null for manual KPIs.")
    window: WindowOut | None = Field(description="The period the status is judged on.")
    current_value: float | None = Field(description="The KPI over that period.")
    sample_size: int | None = Field(description="How many events that value rests on.")
    progress_raw: float | None = Field(
        description="Increase/decrease only. Unclamped: above 1 is over-achievement, below 0 "
        "is going backwards."
    )
    progress: float | None = Field(description="Increase/decrease only; clamped to [0, 1].")
    expected_progress: float | None = Field(
        description="Increase/decrease only: where progress should be at the end of the "
        "period judged (0–1)."
    )
    pace: float | None = Field(description="progress ÷ expected, for increase/decrease goals.")
    progress_explanation: str | None = Field(
        description="The progress (or, for threshold and band goals, the periods held) in words."
    )
    record: RecordOut | None = Field(description="Threshold and band goals: periods held.")
    evidence: EvidenceOut | None = Field(description="The sample behind the judged value.")
    status: Status
    status_words: str
    reason: str = Field(description="Why the status is what it is, in one sentence.")
    forecast: ForecastOut | None
    forecast_note: str | None = Field(description="Why there is no forecast, when there is none.")
    forecast_available_from: date | None = Field(
        None, description="When it is too early to forecast: the day one will be given."
    )
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
    status: Status = Field(
        description="Its worst graded child's status (missed < off_track < at_risk < on_track "
        "< achieved); not_started when none has started, no_data when none has a grade."
    )
    status_words: str
    no_data: int = Field(description="Goals and child objectives without data, shown apart.")
    latest_check_in: CheckInOut | None
    goals: list[GoalAlignmentOut]
    objectives: list[ObjectiveAlignmentOut]


class ThresholdsOut(BaseModel):
    on_track_pace: float
    at_risk_pace: float
    at_risk_margin: float


class SourceHistoryOut(BaseModel):
    source_id: int
    name: str
    history_from: date | None = Field(
        description="The first day from which this PSA's history is held in full; earlier "
        "periods are never graded. null until its first complete read."
    )
    synced_until: datetime | None = Field(description="When all its data was last synced.")


class ScorecardOut(BaseModel):
    as_of: date
    timezone: str
    thresholds: ThresholdsOut
    sources: list[SourceHistoryOut] = Field(
        description="Each PSA's data coverage: what the verdicts can rest on."
    )
    objectives: list[ObjectiveAlignmentOut]


class ReviewPointOut(BaseModel):
    as_of: date
    status: Status
    status_words: str
    value: float | None
    progress: float | None
    reason: str = Field("", description="The verdict of that day in one sentence.")
    from_snapshot: bool = Field(
        description="true when read from that day's snapshot (what was known then); false "
        "when no snapshot was taken that day and it was computed from the data held now."
    )


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
    archived_on: date | None = Field(
        None, description="The day it was archived, when that was during or after the quarter."
    )


class ReviewObjectiveOut(BaseModel):
    id: int
    parent_id: int | None
    path: list[str] = Field(description="Titles from the top objective down to this one.")
    title: str
    purpose: str | None
    owner: str | None
    horizon: str | None
    win_feels_like: str | None = Field(None, description="What a win will feel like.")
    archived_on: date | None = Field(
        None, description="The day it was archived, when that was during or after the quarter."
    )
    status_start: Status
    status_end: Status
    goals: list[ReviewGoalOut]
    check_ins: list[CheckInOut]
    plan_changes: list[PlanChangeOut] = Field(
        default_factory=list,
        description="Changes to the objective, its goals and their milestones made during the "
        "quarter, and those made before it to what is reviewed (`during_quarter` false), "
        "oldest first. Changes made after the quarter are not in it.",
    )


class AddedLaterOut(BaseModel):
    goal_id: int
    objective_id: int
    title: str
    created_on: date = Field(description="The day it was written down (after the quarter).")


class ReviewOut(BaseModel):
    quarter: str
    start: date = Field(description="The quarter's first day (statuses at the start: as of it).")
    end: date = Field(description="The quarter's last day, or today for the current quarter.")
    timezone: str
    stories: list[StoryOut] = Field(
        default_factory=list, description="The stories recorded for the quarter, by date."
    )
    objectives: list[ReviewObjectiveOut] = Field(description="Top-down, parents first.")
    status_changed: list[int] = Field(description="Goals whose status changed over the quarter.")
    added_later: list[AddedLaterOut] = Field(
        default_factory=list,
        description="Goals created after the quarter ended: listed, never graded into it.",
    )
