"""Calendar periods in the reporting time zone: half-open `[start, end)` ranges of dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from app.errors import InvalidInput
from app.kpis.catalogue import Grain


@dataclass(frozen=True, slots=True, order=True)
class Period:
    start: date
    end: date  # exclusive

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def days(self) -> int:
        return (self.end - self.start).days


def last_complete_period(day: date, grain: Grain) -> Period:
    """The last period complete on `day`: the one containing `day` when `day` is its last
    day, else the one before (mid-November reads October; 30 November reads November)."""
    period = period_containing(day, grain)
    if period.last_day == day:
        return period
    return period_containing(period.start - timedelta(days=1), grain)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_containing(day: date, grain: Grain) -> Period:
    if grain is Grain.DAY:
        return Period(day, day + timedelta(days=1))
    if grain is Grain.WEEK:
        start = day - timedelta(days=day.weekday())
        return Period(start, start + timedelta(days=7))
    if grain is Grain.MONTH:
        start = day.replace(day=1)
        return Period(start, _add_months(start, 1))
    if grain is Grain.QUARTER:
        start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        return Period(start, _add_months(start, 3))
    start = date(day.year, 1, 1)
    return Period(start, date(day.year + 1, 1, 1))


MAX_PERIODS = 1000


def periods_between(start: date, end: date, grain: Grain) -> list[Period]:
    """The periods of `grain` that overlap `[start, end)`, whole (aligned to the grain)."""
    if end <= start:
        raise InvalidInput(
            f"'to' ({end}) must be after 'from' ({start}).", code="invalid_date_range"
        )
    periods = []
    current = period_containing(start, grain)
    while current.start < end:
        periods.append(current)
        if len(periods) > MAX_PERIODS:
            raise InvalidInput(
                f"That is more than {MAX_PERIODS} {grain.value}s; ask for a shorter range or a "
                "coarser grain.",
                code="too_many_periods",
            )
        current = period_containing(current.end, grain)
    return periods


_PATTERNS: tuple[tuple[re.Pattern[str], Grain], ...] = (
    (re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"), Grain.DAY),
    (re.compile(r"^(\d{4})-W(\d{2})$"), Grain.WEEK),
    (re.compile(r"^(\d{4})-(\d{2})$"), Grain.MONTH),
    (re.compile(r"^(\d{4})-Q([1-4])$"), Grain.QUARTER),
    (re.compile(r"^(\d{4})$"), Grain.YEAR),
)


def parse_period(text: str) -> tuple[Period, Grain]:
    """`2025-11-03`, `2025-W45`, `2025-11`, `2025-Q4` or `2025`."""
    for pattern, grain in _PATTERNS:
        match = pattern.match(text.strip())
        if not match:
            continue
        parts = [int(p) for p in match.groups()]
        try:
            if grain is Grain.DAY:
                anchor = date(parts[0], parts[1], parts[2])
            elif grain is Grain.WEEK:
                anchor = date.fromisocalendar(parts[0], parts[1], 1)
            elif grain is Grain.MONTH:
                anchor = date(parts[0], parts[1], 1)
            elif grain is Grain.QUARTER:
                anchor = date(parts[0], 3 * (parts[1] - 1) + 1, 1)
            else:
                anchor = date(parts[0], 1, 1)
        except ValueError:
            break
        return period_containing(anchor, grain), grain
    raise InvalidInput(
        f"{text!r} is not a period. Use a day (2025-11-03), an ISO week (2025-W45), a month "
        "(2025-11), a quarter (2025-Q4) or a year (2025).",
        code="invalid_period",
    )


def previous_quarter(day: date) -> str:
    """The quarter before the one containing `day`, as `2025-Q4`."""
    quarter = (day.month - 1) // 3  # the current quarter's 0-based index
    return f"{day.year}-Q{quarter}" if quarter else f"{day.year - 1}-Q4"
