"""Properties of verdicts over random goals and random monthly series (Hypothesis): nothing
is graded before the start, nor on a period the PSAs' history does not cover, nor on the
month in progress unless the goal opts in; progress stays within 0–1; and a past quarter's
review does not change when goals, check-ins or observations are added afterwards."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.goals.alignment import GoalTerms, Status
from app.goals.models import GoalKind
from app.goals.snapshots import take_alignment_snapshots
from app.goals.verdict import KpiTraits, PeriodReading, judge
from app.kpis.catalogue import Grain
from app.kpis.coverage import PeriodState
from app.kpis.periods import period_containing
from tests.plan_helpers import written_on

SLA = KpiTraits("sla_response_pct", "SLA response met", "percent", "month")
FIRST_MONTH = date(2024, 1, 1)
MONTHS = [period_containing(date(2024 + i // 12, i % 12 + 1, 1), Grain.MONTH) for i in range(36)]


@st.composite
def goals(draw: st.DrawFn) -> GoalTerms:
    kind = draw(st.sampled_from(list(GoalKind)))
    start = MONTHS[draw(st.integers(0, 24))].start + timedelta(days=draw(st.integers(0, 27)))
    # At least to the end of the start's month: the API refuses a goal no whole month of
    # which ends by its due date (it could never be judged).
    due = period_containing(start, Grain.MONTH).last_day + timedelta(days=draw(st.integers(0, 500)))
    percent = st.floats(0, 100, allow_nan=False)
    if kind is GoalKind.BAND:
        low, high = sorted(draw(st.lists(percent, min_size=2, max_size=2, unique=True)))
        return GoalTerms(kind=kind, start_date=start, due_date=due, low=low, high=high)
    target = draw(percent)
    baseline = draw(st.one_of(st.none(), percent)) if kind.moves else None
    return GoalTerms(kind=kind, start_date=start, due_date=due, baseline=baseline, target=target)


@st.composite
def series(draw: st.DrawFn) -> list[PeriodReading]:
    """36 months: before the history held up to some month, then covered (what is not synced
    yet is made by `as_seen_on`), each with a value or nothing to measure, and its sample
    (a proportion with no event has no value)."""
    history_from = draw(st.integers(0, 30))
    readings = []
    for index, period in enumerate(MONTHS):
        state = PeriodState.COMPLETE
        if index < history_from:
            state = PeriodState.BEFORE_HISTORY
        n = draw(st.integers(0, 400))
        value = None if n == 0 else draw(st.one_of(st.none(), st.floats(0, 100, allow_nan=False)))
        readings.append(
            PeriodReading(period, None if state != PeriodState.COMPLETE else value, n, state)
        )
    return readings


def as_seen_on(readings: list[PeriodReading], as_of: date) -> list[PeriodReading]:
    """The series as known on `as_of`: the month containing it in progress, later months not
    synced yet (what app.kpis.coverage says of them)."""
    seen = []
    for r in readings:
        if r.period.start > as_of:
            seen.append(PeriodReading(r.period, None, 0, PeriodState.NOT_SYNCED))
        elif r.period.last_day > as_of and r.state is PeriodState.COMPLETE:
            seen.append(PeriodReading(r.period, r.value, r.sample_size, PeriodState.PARTIAL))
        else:
            seen.append(r)
    return seen


days = st.integers(0, 36 * 31 - 1).map(lambda n: FIRST_MONTH + timedelta(days=n))


@settings(max_examples=300, deadline=None)
@given(goal=goals(), readings=series(), as_of=days, partial=st.booleans())
def test_only_covered_periods_since_the_start_are_ever_graded(
    goal: GoalTerms, readings: list[PeriodReading], as_of: date, partial: bool
) -> None:
    seen = as_seen_on(readings, as_of)

    verdict = judge(goal, seen, as_of, SLA, judge_partial=partial)

    if as_of < goal.start_date:
        assert verdict.status is Status.NOT_STARTED
        assert verdict.judged is None
    if verdict.status.graded:
        judged = verdict.judged
        assert judged is not None and judged.value is not None
        assert judged.state in (PeriodState.COMPLETE, PeriodState.PARTIAL)
        if judged.state is PeriodState.PARTIAL:
            assert partial and as_of <= goal.due_date
        assert judged.period.end > goal.start_date  # a period of the goal, not before it
        assert judged.period.start <= min(as_of, goal.due_date)
    if as_of > goal.due_date and verdict.status.graded:
        assert verdict.status in (Status.ACHIEVED, Status.MISSED)
    if verdict.status is Status.MISSED:
        assert as_of > goal.due_date
    for figure in (verdict.progress, verdict.expected_progress):
        assert figure is None or 0.0 <= figure <= 1.0
    if not goal.kind.moves:
        assert (verdict.progress, verdict.expected_progress, verdict.pace) == (None, None, None)
        if verdict.record is not None:
            assert 0 <= verdict.record.held <= verdict.record.judged
    assert verdict.reason.endswith(".")


@settings(max_examples=200, deadline=None)
@given(goal=goals(), readings=series(), as_of=days)
def test_after_the_due_date_the_verdict_is_final_and_stays(
    goal: GoalTerms, readings: list[PeriodReading], as_of: date
) -> None:
    after = max(as_of, goal.due_date + timedelta(days=1))
    later = after + timedelta(days=400)
    # Seen on the later day, with every month since then synced: the due date's month too.
    first = judge(goal, as_seen_on(readings, later), after, SLA)
    second = judge(goal, as_seen_on(readings, later), later, SLA)

    assert first.status is second.status
    assert first.status in (Status.ACHIEVED, Status.MISSED, Status.NO_DATA)


# ---- a past quarter's review, through the API ---------------------------------------------

PULSE = [{"date": f"2025-{m:02d}-15", "value": v} for m, v in ((1, 6), (2, 6.5), (3, 7.5))]


def _statuses(api: Any) -> dict[int, tuple[Any, ...]]:
    body = api.client.get("/api/v1/reviews/2025-Q1", headers=api.read).json()
    return {
        g["goal_id"]: (
            g["start"]["status"],
            g["end"]["status"],
            g["end"]["value"],
            g["end"]["reason"],
            tuple(m["status"] for m in g["milestones"]),
            tuple((c["day"], c["before"], c["after"]) for c in g["status_changes"]),
        )
        for o in body["objectives"]
        for g in o["goals"]
    } | {"objectives": tuple((o["status_start"], o["status_end"]) for o in body["objectives"])}


additions = st.lists(
    st.one_of(
        st.tuples(st.just("observation"), st.integers(1, 90), st.floats(1, 10)),
        st.tuples(st.just("check_in"), st.integers(1, 90), st.integers(1, 10)),
        st.tuples(st.just("goal"), st.sampled_from(["stay_above", "increase"]), st.floats(1, 9)),
    ),
    min_size=1,
    max_size=4,
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(changes=additions)
def test_a_past_review_does_not_change_when_things_are_added_afterwards(
    snapshotted_plan: Any, changes: list[tuple[Any, ...]]
) -> None:
    api = snapshotted_plan
    before = _statuses(api)
    for what, first, second in changes:
        if what != "goal":  # a day of the quarter
            day = (date(2025, 1, 1) + timedelta(days=first - 1)).isoformat()
        if what == "observation":
            body: Any = {"date": day, "value": round(second, 2)}
            url = "/kpis/team_confidence/observations"
        elif what == "check_in":
            body, url = {"goal_id": 1, "date": day, "confidence": second}, "/check-ins"
        else:
            body = {
                "objective_id": 1,
                "title": "Written later",
                "kpi": "team_confidence",
                "kind": first,
                "target": 9.5 if first == "increase" else round(second, 2),
                "start_date": "2025-01-01",
                "due_date": "2025-12-31",
            }
            url = "/goals"
        response = api.client.post(f"/api/v1{url}", headers=api.admin, json=body)
        assert response.status_code in (200, 201), response.text

    assert _statuses(api) == before


def _snapshot(api: Any, day: date) -> None:
    context = api.setup.context
    take_alignment_snapshots(context.db, context.settings, day)


@pytest.fixture
def snapshotted_plan(plan: Any) -> Any:
    """A team-confidence plan written on 20 December 2024 and snapshotted every day of
    2025-Q1, as the scheduler does."""
    api = plan.api
    api.client.post(
        "/api/v1/kpis",
        headers=api.admin,
        json={"key": "team_confidence", "name": "Team confidence", "min": 1, "max": 10},
    )
    api.client.post(
        "/api/v1/kpis/team_confidence/observations",
        headers=api.admin,
        json=[{"date": "2024-12-10", "value": 5}, *PULSE],
    )
    top = plan.objective("Team confident")
    goal = plan.goal(
        top["id"], title="Pulse to 7.5", kpi="team_confidence", kind="increase", target=7.5
    )
    plan.goal(top["id"], title="Pulse above 6", kpi="team_confidence", kind="stay_above", target=6)
    plan.milestone(goal["id"], "2025-02-28", 6.5)
    written_on(api, date(2024, 12, 20))
    day = date(2024, 12, 20)
    while day <= date(2025, 3, 31):
        _snapshot(api, day)
        day += timedelta(days=1)
    return api


def test_the_fixture_plan_is_graded_in_its_quarter(snapshotted_plan: Any) -> None:
    statuses = _statuses(snapshotted_plan)

    assert statuses[1][:2] == ("no_data", "achieved")  # March 7.5 meets 7.5
    assert statuses[2][1] == "on_track"  # March 7.5, above 6
    assert statuses[1][4] == ("hit",)  # February 6.5
