"""Where the trend leads (GOALS.md §2.5): a least-squares line through the KPI's values per
evaluation period since the goal's start, evaluated at the due date."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from app.goals.alignment import GoalTerms, meets
from app.goals.models import GoalKind

MIN_POINTS = 3
ADJECTIVES = {"day": "daily", "week": "weekly", "month": "monthly", "quarter": "quarterly"}


@dataclass(frozen=True, slots=True)
class Point:
    """A period's value, dated on the period's last day (when it became known)."""

    day: date
    value: float


@dataclass(frozen=True, slots=True)
class Forecast:
    method: str
    points: int
    slope_per_day: float
    projected_value: float
    meets_target: bool
    crossing_date: date | None


def least_squares(points: Sequence[Point]) -> tuple[float, float]:
    """(slope per day, value at the first point's day) of the best straight line."""
    origin = points[0].day.toordinal()
    xs = [p.day.toordinal() - origin for p in points]
    ys = [p.value for p in points]
    n = len(points)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        return 0.0, mean_y
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
    return slope, mean_y - slope * mean_x


def _day_at(origin: date, offset: float) -> date | None:
    ordinal = origin.toordinal() + offset
    if not date.min.toordinal() <= ordinal < date.max.toordinal():
        return None
    # The first whole day on which the line has reached the level.
    return date.fromordinal(math.ceil(ordinal - 1e-9))


def crossing_date(
    terms: GoalTerms, points: Sequence[Point], slope: float, intercept: float
) -> date | None:
    """When the line meets the goal's level.

    Increase/decrease: the day it reaches the target, if it moves toward it, counted from the
    first point (so a target already passed by the trend gives that past day). Threshold and
    band: the next day after the last point on which it crosses the threshold or a bound
    (leaving it, or coming back into it). None when the line never does."""
    if slope == 0:
        return None
    origin = points[0].day
    if terms.kind.moves:
        assert terms.target is not None
        if (slope > 0) != (terms.kind is GoalKind.INCREASE):
            return None
        offset = (terms.target - intercept) / slope
        return _day_at(origin, offset) if offset >= 0 else None
    if terms.kind is GoalKind.BAND:
        assert terms.low is not None and terms.high is not None
        levels = [terms.low, terms.high]
    else:
        assert terms.target is not None
        levels = [terms.target]
    last = (points[-1].day - origin).days
    ahead = [o for o in ((level - intercept) / slope for level in levels) if o > last]
    return _day_at(origin, min(ahead)) if ahead else None


def forecast(terms: GoalTerms, points: Sequence[Point], grain: str) -> Forecast | None:
    """The line through `points` (oldest first) at the due date, or None with fewer than
    three points: two points always make a line, and it says nothing about a trend."""
    if len(points) < MIN_POINTS:
        return None
    slope, intercept = least_squares(points)
    projected = intercept + slope * (terms.due_date - points[0].day).days
    method = (
        f"Least-squares straight line through the {len(points)} "
        f"{ADJECTIVES.get(grain, grain + 'ly')} values from "
        f"{points[0].day} to {points[-1].day} (each dated on its period's last day), "
        f"evaluated at the due date {terms.due_date}."
    )
    return Forecast(
        method=method,
        points=len(points),
        slope_per_day=slope,
        projected_value=projected,
        meets_target=meets(terms, projected),
        crossing_date=crossing_date(terms, points, slope, intercept),
    )
