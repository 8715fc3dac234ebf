"""The built-in Autotask simulator: a fake Autotask PSA REST API over a sandbox world.

Modules: `app` (the ASGI app, auth, limits, switches), `responses` (query answers, paging,
record shapes), `query` (filters over rows), `render` (the world in Autotask's entities),
`render_logs` (the deletion logs), `schema` (entities, fields, picklists), `webhooks` (the
webhook entities and the signed deliveries of a world mutation).
"""

from connectors.autotask.simulator.app import (
    DEFAULT_ZONE_URL,
    THREAD_LIMIT_MESSAGE,
    AutotaskSimulator,
    Fault,
    SimulatorStats,
    create_autotask_simulator,
)
from connectors.autotask.simulator.responses import ABSENT

__all__ = [
    "ABSENT",
    "DEFAULT_ZONE_URL",
    "THREAD_LIMIT_MESSAGE",
    "AutotaskSimulator",
    "Fault",
    "SimulatorStats",
    "create_autotask_simulator",
]
