"""Scales and axis ticks for the server-drawn charts: numbers and days to SVG coordinates.

Pure functions of plain values, so the charts' geometry is tested without HTML."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from app.goals.words import month_name


@dataclass(frozen=True, slots=True)
class Linear:
    """Maps [low, high] onto [bottom, top] (SVG y grows downwards, so bottom > top)."""

    low: float
    high: float
    bottom: float
    top: float

    def __call__(self, value: float) -> float:
        span = (self.high - self.low) or 1.0
        return self.bottom + (value - self.low) / span * (self.top - self.bottom)


@dataclass(frozen=True, slots=True)
class DayScale:
    """Maps days onto [left, right]."""

    first: date
    last: date
    left: float
    right: float

    def __call__(self, day: date) -> float:
        span = (self.last - self.first).days or 1
        return self.left + (day - self.first).days / span * (self.right - self.left)

    def contains(self, day: date) -> bool:
        return self.first <= day <= self.last


def midpoint(start: date, end: date) -> date:
    """The middle day of [start, end): where a period's value is drawn."""
    return date.fromordinal(start.toordinal() + max(0, (end - start).days - 1) // 2)


def nice_step(span: float, count: int) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving about `count` ticks over `span`."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(1, count)
    power = 10.0 ** math.floor(math.log10(raw))
    for multiple in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= multiple * power:
            return multiple * power
    return 10 * power


def value_range(
    values: list[float], *, floor: float | None, ceiling: float | None
) -> tuple[float, float]:
    """The y range for `values`, padded a little and kept within the KPI's own limits
    (a percentage axis never runs past 100 or below 0)."""
    if not values:
        low, high = 0.0, 1.0
    else:
        low, high = min(values), max(values)
    pad = (abs(high) * 0.1 or 1.0) if high == low else (high - low) * 0.08
    low, high = low - pad, high + pad
    if floor is not None:
        low = max(low, floor)
    if ceiling is not None:
        high = min(high, ceiling)
    if high <= low:
        high = low + 1.0
    return low, high


def ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round values between `low` and `high` for the y axis' gridlines."""
    step = nice_step(high - low, count)
    first = math.ceil(low / step) * step
    found = []
    value = first
    while value <= high + step * 1e-9:
        found.append(round(value, 10))
        value += step
    return found


def short_number(value: float, unit: str) -> str:
    """An axis label: short enough for a narrow chart (80 %, $1.2M, 3.5 h, 12k)."""
    magnitude = abs(value)
    if magnitude >= 1_000_000:
        text = f"{value / 1_000_000:.3g}M"
    elif magnitude >= 10_000:
        text = f"{value / 1000:.3g}k"
    elif magnitude >= 100 or value == int(value):
        text = f"{value:,.0f}"
    else:
        text = f"{value:.3g}"
    if unit == "percent":
        return f"{text} %"
    if unit in ("currency", "currency_per_hour"):
        return f"${text}"
    if unit == "hours":
        return f"{text} h"
    return text


def day_label(day: date, grain: str, *, with_year: bool) -> str:
    """An x-axis label for the period starting `day`: Jan, Jan 2026, 2026-Q1, 2026."""
    if grain == "year":
        return str(day.year)
    if grain == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    if grain == "month":
        name = month_name(day)[:3]
        return f"{name} {day.year}" if with_year else name
    return day.isoformat() if with_year else f"{day:%m-%d}"


def spread(count: int, most: int) -> list[int]:
    """The indexes of at most `most` evenly spread items out of `count`, the last included."""
    if count <= most:
        return list(range(count))
    step = math.ceil(count / most)
    chosen = list(range(count - 1, -1, -step))
    return sorted(chosen)
