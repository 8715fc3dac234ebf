"""The incremental watermark follows ConnectWise's clock, not Northstar's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cw_support import ConnectorFactory, simulator_for

from connectors.connectwise import ConnectWiseConnector
from connectors.connectwise.simulator import SimulatorBehaviour
from connectors.sandbox.model import SandboxWorld
from connectors.sandbox.world import build_world, mutate_world
from connectors.sdk import Cursor, Page


async def read_pages(
    connector: ConnectWiseConnector, stream: str, cursor: Cursor | None = None
) -> list[Page]:
    pages = [page async for page in connector.read(stream, cursor)]
    await connector.aclose()
    return pages


def record_ids(pages: list[Page]) -> set[int]:
    return {int(record["id"]) for page in pages for record in page.records}


def changed_tickets(world: SandboxWorld, seed: int) -> set[int]:
    summary = mutate_world(world, seed=seed, fraction=0.01)
    return set(summary.tickets_updated + summary.tickets_added + summary.tickets_merged)


@pytest.mark.anyio
@pytest.mark.parametrize("offset_hours", [-2, 2])
async def test_a_change_between_syncs_is_read_whatever_the_psa_clock_says(
    connector_for: ConnectorFactory, offset_hours: int
) -> None:
    world = build_world(seed=3, tickets=1500)
    skew = SimulatorBehaviour(clock_offset=timedelta(hours=offset_hours))
    synced_at = world.generated_at
    first = await read_pages(
        connector_for(simulator_for(world, behaviour=skew), now=synced_at), "tickets"
    )
    changed = changed_tickets(world, seed=1)  # an hour later, stamped by the PSA's clock
    second = await read_pages(
        connector_for(simulator_for(world, behaviour=skew), now=synced_at + timedelta(hours=1)),
        "tickets",
        first[-1].cursor,
    )
    assert changed <= record_ids(second)
    assert len(record_ids(second)) <= len(changed) + 5  # only a few re-read in the lookback


@pytest.mark.anyio
async def test_the_watermark_is_the_psa_time_never_later_than_it_said(
    connector_for: ConnectorFactory,
) -> None:
    world = build_world(seed=3, tickets=1500)
    behind = timedelta(hours=-2)
    simulator = simulator_for(world, behaviour=SimulatorBehaviour(clock_offset=behind))
    pages = await read_pages(connector_for(simulator, now=world.generated_at), "tickets")
    newest = max(t.updated_at for t in world.tickets if not t.deleted) + behind
    assert pages[-1].cursor == {"watermark": newest.isoformat()}
    # Nothing changed: hours later by Northstar's clock, the watermark stays with the data.
    again = await read_pages(
        connector_for(simulator, now=world.generated_at + timedelta(hours=3)),
        "tickets",
        pages[-1].cursor,
    )
    assert again[-1].cursor == pages[-1].cursor


@pytest.mark.anyio
async def test_changes_made_while_a_pass_runs_are_read_by_the_next_one(
    connector_for: ConnectorFactory,
) -> None:
    world = build_world(seed=6, tickets=3000)
    simulator = simulator_for(world, behaviour=SimulatorBehaviour(clock_offset=timedelta(hours=-2)))
    connector = connector_for(simulator, now=world.generated_at, concurrency=1, page_size=500)
    changed: set[int] = set()
    cursor: Cursor | None = None
    async for page in connector.read("tickets", None):
        cursor = page.cursor
        if len(changed) < 2:  # behind the reader, then an hour later further on
            when = world.generated_at + timedelta(hours=1)
            summary = mutate_world(world, seed=len(changed) + 10, fraction=0.01, at=when)
            changed |= set(summary.tickets_updated + summary.tickets_added)
    await connector.aclose()
    later = world.generated_at + timedelta(minutes=10)
    second = await read_pages(connector_for(simulator, now=later), "tickets", cursor)
    assert changed <= record_ids(second)


@pytest.mark.anyio
async def test_cursors_of_the_previous_version_still_resume(
    connector_for: ConnectorFactory,
) -> None:
    world = build_world(seed=3, tickets=1500)
    old_finished = {"watermark": (world.generated_at - timedelta(hours=1)).isoformat()}
    changed = changed_tickets(world, seed=4)
    simulator = simulator_for(world)
    pages = await read_pages(
        connector_for(simulator, now=world.generated_at), "tickets", old_finished
    )
    assert changed <= record_ids(pages)
    old_mid_pass = {
        "pass_since": None,
        "pass_started": world.generated_at.isoformat(),
        "windows": [[700, None]],
    }
    resumed = await read_pages(
        connector_for(simulator, now=world.generated_at), "tickets", old_mid_pass
    )
    live = {t.id for t in world.tickets if not t.deleted}
    assert record_ids(resumed) == {ticket for ticket in live if ticket > 700}
    assert "watermark" in resumed[-1].cursor


@pytest.mark.anyio
async def test_a_watermark_ahead_of_the_psa_clock_comes_back_to_it(
    connector_for: ConnectorFactory,
) -> None:
    # An older version stored Northstar's clock, 2 hours ahead of this PSA's.
    world = build_world(seed=3, tickets=1500)
    behind = SimulatorBehaviour(clock_offset=timedelta(hours=-2))
    simulator = simulator_for(world, behaviour=behind)
    stored = {"watermark": world.generated_at.isoformat()}
    pages = await read_pages(connector_for(simulator, now=world.generated_at), "tickets", stored)
    assert record_ids(pages) == set()
    assert pages[-1].cursor == {"watermark": simulator.psa_now().isoformat()}
    changed = changed_tickets(world, seed=2)
    later = world.generated_at + timedelta(hours=1)
    second = await read_pages(connector_for(simulator, now=later), "tickets", pages[-1].cursor)
    assert changed <= record_ids(second)
