"""Fixtures of the ConnectWise connector tests (helpers live in `cw_support`)."""

from __future__ import annotations

import pytest
from cw_support import CLIENT_ID, PRIVATE_KEY, ConnectorFactory, make_connector
from leak_guard import KNOWN_SECRETS

# The suite's last test checks that no known credential ever reached a log line.
KNOWN_SECRETS.update({PRIVATE_KEY, CLIENT_ID})


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def connector_for() -> ConnectorFactory:
    """connector_for(simulator, now=..., concurrency=..., sleep=..., **config) -> connector."""
    return make_connector
