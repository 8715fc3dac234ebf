"""Sandbox sources: PSAs simulated in-process from a seeded world, for the demo and trials.

A sandbox source is an ordinary source whose URL host is
`world-{seed}-{tickets}[-{yyyymmdd}].sandbox.invalid` (`.invalid` can never resolve, so nothing
leaves the machine by mistake): a world of that seed and size covering the year before the
date (default: the year 2025). Any process that syncs it (API, scheduler, CLI) rebuilds the
same world and serves the connector's own simulator to it through an in-process transport.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import httpx

from app.ingest.registry import registry
from app.sources.models import Source
from connectors.sandbox.model import SandboxWorld
from connectors.sandbox.world import build_world
from connectors.sdk.sandbox import SandboxSupport

SANDBOX_HOST = re.compile(r"^world-(\d+)-(\d+)(?:-(\d{8}))?\.sandbox\.invalid$")
WorldKey = tuple[int, int, date | None]


def sandbox_base_url(seed: int, tickets: int, end: date | None = None) -> str:
    dated = f"-{end:%Y%m%d}" if end else ""
    return f"http://world-{seed}-{tickets}{dated}.sandbox.invalid"


@lru_cache(maxsize=4)
def sandbox_world(seed: int, tickets: int, end: date | None = None) -> SandboxWorld:
    if end is None:
        return build_world(seed=seed, tickets=tickets)
    start = (
        end.replace(year=end.year - 1)
        if (end.month, end.day) != (2, 29)
        else end - timedelta(days=365)
    )
    return build_world(seed=seed, tickets=tickets, start=start, end=end)


def sandbox_support(kind: str) -> SandboxSupport | None:
    cls = registry.get(kind)
    support = getattr(cls, "sandbox", None)
    return support if isinstance(support, SandboxSupport) else None


def _world_of(config: dict[str, Any]) -> WorldKey | None:
    for value in config.values():
        if isinstance(value, str) and "sandbox.invalid" in value:
            match = SANDBOX_HOST.match(httpx.URL(value).host)
            if match:
                end = datetime.strptime(match.group(3), "%Y%m%d").date() if match.group(3) else None
                return int(match.group(1)), int(match.group(2)), end
    return None


def sandbox_transport(source: Source) -> httpx.AsyncBaseTransport | None:
    """The simulator for a sandbox source, or None for a real PSA."""
    world = _world_of(source.config)
    support = sandbox_support(source.kind)
    if world is None or support is None:
        return None
    # A fresh app per sync: simulators keep per-run state (request counts, limits).
    app = support.create_app(sandbox_world(*world), sandbox_base_url(*world))
    return httpx.ASGITransport(app=app)
