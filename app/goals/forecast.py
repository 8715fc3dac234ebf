"""Where the trend leads, and how sure that is (docs/goals.md §2.5). How it is made:

A forecast uses the KPI's values per complete evaluation period since the goal's start, each
dated on its period's last day.

1. **Enough history.** With fewer than 3 values there is no forecast: two points always make
   a line and say nothing about a trend.
2. **Not after the fact.** When the due date is not after the last value's day, the result is
   measured, not forecast.
3. **Never further ahead than behind.** The line is not extended further past the last value
   than the history it was fitted on spans: the due date may be at most as many days after the
   last value as the last value is after the first. Until then the forecast says it is too
   early, and from which day a forecast will be given: the day after the period containing
   the first day x with x − first day ≥ due date − x (the day that period is complete).
4. **A scale the KPI cannot leave.** The straight line is fitted on a scale chosen from the
   values the KPI can take (its domain), so that the forecast, mapped back, stays within it:
   - a KPI between a and b (a percentage, 0–100; a manual KPI's declared scale): the log-odds
     of its share of the range, log(s / (1 − s)) with s = (value − a) / (b − a), s kept
     within [0.005, 0.995] so that 0 % and 100 % stay finite;
   - a KPI that is never below a (counts, hours, money, ≥ 0): log(1 + value − a);
     never above b (a manual scale with a maximum only): log(1 + b − value);
   - any number: the values themselves.
5. **The line.** An ordinary least-squares straight line through the values on that scale
   against the day, extended to the due date, and mapped back: the projected value.
6. **The range.** A prediction interval at 80 % (10 % and 90 % quantiles): Student's t with
   n − 2 degrees of freedom (n values) around the line at the due date, with the standard
   error of a new value s·√(1 + 1/n + (x₀ − x̄)² / Σ(x − x̄)²), where s² is the sum of squared
   residuals ÷ (n − 2), x the values' days, x̄ their mean and x₀ the due date. It is
   computed on the fitted scale and mapped back; the mapping is monotone, so the bounds are
   still the 10 % and 90 % quantiles. When the values lie exactly on a line (s = 0, a flat
   series included) the range shrinks to the projected value.
7. **The chance.** The probability, from the same t distribution, that the goal's condition
   holds on the due date: at or above the target (increase, stay above), at or below it
   (decrease, stay below), within the band (band); the target and the band's bounds are put
   on the fitted scale first (clipped like the values). A condition the domain itself
   guarantees is certain: a count is always at least 0. With s = 0 it is 100 % or 0 %, as
   the projected value meets the goal or not.
8. **A flat series** (every value the same) forecasts that value, with no range: on a bounded
   scale the clipping of 4 would otherwise turn a steady 100 % into 99.5 %.

Values and bounds are rounded to 12 significant digits (a line reaching a target on paper is
not short of it by a float's error) and kept within the domain; `meets_target` is that of the
rounded projection."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from app.goals import words
from app.goals.alignment import GoalTerms, meets
from app.goals.models import GoalKind
from app.goals.student_t import t_cdf, t_ppf
from app.kpis.catalogue import Grain
from app.kpis.domain import Domain
from app.kpis.periods import period_containing

FORECAST_LEVEL = 0.8
MIN_POINTS = 3
# The share of a bounded range is kept this far from its ends, so 0 % and 100 % stay finite.
EPSILON = 0.005
# exp() of more than this overflows a float; a line this steep on a log scale is capped.
_MAX_EXPONENT = 700.0
# A residual spread this small next to the values is rounding: they lie on a line (s = 0).
_NOISE_FLOOR = 1e-10


@dataclass(frozen=True, slots=True)
class Point:
    """A period's value, dated on the period's last day (when it became known)."""

    day: date
    value: float


@dataclass(frozen=True, slots=True)
class Forecast:
    """A projection at the due date with its prediction interval [low, high] at `level`."""

    method: str  # how it was made: the scale, how many values, from and to
    level: float
    points: int
    first_day: date
    last_day: date
    projected_value: float  # within the domain, low <= projected_value <= high
    low: float
    high: float
    probability: float  # that the goal's condition holds on the due date
    meets_target: bool  # whether projected_value satisfies the goal
    explanation: str  # one sentence for the owner


@dataclass(frozen=True, slots=True)
class NoForecast:
    """Why there is no forecast: "too_few_periods", "too_early" or "due_date_passed" here;
    the evaluation adds "not_started", "no_baseline" and "kpi_missing"."""

    reason: str
    available_from: date | None  # too_early: the day from which a forecast will be given
    explanation: str


@dataclass(frozen=True, slots=True)
class Scale:
    """The scale a line is fitted on, from the KPI's domain (see the module docstring, 4)."""

    kind: str  # "logit", "log_above", "log_below" or "identity"
    domain: Domain
    low: float = 0.0
    high: float = 0.0

    @classmethod
    def of(cls, domain: Domain) -> Scale:
        low, high = domain.low, domain.high
        # A range of zero width leaves nothing to fit (every value is that one number).
        if low is not None and high is not None and high > low:
            return cls("logit", domain, low, high)
        if low is not None:
            return cls("log_above" if high is None else "identity", domain, low=low)
        if high is not None:
            return cls("log_below", domain, high=high)
        return cls("identity", domain)

    def to_line(self, value: float) -> float:
        # Values outside the domain (which the API refuses) are taken at its edge.
        if self.kind == "logit":
            share = (value - self.low) / (self.high - self.low)
            share = min(1.0 - EPSILON, max(EPSILON, share))
            return math.log(share / (1.0 - share))
        if self.kind == "log_above":
            return math.log1p(max(0.0, value - self.low))
        if self.kind == "log_below":
            return math.log1p(max(0.0, self.high - value))
        return value

    def from_line(self, z: float) -> float:
        if self.kind == "logit":
            if z >= 0:
                share = 1.0 / (1.0 + math.exp(-min(z, _MAX_EXPONENT)))
            else:
                share = math.exp(max(z, -_MAX_EXPONENT))
                share = share / (1.0 + share)
            value = self.low + share * (self.high - self.low)
        elif self.kind == "log_above":
            value = self.low + math.expm1(min(z, _MAX_EXPONENT))
        elif self.kind == "log_below":
            value = self.high - math.expm1(min(z, _MAX_EXPONENT))
        else:
            value = z
        # Rounded so a line that reaches a target on paper is not 49.999999999 in binary, then
        # kept inside the domain against float error; both steps preserve order.
        return self.domain.clamp(float(f"{value:.12g}"))

    def words(self) -> str:
        """How the line is fitted, for the method's text."""
        if self.kind == "logit":
            return (
                f"on the log-odds of its share of the {self.domain.words()} range, so that it "
                "stays within that range"
            )
        if self.kind == "log_above":
            above = f" − {self.low:g}" if self.low else ""
            return f"on a log scale, log(1 + value{above}), so it never goes below {self.low:g}"
        if self.kind == "log_below":
            below = f"log(1 + {self.high:g} − value)"
            return f"on a log scale, {below}, so it never goes above {self.high:g}"
        return "on the values themselves"


@dataclass(frozen=True, slots=True)
class Line:
    """A least-squares line on the fitted scale, with what the prediction interval needs."""

    n: int
    mean_x: float
    mean_z: float
    slope: float
    sxx: float
    s: float  # residual standard deviation, 0 when the points lie on the line

    def standard_error(self, x: float) -> float:
        """Of a new value at x (a prediction, not the line's mean)."""
        return self.s * math.sqrt(1.0 + 1.0 / self.n + (x - self.mean_x) ** 2 / self.sxx)


def fit(xs: Sequence[float], zs: Sequence[float]) -> Line:
    """The ordinary least-squares line of zs against xs (at least 3 distinct xs)."""
    n = len(xs)
    mean_x, mean_z = math.fsum(xs) / n, math.fsum(zs) / n
    sxx = math.fsum((x - mean_x) ** 2 for x in xs)
    sxz = math.fsum((x - mean_x) * (z - mean_z) for x, z in zip(xs, zs, strict=True))
    slope = sxz / sxx
    rss = math.fsum((z - mean_z - slope * (x - mean_x)) ** 2 for x, z in zip(xs, zs, strict=True))
    s = math.sqrt(rss / (n - 2))
    if s <= _NOISE_FLOOR * max(1.0, max(abs(z) for z in zs)):
        s = 0.0
    return Line(n, mean_x, mean_z, slope, sxx, s)


def _index(day: date, grain: Grain) -> int:
    """A number per period of `grain`, consecutive periods consecutive numbers."""
    if grain is Grain.DAY:
        return day.toordinal()
    if grain is Grain.WEEK:
        return (day.toordinal() - day.weekday()) // 7
    if grain is Grain.MONTH:
        return day.year * 12 + day.month - 1
    if grain is Grain.QUARTER:
        return day.year * 4 + (day.month - 1) // 3
    return day.year


def _count(number: int, grain: Grain) -> str:
    return f"{number} {grain.value}" + ("" if number == 1 else "s")


def available_from(first: date, due: date, grain: Grain) -> date:
    """The day after the period containing the first day x with x − first ≥ due − x: the
    day that period is complete (and synced, for a PSA KPI) and can be a point."""
    x = first + timedelta(days=math.ceil((due - first).days / 2))
    return period_containing(x, grain).end


def _since(first: date, last: date, grain: Grain) -> str:
    if grain is not Grain.MONTH:
        return str(first)
    month = words.month_name(first)
    return month if first.year == last.year else f"{month} {first.year}"


def _goal_words(terms: GoalTerms, unit: str) -> str:
    kind = terms.kind
    if kind is GoalKind.BAND:
        return f"being within {words.amount(terms.low, unit)} to {words.amount(terms.high, unit)}"
    target = words.amount(terms.target, unit)
    if kind is GoalKind.INCREASE:
        return f"reaching {target}"
    if kind is GoalKind.DECREASE:
        return f"getting down to {target}"
    if kind is GoalKind.STAY_ABOVE:
        return f"being at or above {target}"
    return f"being at or below {target}"


def _chance(probability: float) -> str:
    """As "a 35 % chance"; never "0 %" or "100 %" for what is merely unlikely or likely."""
    if 0.0 < probability < 0.01:
        return "a less than 1 % chance"
    if 0.99 < probability < 1.0:
        return "a more than 99 % chance"
    percent = round(probability * 100)
    article = "an" if str(percent).startswith("8") or percent in (11, 18) else "a"
    return f"{article} {percent} % chance"


def _probability(terms: GoalTerms, scale: Scale, centre: float, se: float, df: float) -> float:
    """P(the goal's condition holds) when the value on the fitted scale is centre + se·T.

    The value is kept within the domain, so it is certainly at least the domain's low end and
    at most its high end (a target of 0 for a count is always reached)."""
    low, high = scale.domain.low, scale.domain.high

    # log(1 + b − value) falls as the value rises: "at most" on the value is "at least" on it.
    sign = -1.0 if scale.kind == "log_below" else 1.0

    def at_most(level: float | None) -> float:
        assert level is not None
        if high is not None and level >= high:
            return 1.0
        return t_cdf(sign * (scale.to_line(level) - centre) / se, df)

    def at_least(level: float | None) -> float:
        assert level is not None
        if low is not None and level <= low:
            return 1.0
        return t_cdf(sign * (centre - scale.to_line(level)) / se, df)

    kind = terms.kind
    if kind is GoalKind.BAND:
        probability = at_most(terms.high) + at_least(terms.low) - 1.0
    elif kind in (GoalKind.INCREASE, GoalKind.STAY_ABOVE):
        probability = at_least(terms.target)
    else:
        probability = at_most(terms.target)
    return min(1.0, max(0.0, probability))


def forecast(
    terms: GoalTerms,
    points: Sequence[Point],
    *,
    grain: Grain,
    domain: Domain,
    unit: str,
    level: float = FORECAST_LEVEL,
) -> Forecast | NoForecast:
    """The forecast of the goal at its due date from `points` (one per complete period of
    `grain`, in any order), or why there is none; see the module docstring for the method."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"the level must be between 0 and 1, not {level!r}")
    grain = Grain(grain)
    ordered = sorted(points, key=lambda p: p.day)
    n = len(ordered)
    if n < MIN_POINTS:
        there = "there is 1" if n == 1 else f"there are {n}"
        return NoForecast(
            "too_few_periods",
            None,
            f"A forecast needs at least {MIN_POINTS} complete {grain.value}s with a value; "
            f"{there}.",
        )
    first, last, due = ordered[0].day, ordered[-1].day, terms.due_date
    if due <= last:
        return NoForecast(
            "due_date_passed",
            None,
            f"No forecast: the due date {due} is not after the last complete {grain.value} "
            f"({last}), so the result is measured rather than forecast.",
        )
    if (due - last).days > (last - first).days:
        # Both as spans, so the sentence compares like with like: the rule is on days.
        history = _count(_index(last, grain) - _index(first, grain), grain)
        ahead = _count(max(1, _index(due, grain) - _index(last, grain)), grain)
        # Only points off their periods' last days can put that day on or after the due date.
        start = day if (day := available_from(first, due, grain)) <= due else None
        when = f"a forecast will be given from {start}" if start else "none can be given in time"
        return NoForecast(
            "too_early",
            start,
            f"Too early to forecast: a trend over {history} cannot say where this will be "
            f"{ahead} later; {when}.",
        )
    return _project(terms, ordered, grain, domain, unit, level)


def _project(
    terms: GoalTerms, points: Sequence[Point], grain: Grain, domain: Domain, unit: str, level: float
) -> Forecast:
    scale = Scale.of(domain)
    origin = points[0].day.toordinal()
    xs = [float(p.day.toordinal() - origin) for p in points]
    line = fit(xs, [scale.to_line(p.value) for p in points])
    x_due = float(terms.due_date.toordinal() - origin)
    centre = line.mean_z + line.slope * (x_due - line.mean_x)
    flat = all(p.value == points[0].value for p in points)
    # A flat series forecasts its own value: clipping would otherwise turn a steady 100 % into
    # 99.5 % (and a steady 0 % into 0.5 %).
    projected = domain.clamp(points[0].value) if flat else scale.from_line(centre)
    df = float(line.n - 2)
    se = 0.0 if flat else line.standard_error(x_due)
    if se > 0.0:
        half_width = t_ppf(0.5 + level / 2.0, df) * se
        # The mapping back preserves order (or reverses it, below a maximum); min/max also
        # guard against float ties.
        ends = (scale.from_line(centre - half_width), scale.from_line(centre + half_width))
        low, high = min(projected, *ends), max(projected, *ends)
        probability = _probability(terms, scale, centre, se, df)
    else:
        low = high = projected
        probability = 1.0 if meets(terms, projected) else 0.0
    meets_target = meets(terms, projected)
    first, last = points[0].day, points[-1].day
    level_words = f"{words.plain(round(level * 100, 1))} %"
    values = f"{line.n} {'daily' if grain is Grain.DAY else grain.value + 'ly'} values"
    method = (
        f"Least-squares straight line through the {values} from {first} to {last}, fitted "
        f"{scale.words()}, and extended to the due date {terms.due_date}. "
        f"The {level_words} range is a Student-t prediction interval with "
        f"{line.n - 2} degree{'' if line.n == 3 else 's'} of freedom around it."
    )
    heading = f"Heading for {words.amount(projected, unit)} by {terms.due_date}"
    goal = _goal_words(terms, unit)
    since = _since(first, last, grain)
    if se > 0.0:
        explanation = (
            f"{heading} ({level_words} range {words.amount(low, unit)} to "
            f"{words.amount(high, unit)}): {_chance(probability)} of {goal}, from the trend "
            f"of the {values} since {since}."
        )
    else:
        verdict = "which meets" if meets_target else "which misses"
        explanation = (
            f"{heading}, {verdict} the goal of {goal}: the {values} since {since} lie on a "
            "straight line, so there is no range around it."
        )
    return Forecast(
        method=method,
        level=level,
        points=line.n,
        first_day=first,
        last_day=last,
        projected_value=projected,
        low=low,
        high=high,
        probability=probability,
        meets_target=meets_target,
        explanation=explanation,
    )
