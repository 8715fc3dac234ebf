"""The SDK's shared connector contract, run against the ConnectWise simulator."""

from __future__ import annotations

from cw_support import make_connector, simulator_for

from connectors.connectwise import ConnectWiseConnector
from connectors.sandbox.world import build_world
from connectors.sdk.testing import ConnectorContractSuite

# 2,400 tickets and 7,200 time entries: several pages of 1,000, read in parallel windows.
WORLD = build_world(seed=21, tickets=2400)


class TestConnectWiseContract(ConnectorContractSuite):
    def make_connector(self) -> ConnectWiseConnector:
        return make_connector(simulator_for(WORLD), now=WORLD.generated_at)
