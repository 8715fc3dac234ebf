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


def difference(value: float, unit: str) -> str:
    """A gap between two values: percentages differ by points, not by per cent."""
    if unit == "percent":
        return f"{abs(value):.1f} points"
    return amount(abs(value), unit)


MONTHS = (
    "January February March April May June July August September October November December"
).split()


def month_name(day: date) -> str:
    return MONTHS[day.month - 1]
