"""An Autotask Recurring Service contract's monthly amounts from its ContractServiceUnits
(docs/kpis.md §4.4). Pure functions."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from connectors.autotask.fields import day, decimal
from connectors.sdk import AmountPeriod

# contractPeriodType label (lower-cased, letters only) -> months per billing period.
PERIOD_MONTHS: Mapping[str, int] = {
    "monthly": 1,
    "quarterly": 3,
    "semiannual": 6,
    "semiannually": 6,
    "yearly": 12,
    "annual": 12,
    "annually": 12,
}


def months_per_period(label: object) -> int | None:
    key = re.sub(r"[^a-z]", "", str(label or "").lower())
    return PERIOD_MONTHS.get(key)


def amount_schedule(
    rows: Sequence[Mapping[str, Any]],
    *,
    starts_on: date,
    ends_on: date,
    period_months: int,
    price_is_extended: bool,
    open_ended: bool,
) -> tuple[AmountPeriod, ...]:
    """docs/kpis.md §4.4: the monthly amount on day d is Σ over service-unit rows whose
    `[startDate, endDate]` covers d (and d within the contract) of price ÷ months per period.
    Returned as non-overlapping periods of equal amount; days worth 0 are left out."""
    spans: list[tuple[date, date, Decimal]] = []
    for row in rows:
        row_start, row_end = day(row, "startDate"), day(row, "endDate")
        if row_start is None or row_end is None:
            continue
        first, last = max(row_start, starts_on), min(row_end, ends_on)
        if first > last:
            continue
        price = decimal(row, "price")
        if not price_is_extended:
            price *= decimal(row, "units")
        spans.append((first, last, price))
    # Sweep the edges in order with a running sum: the amount changes only at row edges.
    changes: dict[date, Decimal] = {}
    for first, last, price in spans:
        changes[first] = changes.get(first, Decimal(0)) + price
        after = last + timedelta(days=1)
        changes[after] = changes.get(after, Decimal(0)) - price
    edges = sorted(changes)
    periods: list[AmountPeriod] = []
    per_period = Decimal(0)
    for valid_from, valid_to in itertools.pairwise(edges):
        per_period += changes[valid_from]
        if not per_period:
            continue
        # Divide the period's sum, as a monthly amount of the summed prices is computed.
        amount = per_period / period_months
        if periods and periods[-1].valid_to == valid_from and periods[-1].monthly_amount == amount:
            valid_from = periods.pop().valid_from
        periods.append(AmountPeriod(valid_from, valid_to, amount))
    if open_ended and periods and periods[-1].valid_to == ends_on + timedelta(days=1):
        periods[-1] = AmountPeriod(periods[-1].valid_from, None, periods[-1].monthly_amount)
    return tuple(periods)
