"""Zone discovery, its cache and re-resolution, and header authentication."""

from __future__ import annotations

import httpx
import pytest
from at_support import SIM_CODE, SIM_SECRET, SIM_USER, FakeTime, connector_for, simulator_for

from connectors.sandbox.model import SandboxWorld
from connectors.sdk import AuthError, ConfigError

pytestmark = pytest.mark.anyio
ZONE_14 = "https://webservices14.autotask.net/ATServicesRest/"


async def test_zone_is_discovered_once_and_cached(world: SandboxWorld) -> None:
    simulator = simulator_for(world)
    first = connector_for(simulator)
    await first.check()
    await first.aclose()
    second = connector_for(simulator)
    await second.check()
    await second.aclose()
    assert simulator.stats.zone_lookups == 1
    assert str(second.api.client.base_url) == simulator.zone_url + "v1.0/"


async def test_zone_is_resolved_again_once_after_a_401(world: SandboxWorld) -> None:
    simulator = simulator_for(world)
    connector = connector_for(simulator)
    await connector.check()
    simulator.move_zone(ZONE_14)  # the tenant moved: the old host now answers 401
    pages = [page async for page in connector.read("companies", None)]
    await connector.aclose()
    assert [len(p.records) for p in pages] == [3]
    assert simulator.stats.zone_lookups == 2
    assert str(connector.api.client.base_url) == ZONE_14 + "v1.0/"


async def test_a_configured_zone_is_never_looked_up(world: SandboxWorld) -> None:
    simulator = simulator_for(world)
    connector = connector_for(simulator, zone_url=simulator.zone_url)
    await connector.check()
    await connector.aclose()
    assert simulator.stats.zone_lookups == 0


async def test_wrong_secret_is_an_auth_error_without_the_secret(world: SandboxWorld) -> None:
    simulator = simulator_for(world)
    connector = connector_for(simulator, secret="not-the-secret-9d2c")
    with pytest.raises(AuthError) as caught:
        await connector.check()
    await connector.aclose()
    assert "not-the-secret-9d2c" not in str(caught.value)
    assert SIM_CODE not in str(caught.value)
    assert simulator.stats.zone_lookups == 2  # one re-resolution, then it gives up


async def test_unknown_api_user_is_a_config_error(world: SandboxWorld) -> None:
    connector = connector_for(simulator_for(world), api_username="nobody@msp.example")
    with pytest.raises(ConfigError, match="Autotask"):
        await connector.check()
    await connector.aclose()


async def test_every_call_carries_the_three_headers_names_in_any_case(
    world: SandboxWorld,
) -> None:
    simulator = simulator_for(world)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=simulator), base_url=simulator.zone_url
    ) as client:
        lower = {"apiintegrationcode": SIM_CODE, "USERNAME": SIM_USER, "secret": SIM_SECRET}
        assert (await client.get("V1.0/ThresholdInformation", headers=lower)).status_code == 200
        missing = {"ApiIntegrationCode": SIM_CODE, "UserName": SIM_USER}
        refused = await client.get("v1.0/ThresholdInformation", headers=missing)
        assert refused.status_code == 401
        assert refused.json() == {"errors": ["Authentication failed for this user."]}
        lookup = await client.get(
            "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation",
            params={"user": SIM_USER},
        )
        assert lookup.json()["url"] == simulator.zone_url  # no auth needed


async def test_a_server_error_on_zone_lookup_is_retried(world: SandboxWorld) -> None:
    simulator = simulator_for(world)
    simulator.inject(500, "An unexpected error occurred on the server.", entity="zoneInformation")
    fake = FakeTime()
    connector = connector_for(simulator, sleep=fake.sleep)
    await connector.check()
    await connector.aclose()
    assert simulator.stats.zone_lookups == 2 and len(fake.sleeps) == 1
