"""The shared connector contract, run against the simulator."""

from __future__ import annotations

from at_support import connector_for, simulator_for

from connectors.autotask import AutotaskConnector
from connectors.sandbox.world import build_world
from connectors.sdk.testing import ConnectorContractSuite

# More than 500 tickets and time entries: those streams span several pages.
_WORLD = build_world(seed=3, tickets=800)


class TestAutotaskContract(ConnectorContractSuite):
    def make_connector(self) -> AutotaskConnector:
        return connector_for(simulator_for(_WORLD))
