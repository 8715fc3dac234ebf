"""Reading through the simulator: auth, codebase, paging, incremental passes, sweeps, errors."""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from math import ceil
from urllib.parse import unquote_plus

import httpx
import pytest
from cw_support import (
    CLIENT_ID,
    COMPANY,
    PRIVATE_KEY,
    PUBLIC_KEY,
    ConnectorFactory,
    SleepRecorder,
    hand_world,
    shift_ids,
    simulator_for,
)

from connectors.connectwise import ConnectWiseConnector
from connectors.connectwise.simulator import SimulatorBehaviour, SimulatorFaults
from connectors.sandbox.model import SandboxWorld
from connectors.sandbox.world import build_world, mutate_world
from connectors.sdk import AuthError, ConfigError, Cursor, Page, TransientError


async def read_pages(
    connector: ConnectWiseConnector, stream: str, cursor: Cursor | None = None
) -> list[Page]:
    return [page async for page in connector.read(stream, cursor)]


def record_ids(pages: list[Page]) -> list[int]:
    return [int(record["id"]) for page in pages for record in page.records]


def live_ticket_ids(world: SandboxWorld) -> set[int]:
    return {ticket.id for ticket in world.tickets if not ticket.deleted}


UPGRADED_ONLY = SimulatorBehaviour(accept_release_codebase=False)


@pytest.fixture(scope="module")
def small_world() -> SandboxWorld:
    return build_world(seed=11, tickets=2500)


@pytest.mark.anyio
async def test_every_call_carries_basic_auth_client_id_and_pinned_version(
    connector_for: ConnectorFactory,
) -> None:
    simulator = simulator_for(hand_world())
    connector = connector_for(simulator, api_version="2024.1")
    await connector.check()
    await connector.aclose()
    headers = simulator.last_headers
    token = base64.b64encode(f"{COMPANY}+{PUBLIC_KEY}:{PRIVATE_KEY}".encode()).decode()
    assert headers["authorization"] == f"Basic {token}"
    assert headers["clientid"] == CLIENT_ID
    assert "application/vnd.connectwise.com+json; version=2024.1" in headers["accept"]


@pytest.mark.anyio
async def test_codebase_is_discovered_once_from_companyinfo(
    connector_for: ConnectorFactory,
) -> None:
    simulator = simulator_for(
        hand_world(),
        codebase="v2025_1",
        behaviour=SimulatorBehaviour(accept_release_codebase=False),
    )
    connector = connector_for(simulator)
    await connector.check()
    await read_pages(connector, "tickets")
    await connector.aclose()
    assert simulator.requests["GET /login/companyinfo"] == 1
    assert simulator.requests["GET /system/info"] == 1
    login_headers = simulator.headers_by_path["GET /login/companyinfo"]
    assert "authorization" not in login_headers and "clientid" not in login_headers
    assert "authorization" in simulator.headers_by_path["GET /service/tickets"]


@pytest.mark.anyio
async def test_codebase_is_rediscovered_after_a_404(connector_for: ConnectorFactory) -> None:
    simulator = simulator_for(
        hand_world(),
        codebase="v2025_1",
        behaviour=SimulatorBehaviour(accept_release_codebase=False),
    )
    connector = connector_for(simulator, codebase="v2024_1")  # the tenant has been upgraded
    pages = await read_pages(connector, "tickets")
    await connector.aclose()
    assert record_ids(pages) == [1, 2, 3, 4, 5, 6]
    assert simulator.requests["GET /login/companyinfo"] == 1


@pytest.mark.anyio
async def test_unknown_company_is_a_config_error(connector_for: ConnectorFactory) -> None:
    connector = connector_for(simulator_for(hand_world()), company_id="nosuchco")
    with pytest.raises(ConfigError, match="does not know the company id 'nosuchco'"):
        await connector.check()
    await connector.aclose()


@pytest.mark.anyio
async def test_refused_credentials_raise_auth_error_with_vendor_message(
    connector_for: ConnectorFactory,
) -> None:
    simulator = simulator_for(hand_world(), fail=SimulatorFaults(refuse_credentials=True))
    connector = connector_for(simulator)
    with pytest.raises(AuthError) as raised:
        await connector.check()
    await connector.aclose()
    assert "401" in raised.value.message and "UserNotAuthenticated" in raised.value.message
    assert PRIVATE_KEY not in str(raised.value) and CLIENT_ID not in str(raised.value)


@pytest.mark.anyio
async def test_missing_client_id_can_be_a_403(connector_for: ConnectorFactory) -> None:
    simulator = simulator_for(
        hand_world(),
        client_id="another-integration",
        behaviour=SimulatorBehaviour(missing_client_id_status=403),
    )
    connector = connector_for(simulator)
    with pytest.raises(AuthError, match=r"403.*clientId"):
        await connector.check()
    await connector.aclose()


@pytest.mark.anyio
async def test_full_read_pages_to_the_last_record_in_parallel_windows(
    connector_for: ConnectorFactory, small_world: SandboxWorld
) -> None:
    simulator = simulator_for(small_world)
    connector = connector_for(simulator, concurrency=3)
    pages = await read_pages(connector, "tickets")
    await connector.aclose()
    ids = record_ids(pages)
    assert len(ids) == len(set(ids))
    assert set(ids) == live_ticket_ids(small_world)
    newest = max(t.updated_at for t in small_world.tickets if not t.deleted)
    assert pages[-1].cursor == {"watermark": newest.isoformat()}
    # The first page, 1 request for the highest id, then one page per window per 1,000
    # records (3 windows, the last page of each may be short).
    assert simulator.requests["GET /service/tickets"] <= 1 + ceil(len(ids) / 1000) + 3


@pytest.mark.anyio
async def test_paging_has_no_gaps_or_repeats_while_records_change(
    connector_for: ConnectorFactory,
) -> None:
    world = build_world(seed=5, tickets=3000)
    before = live_ticket_ids(world)
    connector = connector_for(simulator_for(world), concurrency=1, page_size=500)
    ids: list[int] = []
    mutations = 0
    async for page in connector.read("tickets", None):
        ids.extend(int(record["id"]) for record in page.records)
        mutations += 1
        mutate_world(world, seed=mutations, fraction=0.02)  # changes between every two pages
    await connector.aclose()
    after = live_ticket_ids(world)
    assert len(ids) == len(set(ids)), "keyset paging repeats nothing"
    assert before & after <= set(ids), "every record alive throughout was read"


@pytest.mark.anyio
async def test_resuming_mid_pass_neither_skips_nor_repeats(
    connector_for: ConnectorFactory, small_world: SandboxWorld
) -> None:
    connector = connector_for(simulator_for(small_world), concurrency=3, page_size=250)
    pages = await read_pages(connector, "tickets")
    for stop in (0, 3, len(pages) // 2):
        resumed = await read_pages(connector, "tickets", pages[stop].cursor)
        done = record_ids(pages[: stop + 1])
        rest = record_ids(resumed)
        assert not set(done) & set(rest)
        assert sorted(done + rest) == sorted(record_ids(pages))
    await connector.aclose()


@pytest.mark.anyio
async def test_incremental_pass_picks_up_changed_records_only(
    connector_for: ConnectorFactory,
) -> None:
    world = build_world(seed=3, tickets=3000)
    first = connector_for(simulator_for(world), now=world.generated_at)
    cursor = (await read_pages(first, "tickets"))[-1].cursor
    await first.aclose()
    # The PSA's time: its newest change stamp (earlier than its clock at the pass's start).
    newest = max(t.updated_at for t in world.tickets if not t.deleted)
    assert cursor == {"watermark": newest.isoformat()}

    summary = mutate_world(world, seed=1, fraction=0.01)
    simulator = simulator_for(world)
    second = connector_for(simulator, now=summary.at + timedelta(minutes=1))
    pages = await read_pages(second, "tickets", cursor)
    await second.aclose()

    since = newest - timedelta(minutes=5)  # previous watermark - lookback
    expected = {t.id for t in world.tickets if not t.deleted and t.updated_at >= since}
    changed = set(summary.tickets_updated + summary.tickets_added + summary.tickets_merged)
    assert changed <= expected and len(expected - changed) <= 3
    assert set(record_ids(pages)) == expected
    assert simulator.requests["GET /service/tickets"] == ceil(len(expected) / 1000)
    assert pages[-1].cursor == {"watermark": summary.at.isoformat()}


@pytest.mark.anyio
async def test_id_sweep_lists_what_still_exists(connector_for: ConnectorFactory) -> None:
    world = build_world(seed=4, tickets=1500)
    summary = mutate_world(world, seed=2)
    simulator = simulator_for(world)
    connector = connector_for(simulator)
    ticket_pages = await read_pages(connector, "tickets_sweep")
    time_pages = await read_pages(connector, "time_entries_sweep")
    await connector.aclose()
    seen_tickets = {int(i) for page in ticket_pages for i in page.seen_ids}
    seen_time = {int(i) for page in time_pages for i in page.seen_ids}
    assert all(not page.records for page in ticket_pages)
    assert seen_tickets == live_ticket_ids(world)
    assert not seen_tickets & set(summary.tickets_deleted)
    assert not seen_time & set(summary.time_entries_deleted)
    assert seen_time == {entry.id for entry in world.time_entries if not entry.deleted}


@pytest.mark.anyio
async def test_429_waits_for_retry_after(connector_for: ConnectorFactory) -> None:
    simulator = simulator_for(
        hand_world(), fail=SimulatorFaults(rate_limit_every=3, retry_after_seconds=7)
    )
    sleep = SleepRecorder()
    connector = connector_for(simulator, sleep=sleep)
    pages = await read_pages(connector, "tickets")
    await connector.aclose()
    assert record_ids(pages) == [1, 2, 3, 4, 5, 6]
    assert sleep.waits and set(sleep.waits) == {7.0}


@pytest.mark.anyio
async def test_500_timeout_is_retried_with_smaller_pages(
    connector_for: ConnectorFactory, small_world: SandboxWorld
) -> None:
    simulator = simulator_for(small_world, fail=SimulatorFaults(timeout_above_page_size=300))
    connector = connector_for(simulator, concurrency=1)
    pages = await read_pages(connector, "tickets")
    await connector.aclose()
    assert set(record_ids(pages)) == live_ticket_ids(small_world)
    assert max(len(page.records) for page in pages) == 250  # 1000 -> 500 -> 250


@pytest.mark.anyio
async def test_timeouts_even_at_the_smallest_page_are_transient(
    connector_for: ConnectorFactory,
) -> None:
    simulator = simulator_for(hand_world(), fail=SimulatorFaults(timeout_above_page_size=1))
    connector = connector_for(simulator)
    with pytest.raises(TransientError, match="timed out"):
        await read_pages(connector, "tickets")
    await connector.aclose()


@pytest.mark.anyio
async def test_junk_json_and_5xx_are_retried(connector_for: ConnectorFactory) -> None:
    simulator = simulator_for(
        hand_world(), fail=SimulatorFaults(junk_json_every=4, server_error_every=5)
    )
    connector = connector_for(simulator)
    pages = await read_pages(connector, "tickets")
    agreements = await read_pages(connector, "agreements")
    await connector.aclose()
    assert record_ids(pages) == [1, 2, 3, 4, 5, 6]
    assert record_ids(agreements) == [1, 2]


@pytest.mark.anyio
async def test_long_conditions_go_through_post_search(connector_for: ConnectorFactory) -> None:
    from connectors.connectwise.reference import read_collection

    simulator = simulator_for(hand_world())
    connector = connector_for(simulator)
    ids = " or ".join(f"id = {number}" for number in range(1, 400))
    rows = await read_collection(connector.api, "/service/tickets", fields="id", conditions=ids)
    await connector.aclose()
    assert [row["id"] for row in rows] == [1, 2, 3, 4, 5, 6]
    assert simulator.requests["POST /service/tickets/search"] == 1


@pytest.mark.anyio
async def test_survey_results_fall_back_when_last_updated_is_refused(
    connector_for: ConnectorFactory,
) -> None:
    simulator = simulator_for(hand_world())
    connector = connector_for(simulator)
    original = simulator.handle

    def refuse_filter(method: str, path: str, query: str, headers: dict[str, str], body: bytes):  # type: ignore[no-untyped-def]
        if "/results" in path and "lastUpdated >=" in unquote_plus(query):
            from connectors.connectwise.simulator_paging import error_response

            return error_response(400, "InvalidObject", "lastUpdated is not a valid field.")
        return original(method, path, query, headers, body)

    simulator.handle = refuse_filter  # type: ignore[method-assign]
    pages = await read_pages(
        connector, "survey_results", {"watermark": "2025-01-01T00:00:00+00:00"}
    )
    await connector.aclose()
    assert record_ids(pages) == [1]


@pytest.mark.anyio
async def test_survey_results_resume_mid_survey(
    connector_for: ConnectorFactory, small_world: SandboxWorld
) -> None:
    connector = connector_for(simulator_for(small_world), page_size=25)
    pages = await read_pages(connector, "survey_results")
    assert len(pages) > 3
    middle = len(pages) // 2
    resumed = await read_pages(connector, "survey_results", pages[middle].cursor)
    await connector.aclose()
    assert record_ids(pages[middle + 1 :]) == record_ids(resumed)
    answered = {r.id for r in small_world.survey_results if r.rating is not None}
    assert set(record_ids(pages)) == answered


@pytest.mark.anyio
async def test_stopping_a_parallel_read_early_cancels_its_window_readers(
    connector_for: ConnectorFactory, small_world: SandboxWorld
) -> None:
    connector = connector_for(simulator_for(small_world), concurrency=4, page_size=100)
    stream = connector.read("time_entries", None)
    first = await anext(stream)
    await stream.aclose()  # type: ignore[attr-defined]
    assert first.records and "windows" in first.cursor
    await connector.aclose()


@pytest.mark.anyio
async def test_a_host_that_is_not_connectwise_is_a_config_error() -> None:
    from connectors.connectwise import ConnectWiseConfig
    from connectors.sdk import ConnectorContext

    def login_page(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>Welcome to our intranet</html>")

    connector = ConnectWiseConnector(
        ConnectWiseConfig(
            site="intranet.example.com",
            company_id=COMPANY,
            public_key=PUBLIC_KEY,
            private_key=PRIVATE_KEY,
            client_id=CLIENT_ID,
        ),
        ConnectorContext(transport=httpx.MockTransport(login_page)),
    )
    with pytest.raises(ConfigError, match="does not look like a ConnectWise PSA server"):
        await connector.check()
    await connector.aclose()


@pytest.mark.anyio
async def test_an_id_sweep_asked_for_a_slice_lists_exactly_its_ids(
    connector_for: ConnectorFactory,
) -> None:
    """A rolling sweep's slice, `{"id_range": [low, high]}`: every request's conditions stay
    within `id > low - 1 and id <= high - 1`, and a slice of several pages is still split
    into windows read side by side; either end may be open."""
    world = shift_ids(
        build_world(seed=4, tickets=2000), tickets_from=184_001, time_entries_from=559_001
    )
    live = sorted(entry.id for entry in world.time_entries if not entry.deleted)
    low, high = live[500], live[4700]

    async def sweep(id_range: list[int | None]) -> tuple[list[int], list[tuple[int, int]]]:
        simulator = simulator_for(world)
        connector = connector_for(simulator)
        pages = await read_pages(connector, "time_entries_sweep", {"id_range": id_range})
        await connector.aclose()
        bounds = []  # (lower, upper) of each request: `id >` or its pageId, and `id <=`
        for logged in simulator.log:
            if logged.resource == "/time/entries":
                condition = unquote_plus(logged.params.get("conditions", ""))
                above = re.search(r"id > (\d+)", condition)
                upto = re.search(r"id <= (\d+)", condition)
                lower = int(above.group(1) if above else logged.params.get("pageid", "0"))
                bounds.append((lower, int(upto.group(1)) if upto else 10**9))
        return [int(i) for page in pages for i in page.seen_ids], bounds

    listed, bounds = await sweep([low, high])
    assert sorted(listed) == [i for i in live if low <= i < high]
    assert len(listed) == len(set(listed))
    assert len(bounds) >= 5  # 4,200 ids: five pages of 1,000, in windows
    assert all(low - 1 <= lower and upper <= high - 1 for lower, upper in bounds), bounds
    below, _ = await sweep([None, live[40]])
    above, _ = await sweep([live[-40], None])
    assert (sorted(below), sorted(above)) == (live[:40], live[-40:])
