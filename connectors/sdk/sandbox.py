"""Built-in PSA simulators, exposed to the app without importing a vendor package.

A connector that ships a simulator sets the class attribute `sandbox` to an object with this
shape; the app finds it through the connector registry and serves the simulator in-process
(an ASGI app behind an httpx transport) for sources whose URLs point at a sandbox host.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class SandboxSupport(Protocol):
    def create_app(self, world: Any, base_url: str) -> Any:
        """An ASGI app rendering `world` (a `connectors.sandbox.model.SandboxWorld`), as
        served at `base_url`."""

    def source_config(self, base_url: str) -> dict[str, Any]:
        """Settings for a source of this kind that reads the simulator at `base_url`
        (credentials included: they are the simulator's own)."""
