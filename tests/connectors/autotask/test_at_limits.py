"""Thread limit, hourly threshold, request budget, and the waits they cause."""

from __future__ import annotations

import asyncio

import pytest
from at_support import FakeTime, connector_for, simulator_for

from connectors.autotask import AutotaskConnector
from connectors.autotask.simulator import THREAD_LIMIT_MESSAGE
from connectors.sandbox.model import SandboxWorld
from connectors.sandbox.world import build_world
from connectors.sdk import RequestBudget, SourceHttpLimits, TenantLimitReached

pytestmark = pytest.mark.anyio


async def test_parallel_reads_never_exceed_three_per_entity() -> None:
    world = build_world(seed=4, tickets=1500)
    simulator = simulator_for(world, latency=0.002)
    # No per-key limit from the runner: the connector's own gates must hold, also across
    # two connectors (two streams' runs) of the same source.
    limits = SourceHttpLimits(max_concurrency=50)
    connectors = [
        connector_for(simulator, limits=limits, backfill_split_min_records=1000) for _ in range(2)
    ]

    async def drain(connector: AutotaskConnector, stream: str) -> int:
        return sum([len(page.records) async for page in connector.read(stream, None)])

    streams = [*connectors[0].streams, "tickets", "time_entries", "survey_results"]
    await asyncio.gather(*(drain(connectors[i % 2], stream) for i, stream in enumerate(streams)))
    for connector in connectors:
        await connector.aclose()
    assert simulator.stats.thread_limit_rejections == {}
    assert max(simulator.stats.max_in_flight.values()) == 3
    assert all(count <= 3 for count in simulator.stats.max_in_flight.values())


@pytest.mark.parametrize("status", [429, 500])
async def test_thread_limit_errors_are_waited_out(world: SandboxWorld, status: int) -> None:
    simulator = simulator_for(world)
    simulator.inject(status, THREAD_LIMIT_MESSAGE.format(limit=3), entity="Companies", times=2)
    fake = FakeTime()
    connector = connector_for(simulator, sleep=fake.sleep)
    pages = [page async for page in connector.read("companies", None)]
    await connector.aclose()
    assert len(pages[0].records) == 3
    assert simulator.stats.requests["Companies"] == 3
    assert len(fake.sleeps) == 2


async def test_429_waits_as_long_as_retry_after_says(world: SandboxWorld) -> None:
    simulator = simulator_for(world)
    simulator.inject(429, "Too many requests", entity="Companies", retry_after=7)
    fake = FakeTime()
    connector = connector_for(simulator, sleep=fake.sleep)
    pages = [page async for page in connector.read("companies", None)]
    await connector.aclose()
    assert len(pages[0].records) == 3
    assert fake.sleeps == [7.0]


async def test_a_refusal_for_the_tenants_hourly_limit_stops_the_run_at_once(
    world: SandboxWorld,
) -> None:
    fake = FakeTime()
    simulator = simulator_for(world, hourly_retry_after=200)
    connector = connector_for(simulator, sleep=fake.sleep)
    await connector.check()  # the tenant calm when read...
    simulator.other_integrations_usage = 10_000  # ...then the others use up its hour
    with pytest.raises(TenantLimitReached, match="10,000 API requests per hour") as raised:
        _ = [page async for page in connector.read("tickets", None)]
    await connector.aclose()
    assert simulator.stats.hourly_rejections >= 1
    assert fake.sleeps == []  # not retried: retrying adds to the load every integration shares
    assert raised.value.retry_after == pytest.approx(200, abs=2)


async def test_a_tenant_at_its_threshold_stops_the_run_early(world: SandboxWorld) -> None:
    simulator = simulator_for(world, other_integrations_usage=9_999)
    connector = connector_for(simulator)  # the default budget: 2,500 an hour
    with pytest.raises(TenantLimitReached, match="looks again at"):
        _ = [page async for page in connector.read("tickets", None)]
    await connector.aclose()
    assert simulator.stats.total() == 1  # ThresholdInformation only: no hammering


async def test_budget_exhaustion_slows_the_sync_instead_of_exceeding() -> None:
    world = build_world(seed=2, tickets=1200)
    fake = FakeTime()
    simulator = simulator_for(world, clock=fake.clock)
    budget = RequestBudget(limit=5, window=3600.0, max_wait=10 * 3600.0, clock=fake.clock)
    limits = SourceHttpLimits(per_key_concurrency=3, budget=budget)
    connector = connector_for(simulator, limits=limits, sleep=fake.sleep)
    pages = [page async for page in connector.read("tickets", None)]
    await connector.aclose()
    assert sum(len(p.records) for p in pages) == len(simulator.table("Tickets").ids)
    requests = simulator.stats.total() + simulator.stats.zone_lookups
    assert requests > 5
    assert fake.now >= 3600.0 * ((requests - 1) // 5)  # at most 5 per rolling hour
    assert budget.waited_seconds == pytest.approx(fake.now)


async def test_the_tenants_usage_is_not_booked_as_the_sources_own(world: SandboxWorld) -> None:
    simulator = simulator_for(world, other_integrations_usage=9_990)
    config_limits = AutotaskConnector.http_limits(
        connector_for(simulator).config
    )  # 2,500 an hour by default
    connector = connector_for(simulator, limits=config_limits)
    await connector.check()  # a check reads the usage and says it, without refusing
    with pytest.raises(TenantLimitReached):
        _ = [page async for page in connector.read("tickets", None)]
    await connector.aclose()
    # Only the zone's lookup and the one reading were Northstar's: the others' 9,990 are
    # the tenant's state.
    assert config_limits.budget.remaining() == 2_500 - 2
    assert simulator.stats.requests["ThresholdInformation"] == 1


def test_http_limits_follow_the_config(world: SandboxWorld) -> None:
    config = connector_for(simulator_for(world), requests_per_hour=1_000).config
    limits = AutotaskConnector.http_limits(config)
    assert (limits.per_key_concurrency, limits.budget.limit) == (3, 1_000)


async def test_ticket_companies_are_remembered_per_source() -> None:
    world = build_world(seed=8, tickets=600)
    simulator = simulator_for(world)
    limits = AutotaskConnector.http_limits(connector_for(simulator).config)
    first = connector_for(simulator, limits=limits)
    _ = [page async for page in first.read("tickets", None)]
    await first.aclose()
    before = simulator.stats.requests["Tickets"]
    second = connector_for(simulator, limits=limits)  # the next run of the same source
    _ = [page async for page in second.read("time_entries", None)]
    await second.aclose()
    # Only tickets the tickets stream never saw (deleted, merged) are looked up.
    assert simulator.stats.requests["Tickets"] - before <= 4


async def test_tenant_usage_is_read_once_for_the_streams_of_a_sync(world: SandboxWorld) -> None:
    simulator = simulator_for(world)
    limits = AutotaskConnector.http_limits(connector_for(simulator).config)
    for stream in ("companies", "tickets", "time_entries"):  # a connector per stream run
        connector = connector_for(simulator, limits=limits)
        _ = [page async for page in connector.read(stream, None)]
        await connector.aclose()
    assert simulator.stats.requests["ThresholdInformation"] == 1
