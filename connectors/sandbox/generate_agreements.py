"""Recurring agreements of the sandbox world.

Prices are whole cents per month times the cycle's months, so every line's
`price_per_cycle ÷ cycle months` is exact: the monthly amounts need no rounding rule.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date, timedelta
from decimal import Decimal
from itertools import accumulate
from random import Random

from connectors.sandbox.business_hours import DAY, day_ts, from_ts, ts_day
from connectors.sandbox.model import CYCLE_MONTHS, Agreement, BillingCycle, Client, RevenueLine
from connectors.sandbox.roster import FOREVER, Roster

_CYCLES = (BillingCycle.MONTHLY, BillingCycle.QUARTERLY, BillingCycle.YEARLY)
_CYCLE_CUMULATIVE = tuple(accumulate((0.7, 0.2, 0.1)))
# Catalogue of additions: description, quantity range, monthly unit price range in cents.
_ADDITIONS = (
    ("Per-user support", (5, 60), (2500, 4500)),
    ("Server backup & DR", (1, 8), (6000, 15000)),
    ("Endpoint security suite", (5, 60), (600, 1400)),
    ("Microsoft 365 management", (5, 60), (300, 900)),
)
_COVERAGE_SHARE = 0.92  # active clients with an agreement


def _cents(rng: Random, low: int, high: int, step: int = 25) -> int:
    return low + step * int(rng.random() * ((high - low) // step + 1))


def _price(monthly_cents: int, cycle: BillingCycle) -> Decimal:
    return Decimal(monthly_cents * CYCLE_MONTHS[cycle]).scaleb(-2)


def _random_day(rng: Random, first: date, last: date) -> date:
    """A day in [first, last]."""
    return first + timedelta(days=int(rng.random() * ((last - first).days + 1)))


def generate_agreements(rng: Random, clients: list[Client], roster: Roster) -> list[Agreement]:
    """About one agreement per client; ids in order of start date."""
    start, end = ts_day(roster.start_ts), ts_day(roster.end_ts)
    last_day = end - timedelta(days=1)
    drafts: list[Agreement] = []
    churn_mid_period = 2  # a few active clients also end or cancel during the period
    for client in clients:
        span = roster.client_spans.get(client.id)
        if span is None:
            continue
        left = span.until < FOREVER and span.until <= roster.end_ts
        if not left and rng.random() > _COVERAGE_SHARE:
            continue
        cycle = _CYCLES[bisect_right(_CYCLE_CUMULATIVE, rng.random() * _CYCLE_CUMULATIVE[-1])]
        if span.since > roster.start_ts:  # joined during the period: signs when it joins
            starts_on = ts_day(span.since)
        else:
            starts_on = (start - timedelta(days=30 + int(rng.random() * 1200))).replace(day=1)
            if rng.random() < 0.2:
                starts_on = starts_on.replace(day=1 + int(rng.random() * 28))
        agreement = Agreement(
            id=0,
            client_id=client.id,
            name=f"{client.name} - Managed Services",
            cycle=cycle,
            starts_on=starts_on,
            ends_on=None,
            cancelled_on=None,
            lines=[],
            updated_at=from_ts(day_ts(starts_on)),
        )
        if left:  # the client churned: its agreement stopped then
            churn_day = ts_day(span.until)
            if rng.random() < 0.5:
                agreement.cancelled_on = churn_day
            else:
                agreement.ends_on = churn_day - timedelta(days=1)
        elif churn_mid_period and start + timedelta(days=60) < end and rng.random() < 0.1:
            churn_mid_period -= 1
            stop = _random_day(rng, start + timedelta(days=30), end - timedelta(days=30))
            if churn_mid_period % 2:
                agreement.cancelled_on = stop
            else:
                agreement.ends_on = stop
        elif rng.random() < 0.25:  # a fixed term running past the period
            agreement.ends_on = end + timedelta(days=30 + int(rng.random() * 700))
        drafts.append(agreement)

    drafts.sort(key=lambda agreement: (agreement.starts_on, agreement.client_id))
    line_id = 0
    for number, agreement in enumerate(drafts, start=1):
        agreement.id = number
        for line in _lines(rng, agreement, start, last_day):
            line_id += 1
            line.id = line_id
            agreement.lines.append(line)
        agreement.updated_at = from_ts(_last_change(agreement, roster.end_ts))
    return drafts


def _lines(rng: Random, agreement: Agreement, start: date, last_day: date) -> list[RevenueLine]:
    cycle = agreement.cycle
    # Additions change only while the agreement is in force (and within the period).
    if agreement.cancelled_on is not None:
        last_day = min(last_day, agreement.cancelled_on - timedelta(days=1))
    if agreement.ends_on is not None:
        last_day = min(last_day, agreement.ends_on)
    lines = [
        RevenueLine(
            id=0,
            description="Managed services base fee",
            quantity=1,
            unit_price=_price(_cents(rng, 30000, 200000, 2500), cycle),
            starts_on=agreement.starts_on,
        )
    ]
    picks = rng.sample(range(len(_ADDITIONS)), int(rng.random() * (len(_ADDITIONS))))
    for pick in sorted(picks):
        description, (low_qty, high_qty), (low_cents, high_cents) = _ADDITIONS[pick]
        first = max(agreement.starts_on, start)
        starts_on = agreement.starts_on
        if first < last_day and rng.random() < 0.35:  # added during the period, any day
            starts_on = _random_day(rng, first, last_day)
        ends_on = None
        if starts_on + timedelta(days=45) < last_day and rng.random() < 0.2:
            ends_on = _random_day(rng, starts_on + timedelta(days=30), last_day)
        lines.append(
            RevenueLine(
                id=0,
                description=description,
                quantity=low_qty + int(rng.random() * (high_qty - low_qty + 1)),
                unit_price=_price(_cents(rng, low_cents, high_cents), cycle),
                starts_on=starts_on,
                ends_on=ends_on,
            )
        )
    return lines


def _last_change(agreement: Agreement, now: int) -> int:
    """The ts of the latest change already made: created, lines added/ended, cancelled."""
    days = [agreement.starts_on, agreement.cancelled_on] + [
        day for line in agreement.lines for day in (line.starts_on, line.ends_on)
    ]
    # Changes are keyed in ahead of time; 09:00 on the day at the latest, never the future.
    latest = max(day_ts(day) for day in days if day is not None and day_ts(day) < now)
    return min(latest + 9 * 3600, now - DAY // 2)
