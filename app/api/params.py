"""Path and query parameter types shared by the routers, bounded as `app.inputs` says.

An id past what the database stores, or a day outside Northstar's dates, is a 422 that names
the parameter and the range before any query runs (a database cannot even look such an id
up).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Path, Query

from app.errors import InvalidInput
from app.inputs import DATE_WINDOW_WORDS, EARLIEST_DATE, ID_MAX, LATEST_DATE, DayInWindow

ID_WORDS = f"A whole number from 1 to {ID_MAX}."

IdPath = Annotated[int, Path(ge=1, le=ID_MAX, description=ID_WORDS)]
"""The id of the row a URL addresses."""

DayParam = DayInWindow | None
"""An optional day parameter; annotate it with `day_query`."""


def id_query(description: str) -> Any:
    """The `Query` of an optional id filter, bounded like every id."""
    return Query(ge=1, le=ID_MAX, description=f"{description} {ID_WORDS}")


def day_query(description: str, *, alias: str | None = None) -> Any:
    """The `Query` of an optional day: YYYY-MM-DD, within Northstar's dates."""
    return Query(alias=alias, description=f"{description} YYYY-MM-DD, {DATE_WINDOW_WORDS}.")


_LEADING_YEAR = re.compile(r"\s*(\d{4})")


def period_year(text: str) -> int | None:
    """The year a period written as text starts with (`2025-Q4` → 2025), if it has one."""
    match = _LEADING_YEAR.match(text)
    return int(match.group(1)) if match else None


def check_period_year(text: str, field: str) -> None:
    """A period written as text (`2025-Q4`, `2025-11`, `2025-W45`, `2025`) lies within
    Northstar's years; else a 422 naming `field` (`query.period`, `path.quarter`). Its form
    is checked where it is parsed."""
    year = period_year(text)
    if year is not None and not EARLIEST_DATE.year <= year <= LATEST_DATE.year:
        name = field.split(".")[-1]
        message = (
            f"`{name}` {text.strip()!r} is outside the dates Northstar takes: {DATE_WINDOW_WORDS}."
        )
        raise InvalidInput(
            message, code="date_out_of_range", details=[{"field": field, "problem": message}]
        )
