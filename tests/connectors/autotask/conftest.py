"""Fixtures for the Autotask connector tests (helpers live in `at_support`)."""

from __future__ import annotations

import pytest
from at_support import tiny_world

from connectors.autotask.zone import AutotaskZoneResolver
from connectors.sandbox.model import SandboxWorld


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _fresh_zone_cache() -> None:
    AutotaskZoneResolver._cache.clear()


@pytest.fixture
def world() -> SandboxWorld:
    return tiny_world()
