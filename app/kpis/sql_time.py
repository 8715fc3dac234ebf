"""Reporting-zone dates and durations computed by the database, the same on every backend.

The rollups need, for each stored UTC instant, the calendar day it falls on in the
reporting zone. Asking the database for it (rather than parsing every timestamp in
Python) is what makes re-aggregating a year of facts fast. The zone rules come from
Python's own zone database, not the server's, so the database answers exactly what
`local_day` answers in Python: for the UTC span being aggregated, the zone's offsets are
worked out here as a few segments, and the SQL shifts each instant by its segment's offset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import Date, Float, case, cast, extract, func, literal, type_coerce
from sqlalchemy.sql.elements import ColumnElement

_PROBE_STEP = timedelta(minutes=30)  # every zone keeps an offset for at least this long


def local_day(moment: datetime, tz: tzinfo) -> date:
    """The reporting-zone calendar day of an instant."""
    return moment.astimezone(tz).date()


def utc_bounds(first: date, last: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """UTC instants of the start of `first` and the end of `last`, in the reporting zone."""
    start = datetime.combine(first, time.min, tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


@dataclass(frozen=True)
class OffsetSegment:
    """From `starts` (UTC) until the next segment, local time is UTC + `offset`."""

    starts: datetime
    offset: timedelta


def offset_segments(start: datetime, end: datetime, tz: tzinfo) -> list[OffsetSegment]:
    """The zone's UTC offsets over [start, end), as segments in time order.

    Probed every 30 minutes; each change is then narrowed to the exact second, so a
    transition at any minute of the hour (Lord Howe's, say) lands where the zone says.
    """
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    segments = [OffsetSegment(start, _offset_at(start, tz))]
    probe = start
    while probe < end:
        following = min(probe + _PROBE_STEP, end)
        if _offset_at(following, tz) != segments[-1].offset:
            changed_at = _first_second_with_new_offset(probe, following, tz)
            segments.append(OffsetSegment(changed_at, _offset_at(changed_at, tz)))
        probe = following
    return segments


def _offset_at(moment: datetime, tz: tzinfo) -> timedelta:
    offset = moment.astimezone(tz).utcoffset()
    return offset if offset is not None else timedelta(0)


def _first_second_with_new_offset(before: datetime, after: datetime, tz: tzinfo) -> datetime:
    """Bisect (before, after], where the offset changes, down to the whole second."""
    old = _offset_at(before, tz)
    low, high = 0, math.ceil((after - before).total_seconds())
    while high - low > 1:
        middle = (low + high) // 2
        if _offset_at(before + timedelta(seconds=middle), tz) == old:
            low = middle
        else:
            high = middle
    return before + timedelta(seconds=high)


def local_date(column: Any, segments: list[OffsetSegment], dialect: str) -> ColumnElement[Any]:
    """SQL for the reporting-zone calendar date of a UTC timestamp column, valid for
    instants within `segments` (from `offset_segments`)."""
    shifted = [_shifted_date(column, segment.offset, dialect) for segment in segments]
    if len(segments) == 1:
        return shifted[0]
    whens = [
        (column < segment.starts, date_sql)
        for segment, date_sql in zip(segments[1:], shifted[:-1], strict=True)
    ]
    return case(*whens, else_=shifted[-1])


def utc_date(column: Any, dialect: str) -> ColumnElement[Any]:
    """SQL for the UTC calendar date of a UTC timestamp column."""
    return _shifted_date(column, timedelta(0), dialect)


def _shifted_date(column: Any, offset: timedelta, dialect: str) -> ColumnElement[Any]:
    if dialect == "sqlite":
        # SQLite keeps the UTC instant as text; date() reads it and applies the shift.
        seconds = int(offset.total_seconds())
        return type_coerce(func.date(column, f"{seconds:+d} seconds"), Date)
    # PostgreSQL: the instant as UTC wall time, shifted, then its date.
    return cast(func.timezone("UTC", column) + literal(offset), Date)


def hours_between(earlier: Any, later: Any, dialect: str) -> ColumnElement[Any]:
    """SQL for `later - earlier` in hours, as Python's `timedelta.total_seconds() / 3600`
    computes it for timestamps with whole milliseconds."""
    if dialect == "sqlite":
        # julianday() differences carry float noise; whole milliseconds divide exactly.
        milliseconds = func.round((func.julianday(later) - func.julianday(earlier)) * 86_400_000.0)
        return type_coerce(milliseconds / 3_600_000.0, Float)
    return cast(extract("epoch", later - earlier), Float) / 3600.0
