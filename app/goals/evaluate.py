"""Goals evaluated against the KPI store as of a date: the scorecard and one goal in depth.

The rules live in `app.goals.verdict` (status, progress, record of periods held),
`app.goals.forecast` (the range at the due date) and `app.goals.alignment`; this module
decides which periods to read, reads them for every goal at once through `SeriesReader`,
tells each period's coverage (`app.kpis.coverage`), and shapes the answer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import NorthstarError
from app.goals.alignment import GoalTerms, MilestoneTerms, Thresholds
from app.goals.models import CheckIn, Goal, GoalKind, Milestone
from app.goals.recorded import apply_snapshots
from app.goals.series import SeriesKey, SeriesReader
from app.goals.shaping import GoalFacts, goal_out
from app.goals.verdict import PeriodReading
from app.goals.views import GoalAlignmentOut
from app.kpis.catalogue import Grain, KpiDefinition
from app.kpis.compute import kpi_values
from app.kpis.coverage import Coverage, PeriodState, ScopeCoverage
from app.kpis.manual import get_kpi
from app.kpis.periods import Period, period_containing
from app.kpis.scope import ScopeFilter

SPARKLINE_PERIODS = 12
# A daily goal over three years would read 1,000 days; the forecast uses the latest ones.
MAX_SERIES_PERIODS = 400
ONE_DAY = timedelta(days=1)


def _step_back(period: Period, grain: Grain, count: int) -> Period:
    for _ in range(count):
        period = period_containing(period.start - ONE_DAY, grain)
    return period


@lru_cache(maxsize=1024)
def series_periods(
    current: Period, grain: Grain, sparkline: int, start_period: Period
) -> tuple[Period, ...]:
    """The periods a goal reads, oldest first, ending with the one containing as_of: the
    sparkline's, and back to the one before the start (the baseline, the record since the
    start, the forecast), at most MAX_SERIES_PERIODS. Pure calendar arithmetic, so cached."""
    first = _step_back(current, grain, max(sparkline, 1) - 1)
    before_start = _step_back(start_period, grain, 1)
    if before_start.start < first.start:
        first = before_start
    periods = [first]
    while periods[-1] < current:
        periods.append(period_containing(periods[-1].end, grain))
    return tuple(periods[-MAX_SERIES_PERIODS:])


def baseline_period(goal: Goal) -> Period:
    """The given baseline period, else the evaluation period before the one containing the
    start date (a goal starting in July measures its baseline over June)."""
    if goal.baseline_start is not None and goal.baseline_end is not None:
        return Period(goal.baseline_start, goal.baseline_end)
    grain = Grain(goal.evaluation_grain)
    return _step_back(period_containing(goal.start_date, grain), grain, 1)


def period_state(
    coverage: ScopeCoverage | None, period: Period, as_of: date, today: date
) -> PeriodState:
    """A PSA KPI's period by its sources' coverage; a manual KPI's by the calendar alone: as
    of a day, complete when that day is its last or later and the period is over today (an
    observation may still be posted on its last day)."""
    if coverage is not None:
        return coverage.state(period, as_of)
    if period.last_day <= as_of and period.end <= today:
        return PeriodState.COMPLETE
    return PeriodState.PARTIAL


def scope_coverage(
    coverage: Coverage, kpi: KpiDefinition, scope: ScopeFilter
) -> ScopeCoverage | None:
    return None if kpi.manual else coverage.for_source(scope.source_id)


def compute_baseline(
    session: Session,
    goal: Goal,
    kpi: KpiDefinition,
    scope: ScopeFilter,
    *,
    tz: tzinfo,
    as_of: date,
) -> tuple[float | None, PeriodReading]:
    """The KPI over the baseline period as one window, and that period's reading; the value
    is None unless the period is complete and covered (a baseline read from half a period,
    or from before the history held, would stay wrong for the life of the goal)."""
    period = baseline_period(goal)
    coverage = scope_coverage(Coverage.load(session, tz), kpi, scope)
    state = period_state(coverage, period, as_of, datetime.now(tz).date())
    (value,) = kpi_values(session, kpi, scope, [period])
    usable = value.value if state is PeriodState.COMPLETE else None
    return usable, PeriodReading(period, usable, value.sample_size, state)


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
    coverage: ScopeCoverage | None
    periods: list[Period]  # oldest first, ending with the one containing as_of
    baseline: float | None
    baseline_reading: PeriodReading | None


class AlignmentEngine:
    """Evaluates goals as of a date. One engine per request: it caches KPI definitions and
    the sources' coverage."""

    def __init__(
        self,
        session: Session,
        *,
        thresholds: Thresholds,
        tz: tzinfo,
        persist_baselines: bool = False,
        use_snapshots: bool = True,
    ) -> None:
        self.session = session
        self.thresholds = thresholds
        self.tz = tz
        self.persist_baselines = persist_baselines
        self.use_snapshots = use_snapshots
        self._kpis: dict[str, KpiDefinition] = {}
        self._coverage: Coverage | None = None
        self.today = datetime.now(tz).date()

    # ---- loading -------------------------------------------------------------------------

    @property
    def coverage(self) -> Coverage:
        if self._coverage is None:
            self._coverage = Coverage.load(self.session, self.tz)
        return self._coverage

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

    def _plan(self, goal: Goal, as_of: date, sparkline: int, reader: SeriesReader) -> _Plan:
        grain = Grain(goal.evaluation_grain)
        current = period_containing(as_of, grain)
        start_period = period_containing(goal.start_date, grain)
        periods = list(series_periods(current, grain, sparkline, start_period))
        scope = goal.scope_filter
        try:
            kpi = self._kpi(goal.kpi_key)
        except NorthstarError as exc:
            return _Plan(goal, None, None, exc.message, None, periods, goal.baseline, None)
        key = SeriesKey(kpi, scope, grain)
        reader.want(key, periods[0].start, periods[-1].end)
        coverage = scope_coverage(self.coverage, kpi, scope)
        baseline, baseline_reading = goal.baseline, None
        if GoalKind(goal.kind).moves:
            period = baseline_period(goal)
            if baseline is None:
                (value,) = kpi_values(self.session, kpi, scope, [period])
                state = period_state(coverage, period, as_of, self.today)
                baseline = value.value if state is PeriodState.COMPLETE else None
                baseline_reading = PeriodReading(period, baseline, value.sample_size, state)
                # Fixed only once its period is complete and covered (see compute_baseline).
                if baseline is not None and self.persist_baselines:
                    goal.baseline, goal.baseline_computed = baseline, True
            else:
                baseline_reading = PeriodReading(
                    period, baseline, 0, period_state(coverage, period, as_of, self.today)
                )
        return _Plan(goal, kpi, key, None, coverage, periods, baseline, baseline_reading)

    def evaluate_goals(
        self,
        goals: Sequence[Goal],
        as_of: date,
        *,
        sparkline: int = SPARKLINE_PERIODS,
    ) -> dict[int, GoalAlignmentOut]:
        """Each goal's alignment as of `as_of`, by goal id; KPI reads are batched."""
        reader = SeriesReader(self.session)
        plans = [self._plan(goal, as_of, sparkline, reader) for goal in goals]
        reader.fetch()
        milestones = self.milestones_by_goal(g.id for g in goals)
        check_ins, _ = self.latest_check_ins(as_of)
        evaluated = {
            plan.goal.id: goal_out(
                self._facts(plan, as_of, reader, milestones.get(plan.goal.id, [])),
                thresholds=self.thresholds,
                check_in=check_ins.get(plan.goal.id),
                sparkline=sparkline,
            )
            for plan in plans
        }
        if self.use_snapshots:
            apply_snapshots(self.session, evaluated, as_of)
        return evaluated

    def _facts(
        self, plan: _Plan, as_of: date, reader: SeriesReader, milestones: list[Milestone]
    ) -> GoalFacts:
        readings = []
        for period in plan.periods:
            state = period_state(plan.coverage, period, as_of, self.today)
            found = reader.reading(plan.key, period) if plan.key is not None else None
            usable = state in (PeriodState.COMPLETE, PeriodState.PARTIAL) and found is not None
            readings.append(
                PeriodReading(
                    period,
                    found.value if usable and found is not None else None,
                    found.sample_size if usable and found is not None else 0,
                    state,
                )
            )
        return GoalFacts(
            goal=plan.goal,
            kpi=plan.kpi,
            problem=plan.problem,
            coverage=plan.coverage,
            as_of=as_of,
            terms=goal_terms(plan.goal, milestones, plan.baseline),
            readings=readings,
            baseline_reading=plan.baseline_reading,
            milestones=milestones,
            written_on=plan.goal.created_on(self.tz),
        )
