"""The least-squares forecast (GOALS.md §2.5) on points ten days apart, starting 1 January."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.goals.alignment import GoalTerms
from app.goals.forecast import Point, forecast, least_squares
from app.goals.models import GoalKind

DAY0 = date(2025, 1, 1)
DUE = DAY0 + timedelta(days=40)


def points(*values: float) -> list[Point]:
    return [Point(DAY0 + timedelta(days=10 * i), v) for i, v in enumerate(values)]


def goal(kind: GoalKind, **values: float) -> GoalTerms:
    return GoalTerms(kind=kind, start_date=DAY0, due_date=DUE, **values)  # type: ignore[arg-type]


def on(days: int) -> date:
    return DAY0 + timedelta(days=days)


INCREASE_TO_50 = goal(GoalKind.INCREASE, baseline=0, target=50)
INCREASE_TO_60 = goal(GoalKind.INCREASE, baseline=0, target=60)
DECREASE_TO_4 = goal(GoalKind.DECREASE, baseline=12, target=4)
ABOVE_95 = goal(GoalKind.STAY_ABOVE, target=95)
BELOW_4 = goal(GoalKind.STAY_BELOW, target=4)
BAND = goal(GoalKind.BAND, low=70, high=80)

# (case, goal, values on days 0/10/20, projected on day 40 (due), meets target, crossing)
# fmt: off
CASES: list[tuple[str, GoalTerms, list[float], float, bool, date | None]] = [
    # One a day from 10: reaches 50 on the due date, 60 ten days later.
    ("increase-crosses-on-due", INCREASE_TO_50, [10, 20, 30], 50.0, True, on(40)),
    ("increase-crosses-after-due", INCREASE_TO_60, [10, 20, 30], 50.0, False, on(50)),
    ("increase-moving-away-never-crosses", INCREASE_TO_60, [30, 20, 10], -10.0, False, None),
    ("increase-flat-never-crosses", INCREASE_TO_60, [20, 20, 20], 20.0, False, None),
    ("decrease-crosses", DECREASE_TO_4, [12, 10, 8], 4.0, True, on(40)),
    ("decrease-rising-never-crosses", DECREASE_TO_4, [8, 9, 10], 12.0, False, None),
    # Held now, falling 0.2 a day: leaves the threshold on day 25.
    ("stay-above-will-break", ABOVE_95, [100, 98, 96], 92.0, False, on(25)),
    ("stay-above-rising-never-crosses", ABOVE_95, [96, 97, 98], 100.0, True, None),
    ("stay-below-comes-back-under", BELOW_4, [6, 5.5, 5], 4.0, True, on(40)),
    # From above into a 70–80 band: crosses 80 after 33⅓ days, so on day 34.
    ("band-entered-from-above", BAND, [90, 87, 84], 78.0, True, on(34)),
    ("band-entered-from-below", BAND, [60, 63, 66], 72.0, True, on(34)),
    ("band-inside-drifting-out", BAND, [74, 76, 78], 82.0, False, on(30)),
]
# fmt: on


@pytest.mark.parametrize(
    ("terms", "values", "projected", "meets", "crossing"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_forecast(
    terms: GoalTerms, values: list[float], projected: float, meets: bool, crossing: date | None
) -> None:
    result = forecast(terms, points(*values), "month")

    assert result is not None
    assert result.projected_value == pytest.approx(projected)
    assert result.meets_target is meets
    assert result.crossing_date == crossing
    assert result.points == len(values)


@pytest.mark.parametrize("values", [[], [10], [10, 20]])
def test_fewer_than_three_points_give_no_forecast(values: list[float]) -> None:
    assert (
        forecast(goal(GoalKind.INCREASE, baseline=0, target=50), points(*values), "month") is None
    )


def test_the_method_says_how_it_was_made() -> None:
    result = forecast(goal(GoalKind.INCREASE, baseline=0, target=50), points(1, 2, 4), "month")

    assert result is not None
    assert result.method == (
        "Least-squares straight line through the 3 monthly values from 2025-01-01 to "
        "2025-01-21 (each dated on its period's last day), evaluated at the due date "
        "2025-02-10."
    )


def test_least_squares_fits_noisy_points() -> None:
    slope, intercept = least_squares(points(1, 3, 2, 4))

    # x = 0, 10, 20, 30; the fit is y = 1.3 + 0.08 x (mean 2.5 at x = 15).
    assert slope == pytest.approx(0.08)
    assert intercept == pytest.approx(1.3)
