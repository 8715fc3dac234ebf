"""The built-in ConnectWise simulator as a sandbox PSA (see `connectors.sdk.sandbox`)."""

from __future__ import annotations

from typing import Any

from connectors.connectwise.simulator import create_connectwise_simulator
from connectors.sandbox.model import SandboxWorld

# The simulator's own credentials: they open nothing but the simulator.
SANDBOX_CREDENTIALS = {
    "company_id": "northwind",
    "public_key": "sim-public-key",
    "private_key": "sim-private-key",
    "client_id": "00000000-0000-4000-8000-00000000c11d",
}


class ConnectWiseSandbox:
    def create_app(self, world: SandboxWorld, base_url: str) -> Any:
        return create_connectwise_simulator(
            world,
            company_id=SANDBOX_CREDENTIALS["company_id"],
            public_key=SANDBOX_CREDENTIALS["public_key"],
            private_key=SANDBOX_CREDENTIALS["private_key"],
            client_id=SANDBOX_CREDENTIALS["client_id"],
        )

    def source_config(self, base_url: str) -> dict[str, Any]:
        return {"base_url": base_url, **SANDBOX_CREDENTIALS}
