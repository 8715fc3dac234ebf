"""The numbers, ids and dates Northstar takes from people, and the types that enforce them.

Beyond these limits nothing a business measures makes sense, and reads break: a 1e308
observation overflows a sum, a goal from year 1 to 9999 is millions of periods to evaluate,
an id past what the database stores cannot even be looked up. Request schemas use the types
below, so a value out of bounds is a 422 that says the range before anything is stored or
computed.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

VALUE_LIMIT = 1e12
"""Observations, scale ends, targets, bands and baselines lie within ±VALUE_LIMIT."""
WEIGHT_MAX = 1e6
"""Weights of goals and objectives are above 0 and at most WEIGHT_MAX."""
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2100, 12, 31)
"""Every date a person types (goal, baseline, milestone and check-in dates, and the days,
periods and quarters asked for) lies in this window."""
ID_MAX = 2**31 - 1
"""Ids are whole numbers from 1 to ID_MAX: the largest an id column holds on every database
Northstar runs on (a 32-bit INTEGER on PostgreSQL)."""

DATE_WINDOW_WORDS = f"from {EARLIEST_DATE} to {LATEST_DATE}"


def value_problem(value: float) -> str | None:
    """Why `value` is beyond what Northstar takes, or None when it is fine."""
    if math.isfinite(value) and -VALUE_LIMIT <= value <= VALUE_LIMIT:
        return None
    return (
        f"{value:g} is out of range: Northstar takes numbers between "
        f"{-VALUE_LIMIT:,.0f} and {VALUE_LIMIT:,.0f}."
    )


def weight_problem(weight: float) -> str | None:
    """Why `weight` is not a usable weight, or None when it is fine."""
    if math.isfinite(weight) and 0 < weight <= WEIGHT_MAX:
        return None
    return f"A weight is above 0 and at most {WEIGHT_MAX:,.0f}; got {weight:g}."


def date_problem(day: date) -> str | None:
    """Why `day` is outside the dates Northstar takes, or None when it is fine."""
    if EARLIEST_DATE <= day <= LATEST_DATE:
        return None
    return f"{day} is outside the dates Northstar takes: {EARLIEST_DATE} to {LATEST_DATE}."


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day(value: Any) -> date:
    """A day written YYYY-MM-DD. A bare number is refused: read as a Unix timestamp it would
    silently turn `as_of=0` into 1 January 1970."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DAY.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise PydanticCustomError(
                "date_invalid",
                "{value} is not a day of the calendar; write a date as YYYY-MM-DD, "
                "e.g. 2025-11-30.",
                {"value": value},
            ) from None
    raise PydanticCustomError(
        "date_format",
        "write a date as YYYY-MM-DD, e.g. 2025-11-30 (got {value}).",
        {"value": repr(value)},
    )


def _in_window(day: date) -> date:
    problem = date_problem(day)
    if problem:
        raise PydanticCustomError("date_out_of_range", problem)
    return day


Day = Annotated[date, BeforeValidator(_iso_day)]
"""A calendar day sent as YYYY-MM-DD; where it must lie is checked where it is used."""
DayInWindow = Annotated[date, BeforeValidator(_iso_day), AfterValidator(_in_window)]
"""A calendar day sent as YYYY-MM-DD within EARLIEST_DATE..LATEST_DATE."""
Id = Annotated[int, Field(ge=1, le=ID_MAX)]
"""A reference to a stored row."""
