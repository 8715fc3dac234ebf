"""Agreement additions may change without the agreement's lastUpdated moving (unconfirmed):
every active recurring agreement is read again with its additions on a slow schedule."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from cw_support import ConnectorFactory, simulator_for

from connectors.connectwise import ConnectWiseConnector
from connectors.connectwise.simulator_shapes import split_base_fee
from connectors.sandbox.index import in_force, monthly_amount_on
from connectors.sandbox.model import Agreement, SandboxWorld
from connectors.sandbox.world import build_world
from connectors.sdk import Cursor, Page, RecurringRevenueFact


def amount_on(fact: RecurringRevenueFact, day: date) -> Decimal:
    return sum(
        (
            period.monthly_amount
            for period in fact.amount_schedule
            if period.valid_from <= day and (period.valid_to is None or day < period.valid_to)
        ),
        Decimal(0),
    )


async def sync(
    connector: ConnectWiseConnector, cursor: Cursor | None
) -> tuple[list[Page], dict[str, RecurringRevenueFact]]:
    pages = [page async for page in connector.read("agreements", cursor)]
    await connector.aclose()
    facts = {
        fact.external_id: fact
        for page in pages
        for record in page.records
        for fact in connector.normalize("agreements", record)
        if isinstance(fact, RecurringRevenueFact)
    }
    return pages, facts


def active_with_additions(world: SandboxWorld) -> Agreement:
    today = world.generated_at.date()
    return next(
        a for a in world.agreements if not a.deleted and in_force(a, today) and split_base_fee(a)[1]
    )


@pytest.mark.anyio
@pytest.mark.parametrize("every_hours", [24, 6])
async def test_an_addition_changed_quietly_counts_after_the_refresh_interval(
    connector_for: ConnectorFactory, every_hours: int
) -> None:
    world = build_world(seed=17, tickets=1500)
    simulator = simulator_for(world)
    start = world.generated_at

    def connector(hours_later: float) -> ConnectWiseConnector:
        return connector_for(
            simulator,
            now=start + timedelta(hours=hours_later),
            agreement_additions_refresh_hours=every_hours,
        )

    pages, _ = await sync(connector(0), None)
    cursor = pages[-1].cursor
    assert cursor["additions_read_at"] == start.isoformat()

    agreement = active_with_additions(world)
    split_base_fee(agreement)[1][0].quantity += 5  # its lastUpdated does not move
    today = start.date()
    truth = monthly_amount_on(agreement, today)

    pages, facts = await sync(connector(1), cursor)  # an ordinary pass: not read
    assert str(agreement.id) not in facts
    cursor = pages[-1].cursor

    additions_before = simulator.requests["GET /finance/agreements/{id}/additions"]
    pages, facts = await sync(connector(every_hours + 0.5), cursor)
    assert amount_on(facts[str(agreement.id)], today) == truth
    still_billing = [
        a
        for a in world.agreements
        if not a.deleted and (a.cancelled_on is None or a.cancelled_on > today)
        and (a.ends_on is None or a.ends_on >= today)
    ]  # fmt: skip
    assert set(facts) == {str(a.id) for a in still_billing}
    made = simulator.requests["GET /finance/agreements/{id}/additions"] - additions_before
    assert made == len(still_billing)  # one additions call per agreement still billing
    assert (
        pages[-1].cursor["additions_read_at"]
        == (start + timedelta(hours=every_hours + 0.5)).isoformat()
    )


@pytest.mark.anyio
async def test_an_older_cursor_reads_the_additions_on_its_next_pass(
    connector_for: ConnectorFactory,
) -> None:
    world = build_world(seed=17, tickets=1500)
    simulator = simulator_for(world)
    old = {"watermark": world.generated_at.isoformat()}  # before the refresh existed
    pages, facts = await sync(connector_for(simulator, now=world.generated_at), old)
    assert str(active_with_additions(world).id) in facts
    assert "whole" not in pages[-1].cursor and "additions_read_at" in pages[-1].cursor
