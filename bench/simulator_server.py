"""Serve a PSA simulator over a sandbox world on 127.0.0.1, for benchmarks.

    .venv/bin/python bench/simulator_server.py --vendor connectwise --tickets 100000 \\
        --port 8765 --latency 0.05

`POST /__bench/mutate?fraction=0.01` changes the world as between two syncs and answers what
changed; `GET /__bench/requests` the simulator's request counts; `GET /__bench/world` what the
world holds that a request floor needs (ConnectWise: agreements with a recurring billing cycle,
and those still in force; Autotask: rows held per related entity).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import uvicorn

from connectors.autotask.simulator import create_autotask_simulator
from connectors.connectwise.sandbox import SANDBOX_CREDENTIALS
from connectors.connectwise.simulator import create_connectwise_simulator
from connectors.sandbox.model import CYCLE_MONTHS
from connectors.sandbox.world import build_world, mutate_world

Scope = dict[str, Any]

# Autotask entities the connector reads as related rows of another stream's pages.
RELATED_ENTITIES = (
    "ResourceDailyAvailabilities",
    "ServiceLevelAgreementResults",
    "ContractServiceUnits",
)


def world_counts(vendor: str, world: Any, simulator: Any) -> dict[str, int]:
    """What the world holds that a request floor counts."""
    if vendor == "autotask":
        return {entity: len(simulator.table(entity).rows) for entity in RELATED_ENTITIES}
    today = datetime.now(UTC).date()
    # Every sandbox billing cycle (monthly, quarterly, yearly) recurs.
    live = [a for a in world.agreements if not a.deleted and a.cycle in CYCLE_MONTHS]
    in_force = [
        a
        for a in live
        if (a.cancelled_on is None or a.cancelled_on > today)
        and (a.ends_on is None or a.ends_on >= today)
    ]
    return {"agreements_recurring": len(live), "agreements_in_force": len(in_force)}


def make_app(
    vendor: str, tickets: int, port: int, latency: float, timeline_path: str | None = None
) -> Any:
    world = build_world(tickets=tickets)
    base = f"http://127.0.0.1:{port}"
    if vendor == "connectwise":
        simulator: Any = create_connectwise_simulator(
            world,
            latency=latency,
            **SANDBOX_CREDENTIALS,  # type: ignore[arg-type]
        )
    else:
        simulator = create_autotask_simulator(
            world, zone_url=f"{base}/ATServicesRest/", latency=latency
        )
    seeds = iter(range(100, 10_000))

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/__bench/"):
            if scope["path"] == "/__bench/mutate":
                query = dict(
                    part.split("=", 1) for part in scope["query_string"].decode().split("&") if part
                )
                # Stamped now, as a real PSA would.
                summary = mutate_world(
                    world,
                    seed=next(seeds),
                    fraction=float(query["fraction"]),
                    at=datetime.now(UTC),
                )
                body: Any = {
                    k: (list(v) if isinstance(v, tuple) else str(v))
                    for k, v in asdict(summary).items()
                }
            elif scope["path"] == "/__bench/world":
                body = world_counts(vendor, world, simulator)
            else:
                # Requests answered so far, per API resource (ConnectWise: method and path;
                # Autotask: entity).
                stats = getattr(simulator, "stats", None)
                counts = dict(stats.requests if stats is not None else simulator.requests)
                if getattr(stats, "zone_lookups", 0):
                    counts["zoneInformation"] = stats.zone_lookups  # not counted as an entity
                rows = getattr(stats, "rows_served", {})
                body = {"requests": counts, "rows_served": dict(rows)}
            payload = json.dumps(body, default=str).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": payload})
            return
        began = time.perf_counter()
        await simulator(scope, receive, send)
        if timeline is not None and scope["type"] == "http":
            # A diagnostic: when each request was answered, to see what waits for what.
            timeline.write(f"{began:.4f} {time.perf_counter():.4f} {scope['path']}\n")

    timeline = open(timeline_path, "a", buffering=1) if timeline_path else None  # noqa: SIM115
    return app


def main() -> int:
    parser = argparse.ArgumentParser(description="Serve a PSA simulator for benchmarks.")
    parser.add_argument("--vendor", choices=["connectwise", "autotask"], required=True)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument(
        "--timeline", help="append each request's start, end (perf_counter) and path to this file"
    )
    args = parser.parse_args()
    app = make_app(args.vendor, args.tickets, args.port, args.latency, args.timeline)
    print("ready", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
