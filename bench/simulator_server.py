"""Serve a PSA simulator over a sandbox world on 127.0.0.1, for benchmarks.

    .venv/bin/python bench/simulator_server.py --vendor connectwise --tickets 100000 \\
        --port 8765 --latency 0.05

`POST /__bench/mutate?fraction=0.01` changes the world as between two syncs and answers what
changed; `POST /__bench/change?kind=update|close|reopen|new|time` makes one change, stamped
now, as a PSA user would (`connectors/sandbox/single_change.py`), and answers which record
it changed and which KPI value must move (with `dry_run=1` only the plan, kept under its
`plan` id, which `POST /__bench/change?plan=<id>` then applies; `avoid=1,2` keeps clients
out of the pick; `seed=` makes the pick repeatable). After a change, a simulator that can
deliver callbacks or webhooks (`announce`) is asked to; `GET /__bench/requests` the
simulator's request counts; `GET /__bench/world` what the
world holds that a request floor needs (ConnectWise: agreements with a recurring billing cycle,
and those still in force; Autotask: rows held per related entity).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from random import Random
from typing import Any
from urllib.parse import parse_qsl

import uvicorn

from connectors.autotask.simulator import create_autotask_simulator
from connectors.connectwise.sandbox import SANDBOX_CREDENTIALS
from connectors.connectwise.simulator import create_connectwise_simulator
from connectors.sandbox.model import CYCLE_MONTHS
from connectors.sandbox.mutate import MutationSummary
from connectors.sandbox.single_change import ChangePlan, NoCandidate, apply_change, plan_change
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


def summary_json(summary: MutationSummary) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else str(v)) for k, v in asdict(summary).items()}


class Changes:
    """`/__bench/change`: single changes, planned and applied, then announced."""

    def __init__(self, world: Any, simulator: Any) -> None:
        self.world, self.simulator = world, simulator
        self.plans: dict[int, ChangePlan] = {}
        self._plan_ids = itertools.count(1)
        self.announce_failures = 0
        self.announced = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def handle(self, query: dict[str, str]) -> tuple[int, Any]:
        try:
            if "plan" in query:
                plan = self.plans.pop(int(query["plan"]))
            else:
                avoid = {int(c) for c in query.get("avoid", "").split(",") if c}
                rng = Random(query.get("seed", str(time.time_ns())))
                plan = plan_change(self.world, query.get("kind", ""), rng, avoid)
                if query.get("dry_run") == "1":
                    plan_id = next(self._plan_ids)
                    self.plans[plan_id] = plan
                    return 200, {"plan": plan_id, **asdict(plan)}
            # Stamped now, as a real PSA would.
            summary = apply_change(self.world, plan, datetime.now(UTC))
        except (NoCandidate, KeyError, ValueError) as error:
            return 409, {"error": str(error)}
        self._seen_by_simulator()
        announce = getattr(self.simulator, "announce", None)
        if announce is not None:
            # Delivered after the answer: the change is made once the bench hears of it.
            task = asyncio.get_running_loop().create_task(self._announce(announce, summary))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return 200, {
            **asdict(plan),
            "day": (plan.day or summary.at.date()).isoformat(),  # the reporting zone is UTC
            "at": summary.at.isoformat(),
            "push": announce is not None,
            "summary": summary_json(summary),
        }

    def _seen_by_simulator(self) -> None:
        for forget in ("invalidate", "refresh"):  # ConnectWise, Autotask
            method = getattr(self.simulator, forget, None)
            if method is not None:
                method()

    async def _announce(self, announce: Any, summary: MutationSummary) -> None:
        try:
            self.announced += int(await announce(summary))
        except Exception as error:  # a failed delivery must not fail the change
            self.announce_failures += 1
            print(f"announce failed: {error!r}", file=sys.stderr, flush=True)


def make_app(
    vendor: str,
    tickets: int,
    port: int,
    latency: float,
    timeline_path: str | None = None,
    live_clock: bool = False,
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
    if live_clock and hasattr(simulator, "clock"):
        # The PSA's clock is the wall clock (not the world's latest change), as a live PSA's.
        simulator.clock = lambda: max(datetime.now(UTC), world.generated_at)
    changes = Changes(world, simulator)
    seeds = iter(range(100, 10_000))

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/__bench/"):
            query = dict(parse_qsl(scope["query_string"].decode(), keep_blank_values=True))
            status = 200
            if scope["path"] == "/__bench/change":
                status, body = changes.handle(query)
            elif scope["path"] == "/__bench/mutate":
                # Stamped now, as a real PSA would.
                summary = mutate_world(
                    world,
                    seed=next(seeds),
                    fraction=float(query["fraction"]),
                    at=datetime.now(UTC),
                )
                body = summary_json(summary)
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
                body = {
                    "requests": counts,
                    "rows_served": dict(rows),
                    "can_announce": hasattr(simulator, "announce"),
                    "announced": changes.announced,
                    "announce_failures": changes.announce_failures,
                }
            payload = json.dumps(body, default=str).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
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
        "--live-clock",
        action="store_true",
        help="the PSA's clock is the wall clock (default: the time of the world's latest change)",
    )
    parser.add_argument(
        "--timeline", help="append each request's start, end (perf_counter) and path to this file"
    )
    args = parser.parse_args()
    app = make_app(
        args.vendor, args.tickets, args.port, args.latency, args.timeline, args.live_clock
    )
    print("ready", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
