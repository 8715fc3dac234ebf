"""The example plan of docs/goals.md §4, ready to seed (for `northstar demo` and trials).

Traditional and emotional goals side by side, over three horizons. The emotional ones are
measured through manual KPIs (a monthly team-confidence pulse, NPS, succession readiness)
seeded with a few months of observations, so every goal has a status from the first look.
Seeding twice changes nothing: the plan is recognised by its top objective's title.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, timedelta, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.goals import checkpoints, objectives, service
from app.goals.alignment import heads_for_target
from app.goals.evaluate import compute_baseline, goal_terms
from app.goals.models import Goal, GoalKind, Objective
from app.goals.schemas import CheckInIn, GoalIn, MilestoneIn, ObjectiveIn
from app.kpis.catalogue import Direction
from app.kpis.manual import declare_manual_kpi, get_kpi, record_observations
from app.kpis.models import ManualKpi
from app.kpis.scope import resolve_scope

TOP_TITLE = "I can take a real vacation"


@dataclass(frozen=True, slots=True)
class ManualSeries:
    key: str
    name: str
    unit: str
    first: float  # the reading the month before the goals start
    last: float  # last month's reading; the months between go in a straight line
    scale_min: float  # the scale it is declared with
    scale_max: float


MANUAL = (
    ManualSeries("team_confidence", "Team confidence pulse (1–10)", "score", 5, 7, 1, 10),
    ManualSeries("nps", "Net promoter score", "score", 22, 35, -100, 100),
    ManualSeries("succession_readiness", "Succession readiness (0–10)", "score", 1, 4, 0, 10),
)


@dataclass(frozen=True, slots=True)
class ExampleGoal:
    title: str
    kpi: str
    kind: str
    target: float | None = None
    low: float | None = None
    high: float | None = None
    relative: float | None = None  # target = baseline × this, for scale-free revenue goals
    months: int = 6


@dataclass(frozen=True, slots=True)
class ExampleObjective:
    title: str
    purpose: str
    horizon: str
    goals: tuple[ExampleGoal, ...] = ()
    children: tuple[ExampleObjective, ...] = field(default=())


PLAN = ExampleObjective(
    TOP_TITLE,
    "The owner, and everyone who depends on the owner: a business that runs without its "
    "founder on call is one that can grow, and be handed on.",
    "3 years",
    goals=(
        ExampleGoal(
            "Utilisation in a healthy band", "utilization_pct", "band", low=70, high=80, months=36
        ),
        ExampleGoal(
            "Backlog down by a third", "open_backlog", "decrease", relative=2 / 3, months=36
        ),
    ),
    children=(
        ExampleObjective(
            "Clients trust us more because we anticipate",
            "Our clients, who renew when problems are caught before they call.",
            "12 months",
            goals=(
                ExampleGoal(
                    "Satisfied clients to 95 %", "csat_pct", "increase", target=95, months=12
                ),
                ExampleGoal("NPS to 50", "nps", "increase", target=50, months=12),
            ),
            children=(
                ExampleObjective(
                    "My team feels more confident and less reactive",
                    "The team: fewer fires, more time for work they are proud of.",
                    "6 months",
                    goals=(
                        ExampleGoal(
                            "Confidence pulse to 8/10", "team_confidence", "increase", target=8
                        ),
                        ExampleGoal(
                            "Respond within SLA", "sla_response_pct", "stay_above", target=95
                        ),
                    ),
                ),
            ),
        ),
        ExampleObjective(
            "Launch a new service line",
            "Clients who need security done for them, and a second source of recurring revenue.",
            "12 months",
            goals=(
                ExampleGoal(
                    "Recurring revenue up 15 %", "mrr", "increase", relative=1.15, months=12
                ),
            ),
            children=(
                ExampleObjective(
                    "Reach a $1M recurring run rate",
                    "The business: the run rate that funds a second service manager.",
                    "6 months",
                    goals=(
                        ExampleGoal(
                            "Run rate to $1M", "arr_run_rate", "increase", target=1_000_000
                        ),
                    ),
                ),
            ),
        ),
        ExampleObjective(
            "Succession plan in place",
            "The owner's family and the team: the business goes on whoever runs it.",
            "3 years",
            goals=(
                ExampleGoal(
                    "Succession readiness to 10/10",
                    "succession_readiness",
                    "increase",
                    target=10,
                    months=36,
                ),
            ),
        ),
    ),
)


def shift_months(day: date, months: int) -> date:
    """The same day of the month `months` later (or earlier), the 28th at most."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, min(day.day, 28))


def seed_manual_kpis(session: Session, start: date, today: date) -> None:
    """Declare the manual KPIs (if missing) and record a reading on the 15th of each month
    from the month before `start` to the month before `today`."""
    first = shift_months(start.replace(day=15), -1)
    months = max(1, (today.year - first.year) * 12 + today.month - first.month)
    for series in MANUAL:
        if session.get(ManualKpi, series.key) is None:
            declare_manual_kpi(
                session,
                key=series.key,
                name=series.name,
                unit=series.unit,
                direction=Direction.UP,
                aggregation="mean",
                description=None,
                scale_min=series.scale_min,
                scale_max=series.scale_max,
            )
        step = (series.last - series.first) / max(months - 1, 1)
        readings: list[tuple[date, float, str | None]] = [
            (shift_months(first, i), round(series.first + step * i, 1), None) for i in range(months)
        ]
        record_observations(session, get_kpi(session, series.key), readings)


def seed_example_plan(
    session: Session, *, start: date, today: date, tz: tzinfo = UTC
) -> int | None:
    """Seed the docs/goals.md §4 plan, its goals starting on `start`; return the top objective's
    id, or None when it was there already. Manual KPIs get a reading a month from the month
    before `start` (their baseline) to the month before `today`."""
    if session.scalar(select(Objective).where(Objective.title == TOP_TITLE)) is not None:
        return None
    seed_manual_kpis(session, start, today)
    return _seed(session, PLAN, None, start, today, tz)


def _seed(
    session: Session,
    example: ExampleObjective,
    parent_id: int | None,
    start: date,
    today: date,
    tz: tzinfo,
) -> int:
    objective = objectives.create_objective(
        session,
        ObjectiveIn(
            title=example.title,
            purpose=example.purpose,
            horizon=example.horizon,
            owner="Owner",
            parent_id=parent_id,
        ),
    )
    for item in example.goals:
        due = shift_months(start, item.months)
        values: dict[str, Any] = {"target": item.target, "low": item.low, "high": item.high}
        if item.relative is not None:
            values["target"] = _relative_target(session, item, start, due, today, tz)
        goal = service.create_goal(
            session,
            GoalIn(
                objective_id=objective.id,
                title=item.title,
                kpi=item.kpi,
                kind=GoalKind(item.kind),
                start_date=start,
                due_date=due,
                **values,
            ),
            today,
            tz,
        )
        # A halfway milestone, where the baseline is on the near side of the target.
        if heads_for_target(goal_terms(goal, [], goal.baseline)):
            assert goal.target is not None and goal.baseline is not None
            halfway = goal.baseline + (goal.target - goal.baseline) / 2
            # The last day of a month, so the milestone reads that whole month.
            middle = shift_months(start, item.months // 2) - timedelta(days=1)
            checkpoints.create_milestone(
                session, goal.id, MilestoneIn(title="Halfway", due_date=middle, target=halfway)
            )
    checkpoints.create_check_in(
        session,
        CheckInIn(objective_id=objective.id, confidence=6, note="Where we start.", author="Owner"),
        today,
    )
    for child in example.children:
        _seed(session, child, objective.id, start, today, tz)
    return objective.id


def _relative_target(
    session: Session, item: ExampleGoal, start: date, due: date, today: date, tz: tzinfo
) -> float:
    """baseline × `item.relative`, the baseline read as the goal would read it."""
    probe = Goal(
        kpi_key=item.kpi,
        evaluation_grain="month",
        start_date=start,
        due_date=due,
        baseline_start=None,
        baseline_end=None,
    )
    kpi = get_kpi(session, item.kpi)
    value, _ = compute_baseline(
        session, probe, kpi, resolve_scope(session, kpi), tz=tz, as_of=today
    )
    baseline = value or 0.0
    assert item.relative is not None
    return round(baseline * item.relative, 2) or 1.0
