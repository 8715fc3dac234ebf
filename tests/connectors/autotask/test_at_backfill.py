"""A first sync near its floor: id ranges balanced wherever the ids start, each record read
once, and the tickets' SLA results batched by ticket-id range and read while the next pages
of tickets are in flight, without breaking the cursor contract."""

from __future__ import annotations

import math
from typing import Any

import pytest
from at_support import connector_for, simulator_for

from connectors.autotask.enrich import ENRICHMENT_KEY
from connectors.sandbox.model import SandboxWorld
from connectors.sandbox.world import build_world
from connectors.sdk import Page

pytestmark = pytest.mark.anyio
SLA = "ServiceLevelAgreementResults"


@pytest.fixture(scope="module")
def world_3000() -> SandboxWorld:
    return build_world(seed=6, tickets=3000)


def record_ids(pages: list[Page]) -> list[int]:
    return [int(i) for p in pages for i in (p.seen_ids or [r["id"] for r in p.records])]


async def test_ids_starting_high_give_evenly_filled_parallel_ranges(
    world_3000: SandboxWorld,
) -> None:
    simulator = simulator_for(
        world_3000, latency=0.001, id_offsets={"Tickets": 559_000, "TimeEntries": 1_184_000}
    )
    connector = connector_for(simulator, backfill_split_min_records=1000)
    pages = [page async for page in connector.read("time_entries", None)]
    await connector.aclose()
    table = simulator.table("TimeEntries")
    assert table.ids[0] > 1_184_000
    got = record_ids(pages)
    assert sorted(got) == table.ids and len(got) == len(set(got))  # each once, none lost
    planned = next(p.cursor["ranges"] for p in pages if "ranges" in p.cursor)
    assert len(planned) == 3
    sizes = [
        sum(1 for i in table.ids if low < i and (high is None or i <= high))
        for low, high in planned
    ]
    assert max(sizes) < 1.25 * min(sizes), sizes
    assert simulator.stats.max_in_flight["TimeEntries"] == 3
    assert simulator.stats.rows_served["TimeEntries"] == len(table.ids)  # read once
    assert simulator.stats.requests["TimeEntries"] <= math.ceil(len(table.ids) / 500) + 7


async def test_sla_results_cost_near_their_own_floor(world_3000: SandboxWorld) -> None:
    simulator = simulator_for(world_3000, latency=0.001)
    connector = connector_for(simulator, backfill_split_min_records=1000)
    pages = [page async for page in connector.read("tickets", None)]
    await connector.aclose()
    tickets, sla_rows = simulator.table("Tickets").ids, simulator.table(SLA).rows
    assert sorted(record_ids(pages)) == tickets
    sla_floor = math.ceil(len(sla_rows) / 500)
    requests = simulator.stats.requests
    # Per ticket page this was one `in` batch (or more); by ticket-id range, the rows' floor
    # plus about one request per lane.
    assert requests[SLA] <= sla_floor * 1.05 + 4, (requests[SLA], sla_floor)
    assert requests["Tickets"] <= math.ceil(len(tickets) / 500) + 3 + 4 + 1
    assert simulator.stats.max_in_flight[SLA] <= 3
    assert simulator.stats.thread_limit_rejections == {}
    winning = {int(r[1]): r for r in sla_rows}  # the highest id per ticket comes last
    for page in pages:
        for record in page.records:
            sla = record[ENRICHMENT_KEY]["sla"]
            expected = winning.get(int(record["id"]))
            assert (sla["id"] if sla else None) == (expected[0] if expected else None)


async def test_a_pass_requests_the_next_page_while_sla_rows_are_read(
    world_3000: SandboxWorld,
) -> None:
    simulator = simulator_for(world_3000, latency=0.005)
    connector = connector_for(simulator)
    since = world_3000.generated_at.replace(year=2000)  # a filtered pass: one lane
    pages = [page async for page in connector.read("tickets", None, since=since)]
    await connector.aclose()
    assert len(pages) >= 6
    overlapped = simulator.stats.started_during
    # One lane: without pipelining a page's SLA batch and the next page never overlap.
    assert overlapped[("Tickets", SLA)] + overlapped[(SLA, "Tickets")] >= len(pages) - 1


async def test_resuming_a_pipelined_ranged_pass_reads_exactly_the_rest(
    world_3000: SandboxWorld,
) -> None:
    simulator = simulator_for(world_3000, latency=0.001)
    connector = connector_for(simulator, backfill_split_min_records=1000)
    pages = [page async for page in connector.read("tickets", None)]
    middle = next(i for i, page in enumerate(pages) if "ranges" in page.cursor and i > 3)
    rest = [page async for page in connector.read("tickets", pages[middle].cursor)]
    await connector.aclose()

    def attached(some: list[Page]) -> dict[int, Any]:
        return {int(r["id"]): r[ENRICHMENT_KEY]["sla"] for p in some for r in p.records}

    assert sorted(record_ids(rest)) == sorted(record_ids(pages[middle + 1 :]))
    assert len(record_ids(rest)) == len(set(record_ids(rest)))
    assert attached(rest) == attached(pages[middle + 1 :])  # the same SLA rows, resumed
