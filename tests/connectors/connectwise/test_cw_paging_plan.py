"""How full passes are planned and paged: windows from the lowest and highest id, forward-only
paging where the PSA offers it (the classic way where not), and no request wasted."""

from __future__ import annotations

from math import ceil

import pytest
from cw_support import ConnectorFactory, shift_ids, simulator_for

from connectors.connectwise import ConnectWiseConnector
from connectors.connectwise.simulator import ConnectWiseSimulator, SimulatorBehaviour
from connectors.connectwise.simulator_catalog import SURVEY_QUESTIONS
from connectors.sandbox.model import SandboxWorld
from connectors.sandbox.world import build_world
from connectors.sdk import Page

TICKETS_FROM, ENTRIES_FROM = 184_001, 559_001


@pytest.fixture(scope="module")
def high_ids() -> SandboxWorld:
    """A long-lived tenant: ticket ids from 184,001, time entry ids from 559,001."""
    return shift_ids(
        build_world(seed=12, tickets=9000),
        tickets_from=TICKETS_FROM,
        time_entries_from=ENTRIES_FROM,
    )


async def read_pages(connector: ConnectWiseConnector, stream: str) -> list[Page]:
    return [page async for page in connector.read(stream, None)]


def record_ids(pages: list[Page]) -> list[int]:
    return [int(record["id"]) for page in pages for record in page.records]


def stream_requests(simulator: ConnectWiseSimulator, resource: str) -> list[dict[str, str]]:
    return [
        entry.params
        for entry in simulator.log
        if entry.resource.lower() == resource.lower() and entry.method == "GET"
    ]


@pytest.mark.anyio
async def test_ids_starting_at_184000_fill_every_window_and_are_read_in_parallel(
    connector_for: ConnectorFactory, high_ids: SandboxWorld
) -> None:
    simulator = simulator_for(high_ids, latency=0.001)
    connector = connector_for(simulator, concurrency=4)
    pages = await read_pages(connector, "tickets")
    await connector.aclose()
    live = sorted(t.id for t in high_ids.tickets if not t.deleted)
    assert sorted(record_ids(pages)) == live
    windows = pages[0].cursor["windows"]
    assert len(windows) == 4
    per_window = [
        sum(1 for ticket in live if low < ticket and (high is None or ticket <= high))
        for low, high in windows
    ]
    assert max(per_window) - min(per_window) <= 1000  # within a page of each other
    assert simulator.max_in_flight == 4
    # The first page (its Link says how many follow), then each window's pages (with a few
    # deleted ids, a window's last page may be short: at most one more per window).
    made = len(stream_requests(simulator, "/service/tickets"))
    assert ceil(len(live) / 1000) <= made <= ceil(len(live) / 1000) + 3


@pytest.mark.anyio
async def test_windows_are_read_forward_only_from_page_id(
    connector_for: ConnectorFactory, high_ids: SandboxWorld
) -> None:
    simulator = simulator_for(high_ids)
    connector = connector_for(simulator, concurrency=4)
    await read_pages(connector, "time_entries")
    await connector.aclose()
    first, *paged = [e for e in simulator.log if e.resource == "/time/entries"]
    # The first page the navigable way: its Link says how many pages follow, so no request
    # is needed to plan the windows.
    assert not first.forward_only and first.params["orderby"] == "id asc"
    assert all(entry.forward_only and "orderby" not in entry.params for entry in paged)
    assert all("page" not in entry.params and "pageid" in entry.params for entry in paged)
    entries = sum(1 for entry in high_ids.time_entries if not entry.deleted)
    assert 1 + len(paged) == ceil(entries / 1000)  # every page full but a window's last


@pytest.mark.anyio
async def test_without_a_link_one_request_for_the_highest_id_plans_the_windows(
    connector_for: ConnectorFactory, high_ids: SandboxWorld
) -> None:
    simulator = simulator_for(high_ids, behaviour=SimulatorBehaviour(navigable_link=False))
    connector = connector_for(simulator, concurrency=4)
    pages = await read_pages(connector, "tickets")
    await connector.aclose()
    live = sorted(t.id for t in high_ids.tickets if not t.deleted)
    assert sorted(record_ids(pages)) == live
    assert len(pages[0].cursor["windows"]) == 4
    reads = stream_requests(simulator, "/service/tickets")
    assert sum(1 for params in reads if params.get("orderby") == "id desc") == 1


@pytest.mark.anyio
async def test_a_collection_of_two_pages_needs_no_planning_request(
    connector_for: ConnectorFactory,
) -> None:
    world = build_world(seed=2, tickets=40)
    simulator = simulator_for(world)
    connector = connector_for(simulator, concurrency=4, page_size=25)
    pages = await read_pages(connector, "tickets")
    await connector.aclose()
    assert sorted(record_ids(pages)) == sorted(t.id for t in world.tickets if not t.deleted)
    assert simulator.requests["GET /service/tickets"] == 2


@pytest.mark.anyio
@pytest.mark.parametrize("support", ["ignored", "refused"])
async def test_a_psa_without_forward_only_is_read_the_classic_way(
    connector_for: ConnectorFactory, high_ids: SandboxWorld, support: str
) -> None:
    behaviour = SimulatorBehaviour(forward_only=support)  # type: ignore[arg-type]
    simulator = simulator_for(high_ids, behaviour=behaviour)
    connector = connector_for(simulator, concurrency=4)
    pages = await read_pages(connector, "tickets")
    await connector.aclose()
    ids = record_ids(pages)
    assert len(ids) == len(set(ids))
    assert set(ids) == {t.id for t in high_ids.tickets if not t.deleted}
    reads = stream_requests(simulator, "/service/tickets")
    classic = [params for params in reads if params.get("orderby") == "id asc"]
    assert classic and all(
        params["page"] == "1" and "id >" in params["conditions"] for params in classic
    )
    floor = ceil(len(ids) / 1000)
    # A refusal costs its one request; ignoring it costs none (the page was usable).
    assert len(reads) <= floor + 1 + (1 if support == "refused" else 0) + 3


@pytest.mark.anyio
async def test_forward_only_can_be_turned_off(
    connector_for: ConnectorFactory, high_ids: SandboxWorld
) -> None:
    simulator = simulator_for(high_ids)
    connector = connector_for(simulator, concurrency=1, forward_only_paging=False)
    await read_pages(connector, "tickets")
    await connector.aclose()
    assert not any(entry.forward_only for entry in simulator.log)


@pytest.mark.anyio
async def test_a_first_sync_makes_no_wasted_requests(
    connector_for: ConnectorFactory, high_ids: SandboxWorld
) -> None:
    simulator = simulator_for(high_ids)
    connector = connector_for(simulator, concurrency=4)
    streams = ["companies", "members", "tickets", "time_entries", "agreements", "survey_results"]
    for stream in streams:
        await read_pages(connector, stream)
    await connector.aclose()

    def pages_of(count: int) -> int:
        return max(1, ceil(count / 1000))

    tickets = sum(1 for t in high_ids.tickets if not t.deleted)
    entries = sum(1 for e in high_ids.time_entries if not e.deleted)
    answered = sum(1 for r in high_ids.survey_results if r.rating is not None)
    agreements = [a for a in high_ids.agreements if not a.deleted]
    big = 0  # the first page's Link says how many follow: no request plans the windows
    floor = {
        "/company/companies": 1 + 1,  # the stream, and the MSP's own company for time entries
        "/company/companies/statuses": 1,
        "/system/members": 1,
        "/service/tickets": pages_of(tickets) + big,
        "/service/priorities": 1,
        "/service/SLAs": 1,
        "/service/SLAs/{id}/priorities": len(high_ids.slas),
        "/time/entries": pages_of(entries) + big,
        "/time/workTypes": 1,
        "/finance/agreements": pages_of(len(agreements)),
        "/finance/billingCycles": 1,
        "/finance/agreements/{id}/additions": len(agreements),  # all of them recur here
        "/service/surveys": 1,
        "/service/surveys/{id}/questions": 1,
        "/service/surveys/{id}/results": pages_of(answered),
    }
    made: dict[str, int] = {}
    for entry in simulator.log:
        made[entry.resource] = made.get(entry.resource, 0) + 1
    windowed = ("/service/tickets", "/time/entries")
    assert {k: v for k, v in made.items() if k not in windowed} == {
        k: v for k, v in floor.items() if k not in windowed
    }
    for resource in windowed:  # each of 4 windows' last page may be short
        assert floor[resource] <= made[resource] <= floor[resource] + 3
    assert simulator.requests["GET /login/companyinfo"] == 1
    assert len(SURVEY_QUESTIONS) == 2  # one survey, read once


@pytest.mark.anyio
async def test_a_last_forward_only_page_without_a_link_still_ends_the_window(
    connector_for: ConnectorFactory, high_ids: SandboxWorld
) -> None:
    # Unconfirmed whether the last page sends an empty Link or none (reference §3).
    behaviour = SimulatorBehaviour(forward_only_last_link="omit")
    simulator = simulator_for(high_ids, behaviour=behaviour)
    connector = connector_for(simulator, concurrency=4)
    pages = await read_pages(connector, "time_entries")
    await connector.aclose()
    ids = record_ids(pages)
    assert len(ids) == len(set(ids))
    assert set(ids) == {entry.id for entry in high_ids.time_entries if not entry.deleted}
    reads = [entry for entry in simulator.log if entry.resource == "/time/entries"]
    assert all(entry.forward_only for entry in reads[2:])
    # Without the empty Link, a window whose last page is full asks once more to see the end.
    assert len(reads) <= ceil(len(ids) / 1000) + 1 + 4
