"""The monthly recurring amount schedule of a ConnectWise agreement (docs/kpis.md §4.4). Pure.

On a calendar day d an agreement counts when `startDate ≤ d`, (`endDate` absent, or
`noEndingDateFlag`, or `endDate ≥ d`), (`dateCancelled` absent or `> d`) and its billing cycle
recurs. Its amount is (`billAmount` + Σ billable additions in force on d of
`(quantity - lessIncluded) x unitPrice`) x the cycle's monthly factor. Between the dates where
something starts or stops the amount is constant, so the schedule is a short list of periods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.sdk import AmountPeriod

# Billing cycle `billingOptions` -> (numerator, denominator) of its monthly factor.
# Kept as a fraction so a quarterly 300.00 becomes exactly 100, not 99.99...
CYCLE_FACTORS: Mapping[str, tuple[int, int]] = {
    "Weekly": (52, 12),
    "BiWeekly": (26, 12),
    "Monthly": (1, 1),
    "BiMonthly": (1, 2),
    "Quarterly": (1, 3),
    "SemiAnnual": (1, 6),
    "Yearly": (1, 12),
}  # "NotRecurring" and anything else: the agreement has no recurring amount.


@dataclass(frozen=True, slots=True)
class AdditionLine:
    """A billable addition's amount per billing cycle, in force on `[starts, stops)`."""

    amount: Decimal
    starts: date | None
    stops: date | None


def calendar_date(value: Any) -> date | None:
    """The calendar date of a ConnectWise date-time (`2024-01-01T00:00:00Z`), no zone shift."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or value is None:
        return Decimal(0)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)


def billable_additions(additions: Sequence[Mapping[str, Any]]) -> list[AdditionLine]:
    lines = []
    for addition in additions:
        if addition.get("billCustomer") != "Billable":
            continue
        quantity = decimal(addition.get("quantity")) - decimal(addition.get("lessIncluded"))
        lines.append(
            AdditionLine(
                amount=quantity * decimal(addition.get("unitPrice")),
                starts=calendar_date(addition.get("effectiveDate")),
                stops=calendar_date(addition.get("cancelledDate")),
            )
        )
    return lines


def in_force_until(agreement: Mapping[str, Any]) -> date | None:
    """The first day the agreement no longer counts (None: open-ended)."""
    stops: list[date] = []
    end = calendar_date(agreement.get("endDate"))
    if end is not None and agreement.get("noEndingDateFlag") is not True:
        stops.append(end + timedelta(days=1))
    cancelled = calendar_date(agreement.get("dateCancelled"))
    if cancelled is not None:
        stops.append(cancelled)
    return min(stops) if stops else None


def amount_schedule(
    agreement: Mapping[str, Any],
    additions: Sequence[Mapping[str, Any]],
    billing_option: str | None,
) -> tuple[AmountPeriod, ...]:
    """Non-overlapping periods of constant monthly amount, in date order."""
    factor = CYCLE_FACTORS.get(billing_option or "")
    start = calendar_date(agreement.get("startDate"))
    if factor is None or start is None:
        return ()
    stop = in_force_until(agreement)
    if stop is not None and stop <= start:
        return ()
    base = decimal(agreement.get("billAmount"))
    lines = billable_additions(additions)
    changes = {start}
    for line in lines:
        for moment in (line.starts, line.stops):
            if moment is not None and moment > start and (stop is None or moment < stop):
                changes.add(moment)
    points = sorted(changes)
    periods: list[AmountPeriod] = []
    numerator, denominator = factor
    for index, day in enumerate(points):
        until = points[index + 1] if index + 1 < len(points) else stop
        per_cycle = base + sum(
            (
                line.amount
                for line in lines
                if (line.starts is None or line.starts <= day)
                and (line.stops is None or line.stops > day)
            ),
            Decimal(0),
        )
        monthly = per_cycle * numerator / denominator
        if periods and periods[-1].monthly_amount == monthly:
            periods[-1] = AmountPeriod(periods[-1].valid_from, until, monthly)
        else:
            periods.append(AmountPeriod(day, until, monthly))
    return tuple(periods)
