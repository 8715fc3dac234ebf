"""Backfills read as up to 3 parallel id ranges, with a cursor that resumes exactly."""

from __future__ import annotations

import itertools
import math

import pytest
from at_support import connector_for, simulator_for

from connectors.autotask.ranges import plan_ranges, walk_ranges
from connectors.sandbox.model import SandboxWorld
from connectors.sandbox.world import build_world
from connectors.sdk import FatalError, Page

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def world_9000_entries() -> SandboxWorld:
    return build_world(seed=6, tickets=3000)


def ids_of(pages: list[Page]) -> list[str]:
    return [i for p in pages for i in (p.seen_ids or [str(r["id"]) for r in p.records])]


async def test_backfill_reads_three_ranges_at_once_without_gaps(
    world_9000_entries: SandboxWorld,
) -> None:
    simulator = simulator_for(world_9000_entries, latency=0.001)
    connector = connector_for(simulator, backfill_split_min_records=1000)
    pages = [page async for page in connector.read("time_entries", None)]
    await connector.aclose()
    got = ids_of(pages)
    expected = [str(row_id) for row_id in simulator.table("TimeEntries").ids]
    assert sorted(got, key=int) == expected and len(got) == len(set(got))
    assert simulator.stats.max_in_flight["TimeEntries"] == 3
    assert simulator.stats.thread_limit_rejections == {}
    assert any("ranges" in page.cursor for page in pages)
    floor = math.ceil(len(expected) / 500)
    assert simulator.stats.requests["TimeEntries"] <= floor + 20


async def test_resuming_from_a_ranged_cursor_reads_exactly_the_rest(
    world_9000_entries: SandboxWorld,
) -> None:
    simulator = simulator_for(world_9000_entries, latency=0.001)
    connector = connector_for(simulator, backfill_split_min_records=1000)
    pages = [page async for page in connector.read("time_entry_ids", None)]
    middle = next(i for i, page in enumerate(pages) if "ranges" in page.cursor and i > 4)
    rest = [page async for page in connector.read("time_entry_ids", pages[middle].cursor)]
    await connector.aclose()
    assert sorted(ids_of(rest)) == sorted(ids_of(pages[middle + 1 :]))
    assert len(ids_of(rest)) == len(set(ids_of(rest)))
    assert pages[-1].cursor == rest[-1].cursor == {"last_id": None}


@pytest.mark.parametrize(
    ("existing", "spread"),
    [
        (list(range(1, 30_001, 3)), 1.25),  # evenly spread: even ranges
        (list(range(559_001, 589_001)), 1.25),  # ids start high, as real tenants' do
        ([*range(1, 5_001), *range(40_001, 58_001)], 2.0),  # a gap the counts find
        ([*range(1, 2_001), *range(400_001, 418_001)], None),  # a huge gap: still complete
    ],
)
async def test_plan_balances_records_and_stays_open_ended(
    existing: list[int], spread: float | None
) -> None:
    counts: list[tuple[int, int | None]] = []

    async def count(after_id: int, up_to_id: int | None) -> int:
        counts.append((after_id, up_to_id))
        return sum(1 for i in existing if i > after_id and (up_to_id is None or i <= up_to_id))

    start = existing[499]  # the first page of 500 is read
    ids_per_record = (start - existing[0] + 1) / 500
    ranges = await plan_ranges(
        start, ids_per_record=ids_per_record, count=count, parts=3, min_records=1000
    )
    assert len(ranges) == 3
    assert ranges[0][0] == start and ranges[-1][1] is None
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    bounds = [(r[0] or 0, r[1] or 10**9) for r in ranges]
    sizes = [sum(1 for i in existing if low < i <= high) for low, high in bounds]
    assert sum(sizes) == len(existing) - 500
    if spread is not None:
        assert max(sizes) < spread * min(sizes), sizes
    assert len(counts) <= 7
    # Fewer than min_records: cut at the first page's density, with no further count.
    counted_before = len(counts)
    few = await plan_ranges(
        start, ids_per_record=ids_per_record, count=count, parts=3, min_records=50_000
    )
    assert len(counts) == counted_before + 1  # what remains, nothing more
    assert len(few) == 3 and few[0][0] == start and few[-1][1] is None
    assert all(a[1] == b[0] for a, b in itertools.pairwise(few))
    counted_before = len(counts)
    known = await plan_ranges(
        start,
        ids_per_record=ids_per_record,
        count=count,
        parts=3,
        min_records=50_000,
        remaining=len(existing) - 500,
    )
    assert known == few and len(counts) == counted_before  # already counted: no request
    one_page = await plan_ranges(
        start, ids_per_record=ids_per_record, count=count, parts=3, min_records=10, remaining=400
    )
    assert one_page == [[start, None]]


async def test_a_failing_range_stops_the_walk() -> None:
    async def fetch(after_id: int | None, up_to_id: int | None) -> list[dict[str, int]]:
        if after_id == 100:
            raise FatalError("boom")
        return [{"id": (after_id or 0) + n} for n in range(1, 3)]

    async def finish(lane: int, records: list[dict[str, int]]) -> list[dict[str, int]]:
        return records

    with pytest.raises(FatalError, match="boom"):
        _ = [page async for page in walk_ranges(fetch, finish, [[0, 50], [100, None]], page_size=2)]


async def test_refused_counts_leave_one_open_range() -> None:
    async def count(after_id: int, up_to_id: int | None) -> int:
        raise FatalError("Autotask answered 500 on POST Tickets/query/count: not supported")

    ranges = await plan_ranges(500, ids_per_record=1.0, count=count, parts=3, min_records=10)
    assert ranges == [[500, None]]
