"""The sandbox's business calendar and its integer clock.

The world's PSAs compute SLA elapsed minutes on one calendar: Monday to Friday,
08:00 to 17:00 UTC, no holidays. Simulators that need a calendar (ConnectWise `MyCalendar`,
Autotask business hours) must declare exactly this one.

Generators work on integer seconds since the Unix epoch ("ts") because ints are far cheaper
than datetimes to draw, compare and sort; records get datetimes only when they are built.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

OPEN_HOUR = 8
CLOSE_HOUR = 17
BUSINESS_DAYS = 5  # Monday..Friday

DAY = 86_400
_OPEN = OPEN_HOUR * 3600
_BUSINESS_DAY = (CLOSE_HOUR - OPEN_HOUR) * 3600
_BUSINESS_WEEK = BUSINESS_DAYS * _BUSINESS_DAY
_MONDAY = 4 * DAY  # 1970-01-05 was a Monday: the origin of the business clock
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def to_ts(moment: datetime) -> int:
    """Whole seconds since the epoch of a timezone-aware datetime."""
    return (moment - EPOCH) // timedelta(seconds=1)


def from_ts(ts: int) -> datetime:
    """The UTC datetime `ts` seconds after the epoch."""
    return datetime.fromtimestamp(ts, UTC)  # twice as fast as EPOCH + timedelta


def day_ts(day: date) -> int:
    """The ts of 00:00 UTC on `day`."""
    return (day.toordinal() - _EPOCH_ORDINAL) * DAY


def ts_day(ts: int) -> date:
    """The UTC calendar date of `ts`."""
    return date.fromordinal(ts // DAY + _EPOCH_ORDINAL)


def weekday_of(ts: int) -> int:
    """Monday = 0 .. Sunday = 6 (1970-01-01 was a Thursday)."""
    return (ts // DAY + 3) % 7


def business_seconds(ts: int) -> int:
    """Business seconds elapsed from the clock's origin to `ts` (monotone, flat off hours)."""
    days, second = divmod(ts - _MONDAY, DAY)
    weeks, weekday = divmod(days, 7)
    total = weeks * _BUSINESS_WEEK + min(weekday, BUSINESS_DAYS) * _BUSINESS_DAY
    if weekday < BUSINESS_DAYS:
        total += min(max(second - _OPEN, 0), _BUSINESS_DAY)
    return total


def from_business_seconds(total: int) -> int:
    """The earliest ts at which `business_seconds` reaches `total` (an opening time on a
    boundary, so adding business time to an off-hours moment starts at the next opening)."""
    weeks, rest = divmod(total, _BUSINESS_WEEK)
    weekday, second = divmod(rest, _BUSINESS_DAY)
    return _MONDAY + (weeks * 7 + weekday) * DAY + _OPEN + second


def add_business_minutes(ts: int, minutes: int) -> int:
    """`ts` moved forward by `minutes` business minutes (`minutes` ≥ 1)."""
    return from_business_seconds(business_seconds(ts) + minutes * 60)


def business_minutes_between(start_ts: int, end_ts: int) -> int:
    """Whole business minutes from `start_ts` to `end_ts` (0 when end is not later)."""
    return max(business_seconds(end_ts) - business_seconds(start_ts), 0) // 60
