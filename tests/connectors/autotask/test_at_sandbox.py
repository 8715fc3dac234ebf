"""The simulator as a sandbox source: the app's demo serves it in-process."""

from __future__ import annotations

import httpx
import pytest

from connectors.autotask import AutotaskConfig, AutotaskConnector
from connectors.sandbox.world import build_world
from connectors.sdk import ConnectorContext
from connectors.sdk.sandbox import SandboxSupport

pytestmark = pytest.mark.anyio
BASE_URL = "http://world-7-600.sandbox.invalid"


async def test_a_sandbox_source_discovers_its_zone_and_reads() -> None:
    support = AutotaskConnector.sandbox
    assert isinstance(support, SandboxSupport)
    app = support.create_app(build_world(seed=7, tickets=600), BASE_URL)
    config = AutotaskConfig(**support.source_config(BASE_URL))
    context = ConnectorContext(
        transport=httpx.ASGITransport(app=app), limits=AutotaskConnector.http_limits(config)
    )
    connector = AutotaskConnector(config, context)
    await connector.check()
    pages = [page async for page in connector.read("tickets", None)]
    await connector.aclose()
    assert sum(len(page.records) for page in pages) > 500
    assert str(connector.api.client.base_url).startswith(BASE_URL)
