"""Numbers and dates as an owner reads them in a sentence, the same on every page and feed."""

from __future__ import annotations

from datetime import date


def plain(value: float | None) -> str:
    """A number as a person writes it in a sentence: 1,000,000 or 95.25 (not 1e+06)."""
    if value is None:
        return "—"
    if value == 0:
        return "0"  # never "-0"
    if value == int(value):
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def amount(value: float | None, unit: str) -> str:
    """A KPI value with its unit: 95.5 %, $83,250, 3.5 h, 7.25; an em dash when missing."""
    if value is None:
        return "—"
    if unit == "percent":
        return f"{value:.1f} %"
    if unit == "currency":
        return f"${value:,.0f}"
    if unit == "currency_per_hour":
        return f"${value:,.2f}/h"
    if unit == "hours":
        return f"{value:,.1f} h"
    return plain(round(value, 2))


def share(fraction: float) -> str:
    """A share of the way as a person writes it: 62 % (the same spacing as 95.0 %)."""
    return f"{fraction * 100:.0f} %"


# The decimals `amount` shows per unit; other units show 2.
SHOWN_DECIMALS = {"percent": 1, "currency": 0, "currency_per_hour": 2, "hours": 1}


def as_shown(value: float, unit: str) -> float:
    """`value` rounded as `amount` writes it. Verdicts are taken on it, so a sentence read
    aloud never contradicts its status (85.46 % is written 85.5 %, and judged as 85.5 %)."""
    return round(value, SHOWN_DECIMALS.get(unit, 2))


def difference(value: float, unit: str) -> str:
    """A gap between two values: percentages differ by points, not by per cent."""
    if unit == "percent":
        return f"{abs(value):.1f} points"
    return amount(abs(value), unit)


MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def month_name(day: date) -> str:
    return MONTHS[day.month - 1]


def period_label(start: date, last_day: date, grain: str) -> str:
    """A period as a person names it: November 2026, 2026-Q3, the week of 2026-11-23."""
    if grain == "month":
        return f"{month_name(start)} {start.year}"
    if grain == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if grain == "year":
        return str(start.year)
    if grain == "week":
        return f"the week of {start.isoformat()}"
    if start == last_day:
        return start.isoformat()
    return f"{start.isoformat()} to {last_day.isoformat()}"


def count_of(n: int, noun: str) -> str:
    """'1 month', '11 months'."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")
