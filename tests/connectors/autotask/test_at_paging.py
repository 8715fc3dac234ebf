"""Passes, keyset paging and cursors: changes between pages, resuming, incremental pick-up,
and client mistakes that must not be retried."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from at_support import at, connector_for, simulator_for

from connectors.autotask.query import MAX_RECORDS, format_datetime, parse_datetime, query_body
from connectors.sandbox.model import SandboxWorld
from connectors.sandbox.world import build_world
from connectors.sdk import FatalError

pytestmark = pytest.mark.anyio


@pytest.fixture
def big_world() -> SandboxWorld:
    return build_world(seed=9, tickets=1300)


async def test_keyset_paging_survives_changes_between_pages(big_world: SandboxWorld) -> None:
    simulator = simulator_for(big_world)
    sync_start = big_world.generated_at
    connector = connector_for(simulator, now=sync_start)
    live = [t for t in big_world.tickets if not t.deleted and t.merged_into is None]
    read: list[int] = []
    pages = []
    async for page in connector.read("tickets", None):
        pages.append(page)
        if not read:  # after the first page: one already read disappears, one is added
            live[0].deleted = True
            newcomer = dataclasses.replace(
                live[-1], id=big_world.tickets[-1].id + 1, updated_at=sync_start
            )
            big_world.tickets.append(newcomer)
        read.extend(int(r["id"]) for r in page.records)
    # The newcomer arrived during the pass: this pass or the next one reads it.
    next_pass = [page async for page in connector.read("tickets", pages[-1].cursor)]
    await connector.aclose()
    assert read == sorted(set(read)), "ids ascend without repeats"
    assert set(read) >= {t.id for t in live}, "nothing skipped"
    assert newcomer.id in set(read) | {int(r["id"]) for p in next_pass for r in p.records}
    assert simulator.stats.next_page_requests == 0, "nextPageUrl is never followed"


async def test_query_bodies_page_by_id_with_numbers(big_world: SandboxWorld) -> None:
    simulator = simulator_for(big_world, record_bodies=True)
    connector = connector_for(simulator)
    pages = [page async for page in connector.read("tickets", None)]
    await connector.aclose()
    ticket_bodies = [  # page queries only, not the one-record probes of range planning
        body
        for entity, body in simulator.stats.bodies
        if entity == "Tickets" and body.get("MaxRecords") == MAX_RECORDS
    ]
    assert len(ticket_bodies) == len(pages) == 3  # 1,3xx live tickets: ⌈n / 500⌉ pages
    first, *rest = ticket_bodies
    assert first["MaxRecords"] == MAX_RECORDS
    assert first["IncludeFields"][0] == "id"
    assert first["filter"] == [{"op": "gt", "field": "id", "value": 0}]
    # The rest in two ranges read side by side, the first after the first page's last id.
    after_first = {"op": "gt", "field": "id", "value": int(pages[0].records[-1]["id"])}
    assert any(after_first in body["filter"] for body in rest)


async def test_resuming_mid_pass_neither_skips_nor_repeats(big_world: SandboxWorld) -> None:
    simulator = simulator_for(big_world)
    since = big_world.generated_at - timedelta(days=330)
    connector = connector_for(simulator, now=big_world.generated_at)
    pages = [page async for page in connector.read("tickets", None, since=since)]
    assert len(pages) >= 2
    first_page = pages[0].records
    assert pages[0].cursor == {
        "pass_since": format_datetime(since),
        "pass_started": format_datetime(big_world.generated_at),
        "seen_until": format_datetime(
            max(parse_datetime(r["lastActivityDate"]) for r in first_page)  # type: ignore[type-var]
        ),
        "last_id": int(first_page[-1]["id"]),
    }
    resumed = [page async for page in connector.read("tickets", pages[0].cursor)]
    await connector.aclose()
    expected = [r["id"] for p in pages[1:] for r in p.records]
    assert [r["id"] for p in resumed for r in p.records] == expected


async def test_incremental_pass_picks_up_changes_only(world: SandboxWorld) -> None:
    simulator = simulator_for(world)
    sync_start = world.generated_at
    connector = connector_for(simulator, now=sync_start, lookback=timedelta(minutes=5))
    first = [page async for page in connector.read("tickets", None)]
    await connector.aclose()
    # The next pass starts at the latest change Autotask showed (before the sync's start),
    # minus the lookback: never later than either.
    latest = at(6)
    assert latest < sync_start
    assert first[-1].cursor == {
        "pass_since": format_datetime(latest - timedelta(minutes=5)),
        "pass_started": None,
        "last_id": None,
    }
    changed = next(t for t in world.tickets if t.id == 20)
    changed.title, changed.updated_at = "Laptop for the new starter", sync_start + timedelta(1)
    simulator.refresh()
    connector = connector_for(simulator, now=sync_start + timedelta(hours=2))
    second = [page async for page in connector.read("tickets", first[-1].cursor)]
    await connector.aclose()
    titles = {r["title"] for p in second for r in p.records}
    assert titles == {"Laptop for the new starter", "Printer offline"}  # changed; latest seen
    assert second[-1].cursor["pass_since"] == format_datetime(
        sync_start + timedelta(hours=2) - timedelta(minutes=5)
    )  # the change is stamped after this sync's start: the start bounds the watermark


async def test_a_pass_that_sees_nothing_keeps_its_lower_bound(world: SandboxWorld) -> None:
    simulator = simulator_for(world)
    later = world.generated_at + timedelta(days=3)
    connector = connector_for(simulator, now=later)
    cursor = {"pass_since": format_datetime(later), "pass_started": None, "last_id": None}
    pages = [page async for page in connector.read("tickets", cursor)]
    await connector.aclose()
    assert [len(p.records) for p in pages] == [0]
    assert pages[0].cursor["pass_since"] == format_datetime(later)


async def test_unknown_field_500_is_not_retried_and_named(world: SandboxWorld) -> None:
    simulator = simulator_for(world)
    connector = connector_for(simulator)
    body = query_body([], include_fields=["lastActivityDat"], after_id=None)
    with pytest.raises(FatalError, match="Unable to find lastActivityDat in the Tickets"):
        await connector.api.query("Tickets", body)
    await connector.aclose()
    assert simulator.stats.requests["Tickets"] == 1


async def test_max_records_over_500_is_not_retried(world: SandboxWorld) -> None:
    simulator = simulator_for(world)
    connector = connector_for(simulator)
    body = query_body([], include_fields=[], after_id=None, max_records=501)
    with pytest.raises(FatalError, match="maxCountOfRecordsToReturn"):
        await connector.api.query("Tickets", body)
    await connector.aclose()
    assert simulator.stats.requests["Tickets"] == 1


async def test_full_refresh_reports_seen_ids_and_starts_over(world: SandboxWorld) -> None:
    connector = connector_for(simulator_for(world))
    pages = [page async for page in connector.read("contracts", None)]
    await connector.aclose()
    assert [list(p.seen_ids) for p in pages] == [["1"]]  # the T&M contracts are not type 7
    assert pages[-1].cursor == {"last_id": None}


async def test_an_id_sweep_asked_for_a_slice_lists_exactly_its_ids(
    big_world: SandboxWorld,
) -> None:
    """A rolling sweep's slice, `{"id_range": [low, high]}`: every query filters on
    `id gte low` and `id lt high`, and a slice of several pages is still split into ranges
    read side by side; either end may be open."""
    live = sorted(e.id for e in big_world.time_entries if not e.deleted)

    async def sweep(id_range: list[int | None]) -> tuple[list[int], list[dict[str, Any]]]:
        simulator = simulator_for(big_world, record_bodies=True)
        connector = connector_for(simulator)
        cursor = {"id_range": id_range}
        pages = [page async for page in connector.read("time_entry_ids", cursor)]
        await connector.aclose()
        bodies = [body for entity, body in simulator.stats.bodies if entity == "TimeEntries"]
        return [int(i) for page in pages for i in page.seen_ids], bodies

    listed, bodies = await sweep([1000, 3200])
    assert sorted(listed) == [i for i in live if 1000 <= i < 3200]
    assert len(listed) == len(set(listed))
    assert len(bodies) >= 5  # 2,200 ids: five pages of 500, more than one range
    wanted = [
        {"op": "gte", "field": "id", "value": 1000},
        {"op": "lt", "field": "id", "value": 3200},
    ]
    assert all(all(f in body["filter"] for f in wanted) for body in bodies), bodies
    below, _ = await sweep([None, 40])
    above, _ = await sweep([3800, None])
    assert (sorted(below), sorted(above)) == (
        [i for i in live if i < 40],
        [i for i in live if i >= 3800],
    )
