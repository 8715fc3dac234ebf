"""One goal's readings turned into its answer: the verdict, the forecast range, the
milestones and the series, in the shapes of `app.goals.views`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from app.goals.alignment import GoalTerms, Status, Thresholds, meets
from app.goals.forecast import Forecast, NoForecast, Point, forecast
from app.goals.models import CheckIn, Goal, GoalKind, Milestone
from app.goals.schemas import CheckInOut, scope_of
from app.goals.verdict import KpiTraits, PeriodReading, Verdict, judge
from app.goals.views import (
    CoverageOut,
    EvidenceOut,
    ForecastOut,
    GoalAlignmentOut,
    KpiRef,
    MilestoneStatusOut,
    RecordOut,
    SeriesPointOut,
    WindowOut,
)
from app.goals.words import as_shown
from app.kpis.catalogue import Grain, KpiDefinition
from app.kpis.coverage import PeriodState, ScopeCoverage
from app.kpis.domain import UNBOUNDED, kpi_domain
from app.kpis.periods import last_complete_period

REASONS = {PeriodState.BEFORE_HISTORY: "before_history", PeriodState.NOT_SYNCED: "not_synced"}


@dataclass(frozen=True, slots=True)
class GoalFacts:
    """Everything read for one goal as of a day."""

    goal: Goal
    kpi: KpiDefinition | None
    problem: str | None  # the KPI is gone, say
    coverage: ScopeCoverage | None
    as_of: date
    terms: GoalTerms
    readings: list[PeriodReading]  # oldest first, ending with the period containing as_of
    baseline_reading: PeriodReading | None
    milestones: list[Milestone]
    written_on: date  # the day the goal was written down, in the reporting zone


def round_value(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _traits(facts: GoalFacts) -> KpiTraits:
    kpi = facts.kpi
    return KpiTraits(
        key=facts.goal.kpi_key,
        name=kpi.name if kpi else facts.goal.kpi_key,
        unit=kpi.unit if kpi else "",
        grain=facts.goal.evaluation_grain,
    )


def forecast_points(facts: GoalFacts, verdict: Verdict) -> list[Point]:
    """The complete, covered periods with a value from the start up to the period judged,
    and in front of them the baseline period when it is complete (increase/decrease goals):
    the line starts where the goal started, and the history it spans only grows, so the
    day from which a forecast will be given does not move."""
    judged = verdict.judged
    limit = min(facts.as_of, facts.terms.due_date)
    points = [
        Point(r.period.last_day, r.value)
        for r in facts.readings
        if r.value is not None
        and r.state is PeriodState.COMPLETE
        and r.period.end > facts.terms.start_date
        and r.period.last_day <= limit
        and (judged is None or r.period.start <= judged.period.start)
    ]
    baseline = facts.baseline_reading
    if (
        baseline is not None
        and baseline.value is not None
        and baseline.state is PeriodState.COMPLETE
        and (not points or baseline.period.last_day < points[0].day)
    ):
        points.insert(0, Point(baseline.period.last_day, baseline.value))
    return points


def _forecast(facts: GoalFacts, verdict: Verdict) -> Forecast | NoForecast:
    if facts.kpi is None:
        return NoForecast("kpi_missing", None, facts.problem or "The KPI is gone.")
    if verdict.status is Status.NOT_STARTED:
        return NoForecast("not_started", None, "No forecast before the goal starts.")
    if facts.as_of > facts.terms.due_date:
        return NoForecast(
            "due_date_passed", None, "No forecast after the due date: the result is measured."
        )
    if facts.terms.kind.moves and facts.terms.baseline is None:
        return NoForecast("no_baseline", None, "No forecast until the baseline is known.")
    domain = kpi_domain(facts.kpi) if facts.kpi else UNBOUNDED
    return forecast(
        facts.terms,
        forecast_points(facts, verdict),
        grain=Grain(facts.goal.evaluation_grain),
        domain=domain,
        unit=facts.kpi.unit,
    )


def _milestone_out(
    facts: GoalFacts, milestone: Milestone, by_start: dict[date, PeriodReading]
) -> MilestoneStatusOut:
    """Hit when the KPI over the last complete period on or before the milestone's date
    meets its target (or, without one, the goal's own condition); pending until that
    period is complete and synced; no_data when it has no value or is before the history."""
    value: float | None = None
    status = "pending"
    if milestone.due_date <= facts.as_of:
        window = last_complete_period(milestone.due_date, Grain(facts.goal.evaluation_grain))
        reading = by_start.get(window.start)
        if reading is None or reading.state is PeriodState.BEFORE_HISTORY:
            status = "no_data"
        elif reading.state is PeriodState.COMPLETE:
            value = reading.value
            if value is None:
                status = "no_data"
            else:
                # Judged as written, like the goal's own verdict (app.goals.words.as_shown).
                shown = as_shown(value, facts.kpi.unit if facts.kpi else "")
                status = "hit" if meets(facts.terms, shown, milestone.target) else "missed"
    return MilestoneStatusOut(
        id=milestone.id,
        title=milestone.title,
        due_date=milestone.due_date,
        target=milestone.target,
        status=status,
        value=round_value(value),
    )


def _forecast_out(projection: Forecast) -> ForecastOut:
    return ForecastOut(
        method=projection.method,
        level=projection.level,
        points=projection.points,
        first_day=projection.first_day,
        last_day=projection.last_day,
        projected_value=round(projection.projected_value, 6),
        low=round(projection.low, 6),
        high=round(projection.high, 6),
        probability=round(projection.probability, 4),
        meets_target=projection.meets_target,
        explanation=projection.explanation,
    )


def _window(verdict: Verdict, facts: GoalFacts) -> WindowOut | None:
    judged = verdict.judged
    if judged is None:
        return None
    grain = facts.goal.evaluation_grain
    partial = judged.state is PeriodState.PARTIAL
    rule = (
        f"The {grain} so far (this goal is judged on the period in progress)."
        if partial
        else f"The last complete, covered {grain} on or before "
        + ("the due date." if facts.as_of > facts.goal.due_date else "as_of.")
    )
    return WindowOut(
        start=judged.period.start,
        end=judged.period.end,
        complete=judged.period.last_day <= facts.as_of,
        partial=partial,
        rule=rule,
    )


def _series(readings: Sequence[PeriodReading], sparkline: int) -> list[SeriesPointOut]:
    if not sparkline:
        return []
    return [
        SeriesPointOut(
            period_start=r.period.start,
            period_end=r.period.end,
            value=round_value(r.value),
            sample_size=r.sample_size,
            partial=r.state is PeriodState.PARTIAL,
            reason=REASONS.get(r.state),
        )
        for r in readings[-sparkline:]
    ]


def kpi_ref(goal: Goal, kpi: KpiDefinition | None) -> KpiRef:
    domain = kpi_domain(kpi) if kpi else UNBOUNDED
    return KpiRef(
        key=goal.kpi_key,
        name=kpi.name if kpi else goal.kpi_key,
        unit=kpi.unit if kpi else "",
        direction=kpi.direction.value if kpi else "",
        min=domain.low,
        max=domain.high,
    )


def goal_out(
    facts: GoalFacts,
    *,
    thresholds: Thresholds,
    check_in: CheckIn | None,
    sparkline: int,
) -> GoalAlignmentOut:
    goal = facts.goal
    if facts.kpi is None:
        verdict = Verdict(Status.NO_DATA, facts.problem or "The KPI is gone.")
    else:
        verdict = judge(
            facts.terms,
            facts.readings,
            facts.as_of,
            _traits(facts),
            thresholds=thresholds,
            judge_partial=goal.judge_partial,
            baseline_reading=facts.baseline_reading,
        )
    if facts.as_of < facts.written_on:
        verdict = replace(
            verdict,
            reason=f"{verdict.reason} This goal was written down on {facts.written_on}, after "
            f"{facts.as_of}: this is worked out from the data held now, not what was known then.",
        )
    projection = _forecast(facts, verdict)
    by_start = {r.period.start: r for r in facts.readings}
    milestones = [_milestone_out(facts, m, by_start) for m in facts.milestones]
    evidence = verdict.evidence
    coverage = facts.coverage
    return GoalAlignmentOut(
        goal_id=goal.id,
        objective_id=goal.objective_id,
        title=goal.title,
        kpi=kpi_ref(goal, facts.kpi),
        scope=scope_of(goal),
        kind=GoalKind(goal.kind),
        baseline=round_value(facts.terms.baseline),
        baseline_computed=goal.baseline_computed
        or (goal.baseline is None and facts.terms.baseline is not None),
        target=goal.target,
        low=goal.low,
        high=goal.high,
        start_date=goal.start_date,
        due_date=goal.due_date,
        evaluation_grain=goal.evaluation_grain,
        judge_partial=goal.judge_partial,
        weight=goal.weight,
        as_of=facts.as_of,
        coverage=None
        if coverage is None
        else CoverageOut(history_from=coverage.history_from, synced_until=coverage.synced_until),
        window=_window(verdict, facts),
        current_value=round_value(verdict.judged.value) if verdict.judged else None,
        sample_size=verdict.judged.sample_size if verdict.judged else None,
        progress_raw=round_value(verdict.progress_raw),
        progress=round_value(verdict.progress),
        expected_progress=round_value(verdict.expected_progress),
        pace=round_value(verdict.pace),
        progress_explanation=verdict.progress_explanation,
        record=None
        if verdict.record is None
        else RecordOut(
            held=verdict.record.held,
            judged=verdict.record.judged,
            streak=verdict.record.streak,
            streak_held=verdict.record.streak_held,
            margin=round(verdict.record.margin, 6),
            words=verdict.record.words,
        ),
        evidence=None
        if evidence is None
        else EvidenceOut(
            sample_size=evidence.sample_size,
            interval_low=round_value(evidence.interval.low if evidence.interval else None),
            interval_high=round_value(evidence.interval.high if evidence.interval else None),
            level=evidence.interval.level if evidence.interval else None,
            small_sample=evidence.small,
            thin=evidence.thin,
        ),
        status=verdict.status,
        status_words=verdict.status.words,
        reason=verdict.reason,
        forecast=_forecast_out(projection) if isinstance(projection, Forecast) else None,
        forecast_note=projection.explanation if isinstance(projection, NoForecast) else None,
        forecast_available_from=projection.available_from
        if isinstance(projection, NoForecast)
        else None,
        milestones=milestones,
        next_milestone=next((m for m in milestones if m.status == "pending"), None),
        latest_check_in=CheckInOut.of(check_in) if check_in else None,
        series=_series(facts.readings, sparkline),
    )
