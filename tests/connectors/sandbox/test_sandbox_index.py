"""monthly_amount_on, WorldIndex lookups and the business clock."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from connectors.sandbox.business_hours import (
    add_business_minutes,
    business_minutes_between,
    from_ts,
    to_ts,
)
from connectors.sandbox.index import WorldIndex, monthly_amount_on
from connectors.sandbox.model import Agreement, BillingCycle, RevenueLine
from connectors.sandbox.world import build_world, mutate_world

STAMP = datetime(2025, 1, 1, tzinfo=UTC)


def _quarterly() -> Agreement:
    """3,000.00 a quarter from Jan 15, plus 10 seats x 90.00 a quarter from Mar 10 to May 1
    (exclusive), cancelled from Jun 16."""
    return Agreement(
        id=1,
        client_id=2,
        name="Quarterly",
        cycle=BillingCycle.QUARTERLY,
        starts_on=date(2025, 1, 15),
        ends_on=None,
        cancelled_on=date(2025, 6, 16),
        lines=[
            RevenueLine(1, "Base", 1, Decimal("3000.00"), date(2025, 1, 15)),
            RevenueLine(2, "Seats", 10, Decimal("90.00"), date(2025, 3, 10), date(2025, 5, 1)),
        ],
        updated_at=STAMP,
    )


@pytest.mark.parametrize(
    ("day", "amount"),
    [
        (date(2025, 1, 14), Decimal("0.00")),
        (date(2025, 1, 15), Decimal("1000.00")),
        (date(2025, 3, 9), Decimal("1000.00")),
        (date(2025, 3, 10), Decimal("1300.00")),
        (date(2025, 4, 30), Decimal("1300.00")),
        (date(2025, 5, 1), Decimal("1000.00")),
        (date(2025, 6, 15), Decimal("1000.00")),
        (date(2025, 6, 16), Decimal("0.00")),
    ],
)
def test_monthly_amount_of_quarterly_agreement(day: date, amount: Decimal) -> None:
    assert monthly_amount_on(_quarterly(), day) == amount


def test_monthly_amount_counts_the_inclusive_end_day() -> None:
    agreement = _quarterly()
    agreement.cancelled_on, agreement.ends_on = None, date(2025, 3, 31)
    amounts = [monthly_amount_on(agreement, day) for day in (date(2025, 3, 31), date(2025, 4, 1))]
    assert amounts == [Decimal("1300.00"), Decimal("0.00")]


def test_monthly_amount_of_yearly_cycle() -> None:
    agreement = _quarterly()
    agreement.cycle = BillingCycle.YEARLY
    assert monthly_amount_on(agreement, date(2025, 2, 1)) == Decimal("250.00")


def test_generated_monthly_amounts_have_two_places() -> None:
    world = build_world(tickets=500)
    exponents = {
        monthly_amount_on(a, date(2025, 12, 31)).as_tuple().exponent for a in world.agreements
    }
    assert exponents == {-2}


def test_index_finds_records_by_id() -> None:
    world = build_world(tickets=200)
    index = WorldIndex(world)
    found = (index.ticket(17), index.technician(3), index.client(1), index.sla(2))
    assert found == (world.tickets[16], world.technicians[2], world.clients[0], world.slas[1])


def test_index_finds_priority_by_level() -> None:
    index = WorldIndex(build_world(tickets=50))
    assert [index.priority(level).sort_order for level in range(1, 6)] == [2, 4, 6, 8, 9]  # type: ignore[union-attr]


def test_index_answers_none_or_key_error_for_unknown_ids() -> None:
    index = WorldIndex(build_world(tickets=50))
    assert index.ticket(10_000) is None
    with pytest.raises(KeyError):
        index.tickets[10_000]


def test_index_follows_records_added_by_mutation() -> None:
    world = build_world(tickets=300)
    index = WorldIndex(world)
    assert index.ticket(301) is None
    summary = mutate_world(world, seed=1)
    assert index.ticket(summary.tickets_added[0]) is world.tickets[300]


def test_index_knows_the_msp_itself() -> None:
    index = WorldIndex(build_world(tickets=50))
    assert index.msp_client().name == "Northwind IT"


def test_business_minutes_skip_the_weekend() -> None:
    friday = to_ts(datetime(2025, 1, 3, 16, 0, tzinfo=UTC))
    monday = to_ts(datetime(2025, 1, 6, 9, 0, tzinfo=UTC))
    assert business_minutes_between(friday, monday) == 120


def test_adding_business_minutes_off_hours_starts_at_opening() -> None:
    saturday = to_ts(datetime(2025, 1, 4, 12, 0, tzinfo=UTC))
    assert from_ts(add_business_minutes(saturday, 30)) == datetime(2025, 1, 6, 8, 30, tzinfo=UTC)
