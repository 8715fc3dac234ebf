"""Properties of the forecast over random goals and series (Hypothesis): whatever the values,
the forecast stays within the KPI's domain, its range holds the projection, its probability is
a probability, and it refuses exactly when the rules of app.goals.forecast say so."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.goals.alignment import GoalTerms, meets
from app.goals.forecast import EPSILON, MIN_POINTS, Forecast, NoForecast, Point, forecast
from app.goals.models import GoalKind
from app.kpis.catalogue import Grain
from app.kpis.domain import UNBOUNDED, Domain
from app.kpis.periods import period_containing

SETTINGS = settings(max_examples=200, deadline=None)

# (domain, unit, values inside the domain)
KPIS: dict[str, tuple[Domain, str, st.SearchStrategy[float]]] = {
    "percent": (Domain(0.0, 100.0), "percent", st.floats(0, 100)),
    "count": (
        Domain(0.0, None),
        "count",
        st.one_of(st.just(0.0), st.integers(0, 500).map(float), st.floats(0, 1e6)),
    ),
    "manual 1-10": (Domain(1.0, 10.0), "number", st.floats(1, 10)),
    "manual at most 5": (Domain(None, 5.0), "number", st.floats(-1000, 5)),
    "unbounded": (UNBOUNDED, "number", st.floats(-1e6, 1e6)),
}


@dataclass(frozen=True)
class Scenario:
    terms: GoalTerms
    points: list[Point]
    grain: Grain
    domain: Domain
    unit: str
    level: float


@st.composite
def scenarios(draw: st.DrawFn, grains: tuple[Grain, ...] = (Grain.MONTH,)) -> Scenario:
    domain, unit, values = KPIS[draw(st.sampled_from(sorted(KPIS)))]
    grain = draw(st.sampled_from(grains))
    period = period_containing(draw(st.dates(date(2018, 1, 1), date(2027, 12, 31))), grain)
    start = period.start
    # Some periods have no value (a gap), the others a value dated on the period's last day.
    points: list[Point] = []
    length = draw(st.integers(0, 30))
    some = st.lists(st.one_of(values, values, values, st.none()), min_size=length, max_size=length)
    for value in draw(some):
        if value is not None:
            points.append(Point(period.last_day, value))
        period = period_containing(period.end, grain)
    # Half the due dates fall within the horizon rule (most of these give a forecast).
    near: bool = draw(st.booleans())
    if points and near:
        first, last = points[0].day, points[-1].day
        due = last + timedelta(days=draw(st.integers(0, (last - first).days)))
    else:
        due = start + timedelta(days=draw(st.integers(-60, 2000)))
    kind = draw(st.sampled_from(list(GoalKind)))
    if kind is GoalKind.BAND:
        low, high = sorted((draw(values), draw(values)))
        terms = GoalTerms(kind=kind, start_date=start, due_date=due, low=low, high=high)
    else:
        terms = GoalTerms(
            kind=kind, start_date=start, due_date=due, baseline=draw(values), target=draw(values)
        )
    level = draw(st.sampled_from([0.5, 0.8, 0.8, 0.9, 0.95, 0.99]))
    return Scenario(terms, points, grain, domain, unit, level)


def run(s: Scenario, level: float | None = None) -> Forecast | NoForecast:
    return forecast(
        s.terms, s.points, grain=s.grain, domain=s.domain, unit=s.unit, level=level or s.level
    )


def within_horizon(first: date, last: date, due: date) -> bool:
    return (due - last).days <= (last - first).days


def one_sentence(text: str) -> bool:
    return text.endswith(".") and "\n" not in text and re.search(r"[.;:]\s+[A-Z]", text) is None


def invertible(s: Scenario, level: float | None) -> bool:
    """Whether the target survives the trip to the fitted scale and back (not clipped)."""
    low, high = s.domain.low, s.domain.high
    if level is None or low is None or high is None:
        return True
    share = (level - low) / (high - low)
    return EPSILON <= share <= 1 - EPSILON


@SETTINGS
@given(scenarios(grains=(Grain.MONTH,)))
def test_a_monthly_forecast_is_sane_whatever_the_values(s: Scenario) -> None:
    check(s)


@SETTINGS
@given(scenarios(grains=(Grain.DAY, Grain.WEEK, Grain.QUARTER, Grain.YEAR)))
def test_other_grains_too(s: Scenario) -> None:
    check(s)


def check(s: Scenario) -> None:
    result = run(s)

    if len(s.points) < MIN_POINTS:
        assert isinstance(result, NoForecast) and result.reason == "too_few_periods"
        assert result.available_from is None and one_sentence(result.explanation)
        return
    first, last, due = s.points[0].day, s.points[-1].day, s.terms.due_date
    if due <= last:
        assert isinstance(result, NoForecast) and result.reason == "due_date_passed"
        assert result.available_from is None and one_sentence(result.explanation)
        return
    if not within_horizon(first, last, due):
        assert isinstance(result, NoForecast) and result.reason == "too_early"
        assert one_sentence(result.explanation)
        day = result.available_from
        assert day is not None
        # The day after the period whose value makes the history long enough; points dated
        # on their periods' last days always leave time before the due date.
        point = day - timedelta(days=1)
        assert last < point < due
        assert period_containing(point, s.grain).last_day == point
        # The first period end from which the horizon rule holds: not the one before it.
        assert within_horizon(first, point, due)
        before = period_containing(point, s.grain).start - timedelta(days=1)
        assert not within_horizon(first, before, due)
        assert str(day) in result.explanation
        return

    assert isinstance(result, Forecast)
    numbers = (result.low, result.projected_value, result.high, result.probability)
    assert all(math.isfinite(n) for n in numbers)
    assert result.low <= result.projected_value <= result.high
    assert all(s.domain.contains(n) for n in numbers[:3])
    assert 0.0 <= result.probability <= 1.0
    assert result.meets_target is meets(s.terms, result.projected_value)
    assert (result.points, result.first_day, result.last_day) == (len(s.points), first, last)
    assert result.level == s.level
    assert one_sentence(result.explanation)
    assert f"{len(s.points)} " in result.method and str(first) in result.method

    # The same t distribution gives the range and the chance: a projection that meets a
    # one-sided goal has at least an even chance of it (unless clipping moved the target).
    kind, target = s.terms.kind, s.terms.target
    if kind is not GoalKind.BAND and invertible(s, target) and result.meets_target:
        assert result.probability >= 0.5 - 1e-6
    # A wider level gives a wider range around the same projection and the same chance.
    wider = run(s, level=0.995)
    assert isinstance(wider, Forecast)
    assert wider.low <= result.low and result.high <= wider.high
    assert wider.projected_value == result.projected_value
    assert abs(wider.probability - result.probability) < 1e-12


@SETTINGS
@given(scenarios(), st.integers(0, 2000))
def test_too_early_exactly_when_the_horizon_rule_says(s: Scenario, days: int) -> None:
    if len(s.points) < MIN_POINTS:
        return
    first, last = s.points[0].day, s.points[-1].day
    due = last + timedelta(days=1 + days)
    terms = GoalTerms(
        kind=s.terms.kind,
        start_date=s.terms.start_date,
        due_date=due,
        baseline=s.terms.baseline,
        target=s.terms.target,
        low=s.terms.low,
        high=s.terms.high,
    )

    result = forecast(terms, s.points, grain=s.grain, domain=s.domain, unit=s.unit)

    too_early = isinstance(result, NoForecast) and result.reason == "too_early"
    assert too_early is ((due - last).days > (last - first).days)
    assert isinstance(result, Forecast) is not too_early
