"""GOALS.md §2 on plain numbers: progress, expected progress, status and roll-ups.

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
    assess,
    expected_progress,
    roll_up,
)
from app.goals.config import GoalSettings
from app.goals.models import GoalKind

START, DUE, MIDDLE = date(2025, 1, 1), date(2025, 1, 11), date(2025, 1, 6)


def terms(kind: GoalKind, **values: float) -> GoalTerms:
    return GoalTerms(kind=kind, start_date=START, due_date=DUE, **values)  # type: ignore[arg-type]


UP = terms(GoalKind.INCREASE, baseline=100, target=200)
DOWN = terms(GoalKind.DECREASE, baseline=10, target=4)  # hours to respond, say
PAST = terms(GoalKind.INCREASE, baseline=100, target=95)
ABOVE = terms(GoalKind.STAY_ABOVE, target=95)
BELOW = terms(GoalKind.STAY_BELOW, target=4)
BAND = terms(GoalKind.BAND, low=70, high=80)

# (case, terms, current, progress_raw, progress, status), all as of MIDDLE (expected 0.5).
CASES: list[tuple[str, GoalTerms, float | None, float | None, float | None, Status]] = [
    ("increase-on-pace", UP, 150, 0.5, 0.5, Status.ON_TRACK),
    ("increase-pace-0.9", UP, 145, 0.45, 0.45, Status.AT_RISK),
    ("increase-pace-0.8-is-at-risk", UP, 140, 0.4, 0.4, Status.AT_RISK),
    ("increase-pace-0.6", UP, 130, 0.3, 0.3, Status.OFF_TRACK),
    ("increase-over-achieved", UP, 250, 1.5, 1.0, Status.ACHIEVED),
    ("increase-target-exactly", UP, 200, 1.0, 1.0, Status.ACHIEVED),
    ("increase-going-backwards", UP, 90, -0.1, 0.0, Status.OFF_TRACK),
    ("increase-no-data", UP, None, None, None, Status.NO_DATA),
    # A computed baseline already past the target: met or not, nothing in between.
    ("increase-baseline-past-target-met", PAST, 96, 1.0, 1.0, Status.ACHIEVED),
    ("increase-baseline-past-target-missed", PAST, 90, 0.0, 0.0, Status.OFF_TRACK),
    ("decrease-on-pace", DOWN, 7, 0.5, 0.5, Status.ON_TRACK),
    ("decrease-behind", DOWN, 8, 1 / 3, 1 / 3, Status.OFF_TRACK),
    ("decrease-over-achieved", DOWN, 3, 7 / 6, 1.0, Status.ACHIEVED),
    ("decrease-worse-than-baseline", DOWN, 12, -1 / 3, 0.0, Status.OFF_TRACK),
    ("stay-above-held", ABOVE, 96, 1.0, 1.0, Status.ACHIEVED),
    ("stay-above-on-the-line", ABOVE, 95, 1.0, 1.0, Status.ACHIEVED),
    ("stay-above-short-5.3pct", ABOVE, 90, 1 - 5 / 95, 1 - 5 / 95, Status.AT_RISK),
    ("stay-above-short-15.8pct", ABOVE, 80, 1 - 15 / 95, 1 - 15 / 95, Status.OFF_TRACK),
    ("stay-below-held", BELOW, 3, 1.0, 1.0, Status.ACHIEVED),
    ("stay-below-over-7.5pct", BELOW, 4.3, 1 - 0.3 / 4, 1 - 0.3 / 4, Status.AT_RISK),
    ("stay-below-over-25pct", BELOW, 5, 0.75, 0.75, Status.OFF_TRACK),
    ("stay-below-far-over", BELOW, 10, -0.5, 0.0, Status.OFF_TRACK),
    ("band-inside", BAND, 75, 1.0, 1.0, Status.ACHIEVED),
    ("band-on-the-low-bound", BAND, 70, 1.0, 1.0, Status.ACHIEVED),
    # Entered from above: far above, just above, inside.
    ("band-from-above-far", BAND, 85, 0.5, 0.5, Status.OFF_TRACK),
    ("band-from-above-close", BAND, 81, 0.9, 0.9, Status.AT_RISK),
    ("band-from-above-in", BAND, 78, 1.0, 1.0, Status.ACHIEVED),
    # Entered from below: far below, just below, inside.
    ("band-from-below-far", BAND, 60, 0.0, 0.0, Status.OFF_TRACK),
    ("band-from-below-close", BAND, 69.5, 0.95, 0.95, Status.AT_RISK),
    ("band-from-below-in", BAND, 72, 1.0, 1.0, Status.ACHIEVED),
    ("band-no-data", BAND, None, None, None, Status.NO_DATA),
]


@pytest.mark.parametrize(
    ("goal", "current", "raw", "progress", "status"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_progress_and_status_as_of_the_middle(
    goal: GoalTerms,
    current: float | None,
    raw: float | None,
    progress: float | None,
    status: Status,
) -> None:
    result = assess(goal, current, MIDDLE)

    assert result.expected_progress == pytest.approx(0.5)
    assert result.progress_raw == (None if raw is None else pytest.approx(raw))
    assert result.progress == (None if progress is None else pytest.approx(progress))
    assert result.status is status


def test_a_threshold_held_so_far_in_a_window_in_progress_is_on_track_not_achieved() -> None:
    result = assess(ABOVE, 96, MIDDLE, window_complete=False)

    assert result.status is Status.ON_TRACK


def test_an_increase_without_baseline_has_no_data_and_says_why() -> None:
    result = assess(terms(GoalKind.INCREASE, target=200), 150, MIDDLE)

    assert result.status is Status.NO_DATA
    assert "baseline" in result.reason


def test_nothing_is_expected_on_the_start_day_so_any_progress_is_on_track() -> None:
    result = assess(UP, 100, START)

    assert (result.expected_progress, result.status) == (0.0, Status.ON_TRACK)


def test_after_the_due_date_everything_is_expected() -> None:
    result = assess(UP, 190, date(2025, 2, 1))

    assert result.expected_progress == 1.0
    assert result.pace == pytest.approx(0.9)
    assert result.status is Status.AT_RISK


def test_thresholds_are_settings() -> None:
    strict = Thresholds(on_track_pace=1.0, at_risk_pace=0.95, at_risk_margin=0.01)

    assert assess(UP, 148, MIDDLE, thresholds=strict).status is Status.AT_RISK
    assert assess(UP, 145, MIDDLE, thresholds=strict).status is Status.OFF_TRACK
    assert assess(BAND, 80.5, MIDDLE, thresholds=strict).status is Status.OFF_TRACK


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


def test_a_milestone_raises_the_bar_for_the_status() -> None:
    # 7 January: the straight line expects 0.6 (pace 1.0 at 160), the milestone path 0.75.
    day = date(2025, 1, 7)

    assert assess(UP, 160, day).status is Status.ON_TRACK
    milestone = assess(WITH_MILESTONE, 160, day)
    assert milestone.pace == pytest.approx(0.6 / 0.75)
    assert milestone.status is Status.AT_RISK


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
