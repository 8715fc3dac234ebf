"""A source checked every minute does not ask ConnectWise for its codebase and reference
tables (priorities, SLAs, work types...) every minute: they are kept between syncs for an
hour, then read again; a table ConnectWise would not serve is asked again next time."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
from cw_support import (
    CLIENT_ID,
    COMPANY,
    NOW,
    PRIVATE_KEY,
    PUBLIC_KEY,
    SleepRecorder,
    hand_world,
    simulator_for,
)

from connectors.connectwise import ConnectWiseConnector
from connectors.connectwise.config import ConnectWiseConfig
from connectors.connectwise.reference_cache import REFRESH_SECONDS, cache_for
from connectors.connectwise.simulator import ConnectWiseSimulator
from connectors.sdk import ConnectorContext, RetryPolicy, SourceHttpLimits

STREAMS = ("tickets", "time_entries")


def one_sync(simulator: ConnectWiseSimulator, limits: SourceHttpLimits) -> Counter[str]:
    """A sync's worth of reads by a connector built afresh, as the runner builds one; the
    requests it made, by route."""
    before = Counter(simulator.requests)
    config = ConnectWiseConfig(
        base_url="http://cw.test",
        company_id=COMPANY,
        public_key=PUBLIC_KEY,
        private_key=PRIVATE_KEY,
        client_id=CLIENT_ID,
    )
    context = ConnectorContext(transport=httpx.ASGITransport(app=simulator), limits=limits, now=NOW)
    connector = ConnectWiseConnector(config, context, sleep=SleepRecorder())

    async def run() -> None:
        await connector.prepare()
        for stream in STREAMS:
            async for _page in connector.read(stream, None):
                pass
        await connector.aclose()

    asyncio.run(run())
    return Counter(simulator.requests) - before


STREAM_ROUTES = {"GET /service/tickets", "GET /time/entries"}


def reference_routes(requests: Counter[str]) -> set[str]:
    return set(requests) - STREAM_ROUTES


def test_a_second_sync_within_the_hour_reads_only_its_streams() -> None:
    simulator = simulator_for(hand_world())
    limits = SourceHttpLimits(retry=RetryPolicy(base_delay=0.0))

    first = one_sync(simulator, limits)
    second = one_sync(simulator, limits)

    assert {"GET /login/companyinfo", "GET /service/priorities", "GET /service/SLAs"} <= set(first)
    assert set(second) == STREAM_ROUTES  # one request each, nothing else


def test_after_an_hour_the_reference_tables_are_read_again() -> None:
    simulator = simulator_for(hand_world())
    limits = SourceHttpLimits(retry=RetryPolicy(base_delay=0.0))
    first = one_sync(simulator, limits)
    kept = cache_for(limits.budget)
    start = kept.clock()
    kept.clock = lambda: start + REFRESH_SECONDS + 1  # an hour passes

    later = one_sync(simulator, limits)

    assert reference_routes(later) == reference_routes(first)
