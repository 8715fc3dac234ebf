"""An active source over a built-in simulator of a world of its own, in-process.

For tests that change the PSA between syncs (`mutate_world`, `apply_change`): the world is
built here, not taken from the sandbox cache other tests share, and the simulator keeps its
state (registrations, faults, request counts) from sync to sync.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from app.api.context import ServiceContext
from app.db import Database
from app.ingest.sandbox import sandbox_base_url, sandbox_support
from app.security.crypto import cipher_from_settings
from app.settings import Settings
from app.sources.models import SourceStatus
from app.sources.service import create_source
from connectors.sandbox.model import SandboxWorld
from connectors.sandbox.world import build_world


@dataclass
class SimulatedSource:
    context: ServiceContext
    simulator: Any
    world: SandboxWorld
    source_id: int


def simulated_source(
    settings: Settings,
    db: Database,
    kind: str,
    *,
    seed: int,
    tickets: int,
    world: SandboxWorld | None = None,
    name: str | None = None,
) -> SimulatedSource:
    """An active `kind` source (fast every 5 minutes, slow hourly) over the simulator."""
    world = world or build_world(seed=seed, tickets=tickets)
    base = sandbox_base_url(seed, tickets)
    support = sandbox_support(kind)
    assert support is not None
    simulator = support.create_app(world, base)
    transport = httpx.ASGITransport(app=simulator)
    context = ServiceContext.build(settings, db=db, transports=lambda _source: transport)
    with db.session() as session:
        source = create_source(
            session,
            cipher_from_settings(settings),
            name=name or f"{kind} simulated",
            kind=kind,
            config=support.source_config(base),
            fast_interval_minutes=5,
            slow_interval_minutes=60,
        )
        source.status = SourceStatus.ACTIVE
        session.flush()
        source_id = source.id
    return SimulatedSource(context, simulator, world, source_id)
