"""ConnectWise's "timeout" 500s: the same request is asked again first, a page shrinks only
when the same request keeps timing out, and grows back once pages succeed again."""

from __future__ import annotations

import pytest
from cw_support import ConnectorFactory, SleepRecorder, simulator_for

from connectors.connectwise import ConnectWiseConnector
from connectors.connectwise.simulator import (
    ConnectWiseSimulator,
    SimulatorBehaviour,
    SimulatorFaults,
)
from connectors.sandbox.model import SandboxWorld
from connectors.sandbox.world import build_world
from connectors.sdk import Page

ENTRIES = "/time/entries"


@pytest.fixture(scope="module")
def world() -> SandboxWorld:
    return build_world(seed=13, tickets=5000)  # 15,000 time entries: 15 pages of 1,000


async def read_entries(connector: ConnectWiseConnector) -> list[Page]:
    pages = [page async for page in connector.read("time_entries", None)]
    await connector.aclose()
    return pages


def live_entries(world: SandboxWorld) -> set[int]:
    return {entry.id for entry in world.time_entries if not entry.deleted}


async def requests_with(
    connector_for: ConnectorFactory,
    world: SandboxWorld,
    timeouts: set[int],
    behaviour: SimulatorBehaviour | None = None,
    **options: object,
) -> tuple[ConnectWiseSimulator, list[Page]]:
    simulator = simulator_for(
        world, fail=SimulatorFaults(timeouts={ENTRIES: timeouts}), behaviour=behaviour
    )
    pages = await read_entries(connector_for(simulator, **options))
    return simulator, pages


@pytest.mark.anyio
@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize(
    ("timeouts", "repeats"),
    [({1, 2, 3, 4, 5, 6}, 3), ({3, 5, 8, 11, 13, 16}, 6)],
    ids=["in a row", "scattered"],
)
async def test_six_timeouts_cost_a_handful_of_requests_and_the_stream_succeeds(
    connector_for: ConnectorFactory,
    world: SandboxWorld,
    timeouts: set[int],
    repeats: int,
    concurrency: int,
) -> None:
    clean, _ = await requests_with(connector_for, world, set(), concurrency=concurrency)
    sleep = SleepRecorder()
    simulator, pages = await requests_with(
        connector_for, world, timeouts, concurrency=concurrency, sleep=sleep
    )
    ids = [int(record["id"]) for page in pages for record in page.records]
    assert sorted(ids) == sorted(live_entries(world))
    extra = simulator.requests_to(ENTRIES) - clean.requests_to(ENTRIES)
    assert 6 <= extra <= 12
    # Each repeat of the same request waited for the source's backoff first (in a row, the
    # second timeout of each size shrinks the page instead: 1000, 500, 250 -> 125).
    assert len(sleep.waits) == repeats


@pytest.mark.anyio
async def test_a_timeout_asked_again_keeps_the_page_size(
    connector_for: ConnectorFactory, world: SandboxWorld
) -> None:
    simulator, pages = await requests_with(connector_for, world, {1}, concurrency=1)
    assert [len(page.records) for page in pages[:-1]] == [1000] * (len(pages) - 1)
    assert simulator.requests_to(ENTRIES) == 16  # 15 pages, one asked twice


@pytest.mark.anyio
async def test_the_page_grows_back_after_the_timeouts_stop(
    connector_for: ConnectorFactory, world: SandboxWorld
) -> None:
    _, pages = await requests_with(connector_for, world, {1, 2, 3, 4}, concurrency=1)
    sizes = [len(page.records) for page in pages]
    assert sizes[:2] == [250, 250]  # 1000 and 500 timed out twice each
    assert sizes[2:4] == [500, 500]
    assert set(sizes[4:-1]) == {1000}


@pytest.mark.anyio
@pytest.mark.parametrize("timeouts", [{2}, {2, 3}], ids=["once", "repeatedly"])
async def test_a_timeout_on_the_planning_query_is_no_internal_error(
    connector_for: ConnectorFactory, world: SandboxWorld, timeouts: set[int]
) -> None:
    # Without a `Link` on the first page, request 2 is the `orderBy=id desc` query for the
    # highest id, which plans the windows.
    no_link = SimulatorBehaviour(navigable_link=False)
    simulator, pages = await requests_with(connector_for, world, timeouts, no_link, concurrency=4)
    ids = [int(record["id"]) for page in pages for record in page.records]
    assert sorted(ids) == sorted(live_entries(world))
    planning = [e for e in simulator.log if e.params.get("orderby") == "id desc"]
    assert len(planning) == len(timeouts) + (1 if timeouts == {2} else 0)
