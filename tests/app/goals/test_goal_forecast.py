"""The forecast with its prediction interval (docs/goals.md §2.5), checked by hand.

Each case's comment holds the computation: the sums, the slope, s, the t quantile used. x is
counted in weeks for the weekly cases (the slope per day is the slope per week ÷ 7; the
interval's (x₀ − x̄)²/Sxx does not depend on the unit) and in days for the monthly one.
Student's t closed forms used by hand: df 2, F(t) = ½ + t / (2√(2 + t²)) and
t₀.₉₀ = 0.8/√0.18 = 1.885618; df 4, F(t) = ½ + (3/8)·u·(1 − t²/(12(1 + t²/4))) with
u = t/√(1 + t²/4), and t₀.₉₀ = 1.5332063 (tables; to 7 digits, as its error times se
would show at 1e-6).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from app.goals.alignment import GoalTerms
from app.goals.forecast import FORECAST_LEVEL, MIN_POINTS, Forecast, NoForecast, Point, forecast
from app.goals.models import GoalKind
from app.kpis.catalogue import Grain
from app.kpis.domain import UNBOUNDED, Domain

SUNDAY = date(2025, 1, 5)  # weekly points are dated on their week's last day, a Sunday
PERCENT = Domain(0.0, 100.0)
COUNT = Domain(0.0, None)
MONTH_ENDS = [date(2025, 7, 31), date(2025, 8, 31), date(2025, 9, 30), date(2025, 10, 31)]


def weekly(*values: float) -> list[Point]:
    return [Point(SUNDAY + timedelta(weeks=i), v) for i, v in enumerate(values)]


def monthly(*values: float) -> list[Point]:
    return [Point(day, v) for day, v in zip(MONTH_ENDS, values, strict=False)]


def week(n: int) -> date:
    return SUNDAY + timedelta(weeks=n)


def goal(kind: GoalKind, due: date, **values: float) -> GoalTerms:
    return GoalTerms(kind=kind, start_date=SUNDAY, due_date=due, **values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Case:
    name: str
    terms: GoalTerms
    points: list[Point]
    grain: Grain
    domain: Domain
    unit: str
    projected: float
    low: float
    high: float
    probability: float
    meets: bool


# fmt: off
CASES = [
    # Rising, identity scale. x = 0, 1, 2, 3 weeks, y = 10, 12, 15, 17.
    # x̄ = 1.5, Sxx = 2.25 + 0.25 + 0.25 + 2.25 = 5; ȳ = 54/4 = 13.5,
    # Sxy = (−1.5)(−3.5) + (−0.5)(−1.5) + (0.5)(1.5) + (1.5)(3.5) = 12, slope = 12/5 = 2.4/week.
    # Fitted 9.9, 12.3, 14.7, 17.1; residuals 0.1, −0.3, 0.3, −0.1; RSS = 0.2; s² = 0.2/2 = 0.1.
    # Due at week 6 (21 days after the last point = the 21 days of history: allowed).
    # ŷ = 13.5 + 2.4 × 4.5 = 24.3; se² = 0.1 × (1 + 1/4 + 4.5²/5) = 0.1 × 5.3 = 0.53,
    # se = 0.728011; df 2: ±1.885618 × 0.728011 = ±1.372751 → [22.927249, 25.672751].
    # P(Y ≥ 25) = 1 − F₂((25 − 24.3)/0.728011) = 1 − F₂(0.961524)
    #           = 1 − (½ + 0.961524/(2√2.924528)) = 1 − 0.781127 = 0.218873.
    Case("rising-identity", goal(GoalKind.INCREASE, week(6), baseline=10, target=25),
         weekly(10, 12, 15, 17), Grain.WEEK, UNBOUNDED, "number",
         24.3, 22.927249, 25.672751, 0.218873, False),
    # Rising SLA %, logit scale on 0–100. Days 0, 31, 61, 92 (31 Jul – 31 Oct 2025);
    # z = ln(s/(1−s)) = ln 4, ln 5.25, ln 7.3333, ln 11.5
    #   = 1.386294, 1.658228, 1.992430, 2.442347.
    # x̄ = 46, x − x̄ = −46, −15, 15, 46, Sxx = 2 × (2116 + 225) = 4682; z̄ = 1.869825;
    # Sxz = 46 × (2.442347 − 1.386294) + 15 × (1.992430 − 1.658228) = 53.591454,
    # slope = 0.01144627/day. Residuals 0.043, −0.0399, −0.0491, 0.0460: RSS = 0.0079662,
    # s² = 0.0039831, s = 0.0631117.
    # Due 31 Jan 2026, x₀ = 184 (92 days ahead = the 92 days of history).
    # ẑ = 1.869825 + 0.01144627 × 138 = 3.449411 → 100/(1 + e^−3.449411) = 96.921356 %.
    # se = s × √(1 + 1/4 + 138²/4682) = s × √5.317493 = 0.1455337; ±1.885618 × se = ±0.274422
    # → z 3.174990 and 3.723832 → 95.988217 % and 97.642777 %.
    # P(Y ≥ 95) with g(95) = ln 19 = 2.944439: t = (2.944439 − 3.449411)/0.1455337 = −3.469793,
    # 1 − F₂(−3.469793) = F₂(3.469793) = ½ + 3.469793/(2√14.039464) = 0.963018.
    Case("rising-percent-logit", goal(GoalKind.INCREASE, date(2026, 1, 31), baseline=80, target=95),
         monthly(80, 84, 88, 92), Grain.MONTH, PERCENT, "percent",
         96.921356, 95.988217, 97.642777, 0.963018, True),
    # Noisy, identity scale. x = 0..5 weeks, y = 10, 14, 9, 15, 11, 13.
    # x̄ = 2.5, Sxx = 17.5; ȳ = 72/6 = 12, y − ȳ = −2, 2, −3, 3, −1, 1, Syy = 28;
    # Sxy = 5 − 3 + 1.5 + 1.5 − 1.5 + 2.5 = 6, slope = 6/17.5 = 0.342857/week.
    # RSS = Syy − Sxy²/Sxx = 28 − 36/17.5 = 25.942857; s² = 25.942857/4 = 6.485714.
    # Due at week 10 (35 days ahead = the 35 days of history). ŷ = 12 + 0.342857 × 7.5 = 14.571429.
    # se² = 6.485714 × (1 + 1/6 + 7.5²/17.5) = 6.485714 × 4.380952 = 28.413605, se = 5.330441;
    # df 4: ±1.5332063 × 5.330441 = ±8.172666 → [6.398762, 22.744095].
    # Band 10–20: F₄((20 − ŷ)/se) − F₄((10 − ŷ)/se) = F₄(1.018409) − F₄(−0.857608)
    #            = 0.816965 − 0.219728 = 0.597238.
    Case("noisy-band", goal(GoalKind.BAND, week(10), low=10, high=20),
         weekly(10, 14, 9, 15, 11, 13), Grain.WEEK, UNBOUNDED, "number",
         14.571429, 6.398762, 22.744095, 0.597238, True),
    # The same series and fit; P(Y ≤ 12) = F₄((12 − 14.571429)/5.330441) = F₄(−0.482404)
    # = 0.327365.
    Case("noisy-decrease", goal(GoalKind.DECREASE, week(10), baseline=14, target=12),
         weekly(10, 14, 9, 15, 11, 13), Grain.WEEK, UNBOUNDED, "number",
         14.571429, 6.398762, 22.744095, 0.327365, False),
    # A perfect line: 80, 84, 88, 92 weekly rises 4 a week; at week 6, 80 + 24 = 104. s = 0:
    # no range, and the probability is 1 as 104 ≥ 95.
    Case("perfect-line", goal(GoalKind.STAY_ABOVE, week(6), target=95),
         weekly(80, 84, 88, 92), Grain.WEEK, UNBOUNDED, "number",
         104.0, 104.0, 104.0, 1.0, True),
    # Flat counts on the log scale: log1p(42) three times, slope 0, s = 0 → 42 exactly.
    Case("flat-held", goal(GoalKind.STAY_ABOVE, week(4), target=40),
         weekly(42, 42, 42), Grain.WEEK, COUNT, "count",
         42.0, 42.0, 42.0, 1.0, True),
    Case("flat-short", goal(GoalKind.INCREASE, week(4), baseline=42, target=45),
         weekly(42, 42, 42), Grain.WEEK, COUNT, "count",
         42.0, 42.0, 42.0, 0.0, False),
    # A steady 100 % stays 100 % (the clip would otherwise make it 99.5 %).
    Case("flat-at-the-top", goal(GoalKind.STAY_ABOVE, date(2026, 1, 31), target=99.9),
         monthly(100, 100, 100, 100), Grain.MONTH, PERCENT, "percent",
         100.0, 100.0, 100.0, 1.0, True),
    # A manual KPI of at most 10: 9, 7, 3 weekly, so 10 − value = 1, 3, 7 and log(1 + 10 − value)
    # = ln 2, ln 4, ln 8, a perfect line rising ln 2 a week; at week 4, 5 ln 2 → 10 − value = 31,
    # value = −21: it falls without limit but never rises past 10.
    Case("below-a-maximum", goal(GoalKind.STAY_BELOW, week(4), target=0),
         weekly(9, 7, 3), Grain.WEEK, Domain(None, 10.0), "number",
         -21.0, -21.0, -21.0, 1.0, True),
    # A backlog halving every week, 63, 31, 15: log1p gives 6, 5, 4 × ln 2, a perfect line
    # falling ln 2 a week; at week 4, 2 ln 2 → e^(2 ln 2) − 1 = 3 (never below 0).
    Case("halving-log-scale", goal(GoalKind.DECREASE, week(4), baseline=63, target=5),
         weekly(63, 31, 15), Grain.WEEK, COUNT, "count",
         3.0, 3.0, 3.0, 1.0, True),
]
# fmt: on


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_forecast_matches_the_hand_computation(case: Case) -> None:
    result = forecast(case.terms, case.points, grain=case.grain, domain=case.domain, unit=case.unit)

    assert isinstance(result, Forecast)
    assert result.projected_value == pytest.approx(case.projected, abs=1e-6)
    assert result.low == pytest.approx(case.low, abs=1e-6)
    assert result.high == pytest.approx(case.high, abs=1e-6)
    assert result.probability == pytest.approx(case.probability, abs=1e-6)
    assert result.meets_target is case.meets
    assert result.level == FORECAST_LEVEL
    assert result.points == len(case.points)
    assert (result.first_day, result.last_day) == (case.points[0].day, case.points[-1].day)


def test_the_explanation_is_one_sentence_with_the_range_and_the_chance() -> None:
    result = forecast(
        CASES[1].terms, monthly(80, 84, 88, 92), grain=Grain.MONTH, domain=PERCENT, unit="percent"
    )

    assert isinstance(result, Forecast)
    assert result.explanation == (
        "Heading for 96.9 % by 2026-01-31 (80 % range 96.0 % to 97.6 %): a 96 % chance of "
        "reaching 95.0 %, from the trend of the 4 monthly values since July."
    )
    assert result.method == (
        "Least-squares straight line through the 4 monthly values from 2025-07-31 to "
        "2025-10-31, fitted on the log-odds of its share of the 0 to 100 range, so that it "
        "stays within that range, and extended to the due date 2026-01-31. The 80 % range is "
        "a Student-t prediction interval with 2 degrees of freedom around it."
    )


def test_a_line_without_noise_says_there_is_no_range() -> None:
    result = forecast(
        CASES[-1].terms, weekly(63, 31, 15), grain=Grain.WEEK, domain=COUNT, unit="count"
    )

    assert isinstance(result, Forecast)
    assert result.explanation == (
        "Heading for 3 by 2025-02-02, which meets the goal of getting down to 5: the 3 weekly "
        "values since 2025-01-05 lie on a straight line, so there is no range around it."
    )
    assert "log(1 + value), so it never goes below 0" in result.method


def test_a_wider_level_gives_a_wider_range() -> None:
    case = CASES[2]
    narrow = forecast(
        case.terms, case.points, grain=case.grain, domain=case.domain, unit=case.unit, level=0.5
    )
    wide = forecast(
        case.terms, case.points, grain=case.grain, domain=case.domain, unit=case.unit, level=0.95
    )

    assert isinstance(narrow, Forecast) and isinstance(wide, Forecast)
    # df 4: t₀.₇₅ = 0.740697 and t₀.₉₇₅ = 2.776445, times se = 5.330441.
    assert narrow.high - narrow.projected_value == pytest.approx(0.740697 * 5.330441, abs=1e-5)
    assert wide.high - wide.projected_value == pytest.approx(2.776445 * 5.330441, abs=1e-5)
    assert "(95 % range" in wide.explanation


@pytest.mark.parametrize("count", range(MIN_POINTS))
def test_too_few_periods(count: int) -> None:
    result = forecast(
        goal(GoalKind.INCREASE, date(2026, 1, 31), baseline=0, target=95),
        monthly(80, 84, 88)[:count],
        grain=Grain.MONTH,
        domain=PERCENT,
        unit="percent",
    )

    there = "there is 1" if count == 1 else f"there are {count}"
    assert result == NoForecast(
        "too_few_periods",
        None,
        f"A forecast needs at least 3 complete months with a value; {there}.",
    )


@pytest.mark.parametrize("due", [date(2025, 10, 31), date(2025, 9, 15)])
def test_due_date_passed(due: date) -> None:
    result = forecast(
        goal(GoalKind.STAY_ABOVE, due, target=90),
        monthly(80, 84, 88, 92),
        grain=Grain.MONTH,
        domain=PERCENT,
        unit="percent",
    )

    assert isinstance(result, NoForecast)
    assert (result.reason, result.available_from) == ("due_date_passed", None)
    assert result.explanation == (
        f"No forecast: the due date {due} is not after the last complete month (2025-10-31), "
        "so the result is measured rather than forecast."
    )


def test_too_early_says_from_when_a_forecast_will_be_given() -> None:
    # History 31 Jul – 31 Oct 2025 spans 92 days; the due date 30 Jun 2026 is 242 days after the
    # last point: too early. due − first = 153 + 181 = 334 days, x = 31 Jul + ⌈334/2⌉ = 167 days
    # = 14 Jan 2026, in January: from 1 Feb 2026, once January is complete (184 days of
    # history, 150 ahead). On 31 Dec 2025 it would still be 153 behind and 181 ahead.
    terms = goal(GoalKind.INCREASE, date(2026, 6, 30), baseline=80, target=95)

    result = forecast(
        terms, monthly(80, 84, 88, 92), grain=Grain.MONTH, domain=PERCENT, unit="percent"
    )

    assert result == NoForecast(
        "too_early",
        date(2026, 2, 1),
        "Too early to forecast: a trend over 3 months cannot say where this will be 8 months "
        "later; a forecast will be given from 2026-02-01.",
    )
    extra = [Point(date(2025, 11, 30), 93), Point(date(2025, 12, 31), 94)]
    until_december = forecast(
        terms, monthly(80, 84, 88, 92) + extra, grain=Grain.MONTH, domain=PERCENT, unit="percent"
    )
    assert isinstance(until_december, NoForecast)
    assert until_december.available_from == date(2026, 2, 1)
    january = [*extra, Point(date(2026, 1, 31), 94)]
    with_january = forecast(
        terms, monthly(80, 84, 88, 92) + january, grain=Grain.MONTH, domain=PERCENT, unit="percent"
    )
    assert isinstance(with_january, Forecast)


def test_the_horizon_may_equal_the_history_but_not_exceed_it() -> None:
    # Weekly points on days 0, 7, 14, 21: a due date 21 days after the last is allowed, 22 is
    # not. x = ⌈43/2⌉ = day 22, a Monday; its week ends on day 28, complete on day 29.
    points = weekly(10, 12, 15, 17)
    allowed = goal(GoalKind.INCREASE, SUNDAY + timedelta(days=42), baseline=10, target=25)
    too_far = goal(GoalKind.INCREASE, SUNDAY + timedelta(days=43), baseline=10, target=25)

    assert isinstance(
        forecast(allowed, points, grain=Grain.WEEK, domain=UNBOUNDED, unit=""), Forecast
    )
    result = forecast(too_far, points, grain=Grain.WEEK, domain=UNBOUNDED, unit="")
    assert isinstance(result, NoForecast)
    assert (result.reason, result.available_from) == ("too_early", SUNDAY + timedelta(days=29))
    assert result.explanation == (
        "Too early to forecast: a trend over 3 weeks cannot say where this will be 4 weeks "
        "later; a forecast will be given from 2025-02-03."
    )


def test_points_may_come_in_any_order() -> None:
    case = CASES[2]
    shuffled = forecast(
        case.terms,
        list(reversed(case.points)),
        grain=case.grain,
        domain=case.domain,
        unit=case.unit,
    )
    ordered = forecast(
        case.terms, case.points, grain=case.grain, domain=case.domain, unit=case.unit
    )

    assert shuffled == ordered


def test_the_level_must_be_a_probability() -> None:
    with pytest.raises(ValueError, match="level"):
        forecast(
            CASES[0].terms, CASES[0].points, grain=Grain.WEEK, domain=UNBOUNDED, unit="", level=1.0
        )
