"""The built-in Autotask simulator as a sandbox PSA (see `connectors.sdk.sandbox`).

The simulated zone lives at `{base_url}/ATServicesRest/`, and the source discovers it through
the simulator's own `zoneInformation`, as a real source would.
"""

from __future__ import annotations

from typing import Any

from connectors.autotask.simulator import AutotaskSimulator, create_autotask_simulator
from connectors.sandbox.model import SandboxWorld

# The simulator's own credentials: they open nothing but the simulator.
SANDBOX_CREDENTIALS = {
    "api_username": "api-northstar@sandbox.example",
    "secret": "sandbox-secret",
    "integration_code": "SANDBOXINTEGRATION",
}


class AutotaskSandbox:
    def create_app(self, world: SandboxWorld, base_url: str) -> AutotaskSimulator:
        return create_autotask_simulator(
            world,
            username=SANDBOX_CREDENTIALS["api_username"],
            secret=SANDBOX_CREDENTIALS["secret"],
            integration_code=SANDBOX_CREDENTIALS["integration_code"],
            zone_url=f"{base_url.rstrip('/')}/ATServicesRest/",
        )

    def source_config(self, base_url: str) -> dict[str, Any]:
        lookup = f"{base_url.rstrip('/')}/atservicesrest/v1.0/zoneInformation"
        return {"zone_lookup_url": lookup, **SANDBOX_CREDENTIALS}
