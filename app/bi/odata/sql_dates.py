"""Calendar arithmetic in SQL, for PostgreSQL and SQLite alike.

The KPI value sets need a month's next first day, a day's weekday and a month's number of
each weekday (for technicians' capacity) inside the query, so that filtering and paging
stay in the database.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Date, Integer, case, cast, extract, func, text, type_coerce

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def next_month(day: Any, dialect: str) -> ColumnElement[Any]:
    """The first day of the month after `day`'s (`day` is a month's first day)."""
    if dialect == "postgresql":
        return cast(day + text("interval '1 month'"), Date)
    return type_coerce(func.date(day, "+1 month"), Date)


def month_start(day: Any, dialect: str) -> ColumnElement[Any]:
    """The first day of `day`'s month."""
    if dialect == "postgresql":
        return cast(func.date_trunc("month", day), Date)
    return type_coerce(func.date(day, "start of month"), Date)


def weekday(day: Any, dialect: str) -> ColumnElement[Any]:
    """0 for Monday ... 6 for Sunday, as Python's `date.weekday()`."""
    if dialect == "postgresql":
        return cast(extract("isodow", day), Integer) - 1
    return (cast(func.strftime("%w", day), Integer) + 6) % 7


def days_in_month(day: Any, dialect: str) -> ColumnElement[Any]:
    """How many days `day`'s month (`day` its first day) has."""
    following = next_month(day, dialect)
    if dialect == "postgresql":
        return cast(following - day, Integer)
    return cast(func.julianday(following) - func.julianday(day), Integer)


def weekday_count(day: Any, index: int, monthly: bool, dialect: str) -> ColumnElement[Any]:
    """How many of weekday `index` (0 Monday) the period starting `day` has: a day has one
    or none; a month has four, and one more for each of its first `days - 28` weekdays."""
    first = weekday(day, dialect)
    if not monthly:
        return case((first == index, 1), else_=0)
    extra = days_in_month(day, dialect) - 28
    return 4 + case((((index - first + 7) % 7) < extra, 1), else_=0)


def next_day(day: Any, dialect: str) -> ColumnElement[Any]:
    """The day after `day`."""
    if dialect == "postgresql":
        return cast(day + 1, Date)
    return type_coerce(func.date(day, "+1 day"), Date)
