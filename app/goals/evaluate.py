"""Goals evaluated against the KPI store as of a date: the scorecard and one goal in depth.

The maths lives in `app.goals.alignment` and `app.goals.forecast`; this module decides which
periods to read (see `evaluation_window`), reads them for every goal at once through
`SeriesReader`, and shapes the answer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import NorthstarError
from app.goals.alignment import (
    GoalTerms,
    MilestoneTerms,
    Status,
    Thresholds,
    assess,
    meets,
)
from app.goals.forecast import Point, forecast
from app.goals.models import AlignmentSnapshot, CheckIn, Goal, GoalKind, Milestone
from app.goals.schemas import CheckInOut, scope_of
from app.goals.series import SeriesKey, SeriesReader
from app.goals.views import (
    ForecastOut,
    GoalAlignmentOut,
    KpiRef,
    MilestoneStatusOut,
    SeriesPointOut,
    WindowOut,
)
from app.kpis.catalogue import Grain, KpiDefinition
from app.kpis.compute import kpi_values
from app.kpis.manual import get_kpi
from app.kpis.periods import Period, period_containing
from app.kpis.scope import ScopeFilter

SPARKLINE_PERIODS = 12
# A daily goal over three years would read 1,000 days; the forecast uses the latest ones.
MAX_SERIES_PERIODS = 400
ONE_DAY = timedelta(days=1)


def evaluation_window(day: date, grain: Grain, *, complete: bool = True) -> Period:
    """The window the current value is measured over as of `day` (GOALS.md §2.1).

    `complete`: the last complete period, i.e. the one containing `day` when `day` is its
    last day, else the one before (mid-November reads October; 30 November reads November).
    Otherwise the period containing `day`, still in progress."""
    period = period_containing(day, grain)
    if not complete or period.last_day == day:
        return period
    return period_containing(period.start - ONE_DAY, grain)


def window_rule(grain: Grain, complete: bool) -> str:
    if complete:
        return f"The last complete {grain.value} on or before as_of."
    return f"The {grain.value} containing as_of, so far (still in progress)."


def _step_back(period: Period, grain: Grain, count: int) -> Period:
    for _ in range(count):
        period = period_containing(period.start - ONE_DAY, grain)
    return period


@lru_cache(maxsize=1024)
def series_periods(
    window: Period, grain: Grain, sparkline: int, start_period: Period
) -> tuple[Period, ...]:
    """The periods a goal reads, oldest first, ending with its window: the sparkline's, and
    back to the one before the start (for the forecast, and for a milestone soon after the
    start), at most MAX_SERIES_PERIODS. Pure calendar arithmetic, so cached."""
    first = _step_back(window, grain, max(sparkline, 1) - 1)
    before_start = _step_back(start_period, grain, 1)
    if before_start.start < first.start:
        first = before_start
    periods = [first]
    while periods[-1] < window:
        periods.append(period_containing(periods[-1].end, grain))
    return tuple(periods[-MAX_SERIES_PERIODS:])


def baseline_period(goal: Goal) -> Period:
    """The given baseline period, else the evaluation period before the one containing the
    start date (a goal starting in July measures its baseline over June)."""
    if goal.baseline_start is not None and goal.baseline_end is not None:
        return Period(goal.baseline_start, goal.baseline_end)
    grain = Grain(goal.evaluation_grain)
    return _step_back(period_containing(goal.start_date, grain), grain, 1)


def compute_baseline(
    session: Session, goal: Goal, kpi: KpiDefinition, scope: ScopeFilter
) -> float | None:
    """The KPI over the baseline period as one window; None when it has no value (yet)."""
    (value,) = kpi_values(session, kpi, scope, [baseline_period(goal)])
    return value.value


def goal_terms(goal: Goal, milestones: Sequence[Milestone], baseline: float | None) -> GoalTerms:
    return GoalTerms(
        kind=GoalKind(goal.kind),
        start_date=goal.start_date,
        due_date=goal.due_date,
        baseline=baseline,
        target=goal.target,
        low=goal.low,
        high=goal.high,
        milestones=tuple(MilestoneTerms(m.due_date, m.target) for m in milestones),
    )


@dataclass
class _Plan:
    goal: Goal
    kpi: KpiDefinition | None
    key: SeriesKey | None
    problem: str | None
    window: Period
    periods: list[Period]  # oldest first, ending with the window
    baseline: float | None


def round_value(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


class AlignmentEngine:
    """Evaluates goals as of a date. One engine per request: it caches KPI definitions."""

    def __init__(
        self,
        session: Session,
        *,
        thresholds: Thresholds,
        persist_baselines: bool = False,
        use_snapshots: bool = True,
    ) -> None:
        self.session = session
        self.thresholds = thresholds
        self.persist_baselines = persist_baselines
        self.use_snapshots = use_snapshots
        self._kpis: dict[str, KpiDefinition] = {}

    # ---- loading -------------------------------------------------------------------------

    def _kpi(self, key: str) -> KpiDefinition:
        if key not in self._kpis:
            self._kpis[key] = get_kpi(self.session, key)
        return self._kpis[key]

    def milestones_by_goal(self, goal_ids: Iterable[int]) -> dict[int, list[Milestone]]:
        found: dict[int, list[Milestone]] = defaultdict(list)
        ids = list(goal_ids)
        if ids:
            for row in self.session.scalars(
                select(Milestone)
                .where(Milestone.goal_id.in_(ids))
                .order_by(Milestone.due_date, Milestone.id)
            ):
                found[row.goal_id].append(row)
        return found

    def latest_check_ins(self, as_of: date) -> tuple[dict[int, CheckIn], dict[int, CheckIn]]:
        """The latest check-in on or before `as_of`, per goal and per objective."""
        goals: dict[int, CheckIn] = {}
        objectives: dict[int, CheckIn] = {}
        for row in self.session.scalars(
            select(CheckIn)
            .where(CheckIn.check_in_date <= as_of)
            .order_by(CheckIn.check_in_date, CheckIn.id)
        ):
            if row.goal_id is not None:
                goals[row.goal_id] = row
            if row.objective_id is not None:
                objectives[row.objective_id] = row
        return goals, objectives

    # ---- goals ---------------------------------------------------------------------------

    def _plan(
        self, goal: Goal, as_of: date, complete: bool, sparkline: int, reader: SeriesReader
    ) -> _Plan:
        grain = Grain(goal.evaluation_grain)
        window = evaluation_window(as_of, grain, complete=complete)
        periods = list(
            series_periods(window, grain, sparkline, period_containing(goal.start_date, grain))
        )
        scope = goal.scope_filter
        try:
            kpi = self._kpi(goal.kpi_key)
        except NorthstarError as exc:
            return _Plan(goal, None, None, exc.message, window, periods, goal.baseline)
        key = SeriesKey(kpi, scope, grain)
        reader.want(key, periods[0].start, periods[-1].end)
        baseline = goal.baseline
        if baseline is None and GoalKind(goal.kind).moves:
            baseline = compute_baseline(self.session, goal, kpi, scope)
            # Fixed only once its period is over: a baseline read from half a period would
            # stay wrong for the life of the goal.
            if (
                baseline is not None
                and self.persist_baselines
                and baseline_period(goal).end <= as_of
            ):
                goal.baseline, goal.baseline_computed = baseline, True
        return _Plan(goal, kpi, key, None, window, periods, baseline)

    def evaluate_goals(
        self,
        goals: Sequence[Goal],
        as_of: date,
        *,
        complete: bool = True,
        sparkline: int = SPARKLINE_PERIODS,
    ) -> dict[int, GoalAlignmentOut]:
        """Each goal's alignment as of `as_of`, by goal id; KPI reads are batched."""
        reader = SeriesReader(self.session)
        plans = [self._plan(goal, as_of, complete, sparkline, reader) for goal in goals]
        reader.fetch()
        milestones = self.milestones_by_goal(g.id for g in goals)
        check_ins, _ = self.latest_check_ins(as_of)
        evaluated = {
            plan.goal.id: self._goal_out(
                plan,
                as_of,
                complete,
                reader,
                milestones.get(plan.goal.id, []),
                check_ins.get(plan.goal.id),
                sparkline,
            )
            for plan in plans
        }
        if complete and self.use_snapshots:
            self._recorded(evaluated, as_of)
        return evaluated

    def _recorded(self, evaluated: dict[int, GoalAlignmentOut], as_of: date) -> None:
        """Replace the computed headline (value, progress, status, forecast) by the one the
        daily snapshot of `as_of` recorded, where there is one: history is a read, not a
        recomputation over data that has changed since (GOALS.md §3)."""
        if not evaluated:
            return
        for row in self.session.scalars(
            select(AlignmentSnapshot).where(
                AlignmentSnapshot.day == as_of, AlignmentSnapshot.goal_id.in_(list(evaluated))
            )
        ):
            status = Status(row.status)
            current = evaluated[row.goal_id]
            window = current.window
            if window is not None and row.window_start and row.window_end:
                window = window.model_copy(
                    update={"start": row.window_start, "end": row.window_end}
                )
            evaluated[row.goal_id] = current.model_copy(
                update={
                    "recorded_on": row.day,
                    "status": status,
                    "status_words": status.words,
                    "reason": row.reason or current.reason,
                    "current_value": row.current_value,
                    "progress": row.progress,
                    "progress_raw": row.progress_raw,
                    "expected_progress": row.expected_progress
                    if row.expected_progress is not None
                    else current.expected_progress,
                    "pace": row.pace,
                    "baseline": row.baseline,
                    "window": window,
                    "forecast": ForecastOut.model_validate(row.forecast) if row.forecast else None,
                }
            )

    def _goal_out(
        self,
        plan: _Plan,
        as_of: date,
        complete: bool,
        reader: SeriesReader,
        milestones: list[Milestone],
        check_in: CheckIn | None,
        sparkline: int,
    ) -> GoalAlignmentOut:
        goal = plan.goal
        grain = Grain(goal.evaluation_grain)
        terms = goal_terms(goal, milestones, plan.baseline)
        values: dict[date, float | None] = {}
        if plan.key is not None:
            values = {p.start: reader.value(plan.key, p) for p in plan.periods}
        current = values.get(plan.window.start)
        window_complete = plan.window.last_day <= as_of
        assessment = assess(
            terms, current, as_of, window_complete=window_complete, thresholds=self.thresholds
        )
        reason = plan.problem or assessment.reason
        start_period = period_containing(goal.start_date, grain)
        points = [
            Point(p.last_day, v)
            for p in plan.periods
            if p.start >= start_period.start and (v := values.get(p.start)) is not None
        ]
        projection = forecast(terms, points, grain.value) if plan.key is not None else None
        milestone_rows = [self._milestone_out(m, terms, grain, as_of, values) for m in milestones]
        kpi = plan.kpi
        return GoalAlignmentOut(
            goal_id=goal.id,
            objective_id=goal.objective_id,
            title=goal.title,
            kpi=KpiRef(
                key=goal.kpi_key,
                name=kpi.name if kpi else goal.kpi_key,
                unit=kpi.unit if kpi else "",
                direction=kpi.direction.value if kpi else "",
            ),
            scope=scope_of(goal),
            kind=GoalKind(goal.kind),
            baseline=round_value(plan.baseline),
            baseline_computed=goal.baseline_computed
            or (goal.baseline is None and plan.baseline is not None),
            target=goal.target,
            low=goal.low,
            high=goal.high,
            start_date=goal.start_date,
            due_date=goal.due_date,
            evaluation_grain=grain.value,
            weight=goal.weight,
            as_of=as_of,
            window=WindowOut(
                start=plan.window.start,
                end=plan.window.end,
                complete=window_complete,
                rule=window_rule(grain, complete),
            ),
            current_value=round_value(current),
            progress_raw=round_value(assessment.progress_raw),
            progress=round_value(assessment.progress),
            expected_progress=round(assessment.expected_progress, 6),
            pace=round_value(assessment.pace),
            status=assessment.status,
            status_words=assessment.status.words,
            reason=reason,
            forecast=None
            if projection is None
            else ForecastOut(
                method=projection.method,
                points=projection.points,
                slope_per_day=round(projection.slope_per_day, 9),
                projected_value=round(projection.projected_value, 6),
                meets_target=projection.meets_target,
                crossing_date=projection.crossing_date,
            ),
            forecast_note=None
            if projection is not None
            else (
                plan.problem
                or f"A forecast needs at least 3 {grain.value}s with a value since the start "
                f"date; there are {len(points)}."
            ),
            milestones=milestone_rows,
            next_milestone=next((m for m in milestone_rows if m.status == "pending"), None),
            latest_check_in=CheckInOut.of(check_in) if check_in else None,
            series=[
                SeriesPointOut(
                    period_start=p.start, period_end=p.end, value=round_value(values.get(p.start))
                )
                for p in plan.periods[-sparkline:]
            ]
            if sparkline
            else [],
        )

    @staticmethod
    def _milestone_out(
        milestone: Milestone,
        terms: GoalTerms,
        grain: Grain,
        as_of: date,
        values: dict[date, float | None],
    ) -> MilestoneStatusOut:
        """Hit when the KPI over the last complete window as of the milestone's date meets
        its target (or, without one, the goal's own condition); pending until that date."""
        value: float | None = None
        if milestone.due_date > as_of:
            status = "pending"
        else:
            window = evaluation_window(milestone.due_date, grain)
            value = values.get(window.start)
            hit = value is not None and meets(terms, value, milestone.target)
            status = "hit" if hit else "missed"
        return MilestoneStatusOut(
            id=milestone.id,
            title=milestone.title,
            due_date=milestone.due_date,
            target=milestone.target,
            status=status,
            value=round_value(value),
        )
