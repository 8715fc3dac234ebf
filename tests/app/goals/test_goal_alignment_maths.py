"""docs/goals.md §2 on plain numbers: expected progress and roll-ups (statuses are in
test_goal_verdicts.py).

A ten-day goal (1 to 11 January) keeps the fractions readable: on 6 January half the time
has passed, so the plan expects half the progress.
"""

from __future__ import annotations

from datetime import date

import pytest

from app.goals.alignment import (
    GoalTerms,
    MilestoneTerms,
    RollupChild,
    Status,
    Thresholds,
    expected_progress,
    roll_up,
)
from app.goals.config import GoalSettings
from app.goals.models import GoalKind

START, DUE, MIDDLE = date(2025, 1, 1), date(2025, 1, 11), date(2025, 1, 6)


def terms(kind: GoalKind, **values: float) -> GoalTerms:
    return GoalTerms(kind=kind, start_date=START, due_date=DUE, **values)  # type: ignore[arg-type]


UP = terms(GoalKind.INCREASE, baseline=100, target=200)


# A milestone at 3 January asks for half the way (150) in a fifth of the time; from there the
# line runs to the target on 11 January.
WITH_MILESTONE = GoalTerms(
    kind=GoalKind.INCREASE,
    start_date=START,
    due_date=DUE,
    baseline=100,
    target=200,
    milestones=(MilestoneTerms(date(2025, 1, 3), 150),),
)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2024, 12, 25), 0.0),
        (START, 0.0),
        (date(2025, 1, 2), 0.25),
        (date(2025, 1, 3), 0.5),
        (date(2025, 1, 7), 0.75),
        (DUE, 1.0),
        (date(2025, 3, 1), 1.0),
    ],
)
def test_expected_progress_runs_from_milestone_to_milestone(day: date, expected: float) -> None:
    assert expected_progress(WITH_MILESTONE, day) == pytest.approx(expected)


def test_without_milestones_expected_progress_is_a_straight_line() -> None:
    assert expected_progress(UP, date(2025, 1, 3)) == pytest.approx(0.2)


def test_milestones_of_threshold_goals_do_not_bend_the_line() -> None:
    stepped = GoalTerms(
        kind=GoalKind.STAY_ABOVE,
        start_date=START,
        due_date=DUE,
        target=95,
        milestones=(MilestoneTerms(date(2025, 1, 3), 90),),
    )

    assert expected_progress(stepped, date(2025, 1, 3)) == pytest.approx(0.2)


def test_roll_up_across_three_levels() -> None:
    # Top: goal A and objective B (weight 2). B: goal C and objective D. D: goals E and F.
    d = roll_up([RollupChild(1, 0.2, Status.OFF_TRACK), RollupChild(1, None, Status.NO_DATA)])
    b = roll_up([RollupChild(1, 1.0, Status.ACHIEVED), RollupChild(1, d.progress, d.status)])
    top = roll_up([RollupChild(1, 0.5, Status.ON_TRACK), RollupChild(2, b.progress, b.status)])

    assert (d.progress, d.status, d.no_data) == (pytest.approx(0.2), Status.OFF_TRACK, 1)
    assert (b.progress, b.status) == (pytest.approx(0.6), Status.OFF_TRACK)
    assert (top.progress, top.status) == (pytest.approx((0.5 + 2 * 0.6) / 3), Status.OFF_TRACK)


@pytest.mark.parametrize(
    ("statuses", "worst"),
    [
        ([Status.ACHIEVED, Status.ON_TRACK], Status.ON_TRACK),
        ([Status.ACHIEVED, Status.AT_RISK, Status.ON_TRACK], Status.AT_RISK),
        ([Status.NO_DATA, Status.ACHIEVED], Status.ACHIEVED),
        ([Status.NO_DATA, Status.NO_DATA], Status.NO_DATA),
        ([Status.MISSED, Status.OFF_TRACK], Status.MISSED),
        ([Status.NOT_STARTED, Status.ON_TRACK], Status.ON_TRACK),
        ([Status.NOT_STARTED, Status.NOT_STARTED], Status.NOT_STARTED),
        ([Status.NOT_STARTED, Status.NO_DATA], Status.NO_DATA),
        ([], Status.NO_DATA),
    ],
)
def test_an_objective_takes_its_worst_measured_child_status(
    statuses: list[Status], worst: Status
) -> None:
    rollup = roll_up([RollupChild(1, 0.5, s) for s in statuses])

    assert rollup.status is worst


def test_weights_shape_the_rolled_up_progress() -> None:
    rollup = roll_up([RollupChild(3, 1.0, Status.ACHIEVED), RollupChild(1, 0.0, Status.OFF_TRACK)])

    assert rollup.progress == pytest.approx(0.75)


def test_thresholds_come_from_northstar_goals_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORTHSTAR_GOALS_AT_RISK_PACE", "0.7")

    thresholds = GoalSettings(_env_file=None).thresholds()  # type: ignore[call-arg]

    assert thresholds == Thresholds(on_track_pace=0.99, at_risk_pace=0.7, at_risk_margin=0.1)


def test_milestones_do_not_bend_the_line_when_the_baseline_is_past_the_target() -> None:
    past = GoalTerms(
        kind=GoalKind.INCREASE,
        start_date=START,
        due_date=DUE,
        baseline=100,
        target=95,
        milestones=(MilestoneTerms(date(2025, 1, 3), 97),),
    )

    assert expected_progress(past, date(2025, 1, 3)) == pytest.approx(0.2)
