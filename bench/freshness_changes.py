"""Changes at random moments, and how long each takes to show in Northstar's KPIs.

Each change is planned by the simulator first (`/__bench/change?dry_run=1`): the record, and
the KPI value for one client and day that it must move. The value is read, the change made,
and a watcher reads the value every `poll_s` until it shows the change (or `timeout_s`
passes: a miss). Changes overlap, but never two at once to the same client, so each
watcher's value moves for its change alone.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from random import Random
from typing import Any

import httpx
from freshness_northstar import Northstar, kpi_measure

from connectors.sandbox.single_change import KINDS


@dataclass
class Outcome:
    kind: str
    kpi: str
    latency_s: float | None = None  # None: not measured (see `skipped`) or missed
    missed: bool = False
    skipped: str = ""


@dataclass
class ChangeRun:
    """Settings of one series of changes."""

    count: int
    mean_gap_s: float
    poll_s: float
    timeout_s: float
    seed: int
    busy: set[int] = field(default_factory=set)  # clients with a change in flight


async def plan(sim: httpx.AsyncClient, kind: str, seed: int, avoid: set[int]) -> dict[str, Any]:
    answer = await sim.post(
        "/__bench/change",
        params={
            "kind": kind,
            "seed": str(seed),
            "dry_run": "1",
            "avoid": ",".join(map(str, sorted(avoid))),
        },
    )
    return dict(answer.json()) | {"status": answer.status_code}


async def make_change(sim: httpx.AsyncClient, kind: str, seed: int, avoid: set[int]) -> bool:
    """One change made at once, not watched (the steady state's changes)."""
    planned = await plan(sim, kind, seed, avoid)
    if planned["status"] != 200:
        return False
    return (await sim.post("/__bench/change", params={"plan": planned["plan"]})).is_success


async def watch(
    sim: httpx.AsyncClient,
    ns: httpx.AsyncClient,
    source_id: int,
    planned: dict[str, Any],
    run: ChangeRun,
) -> Outcome:
    """Read the value, make the planned change, and wait for the value to move."""
    outcome = Outcome(planned["kind"], planned["kpi"])
    client, kpi, measure = planned["client_id"], planned["kpi"], planned["measure"]
    try:
        day = date.fromisoformat(planned["day"] or datetime.now(UTC).date().isoformat())
        before = await kpi_measure(ns, source_id, kpi, client, day, measure)
        if before is None:
            outcome.skipped = f"no value for {kpi} on {day} yet"
            return outcome
        began = time.monotonic()
        made = await sim.post("/__bench/change", params={"plan": planned["plan"]})
        if not made.is_success:
            outcome.skipped = f"the change was refused: {made.text}"
            return outcome
        if made.json()["day"] != day.isoformat():  # made just after midnight
            outcome.skipped = "the day turned between the read and the change"
            return outcome
        expected = before + float(planned["delta"])
        while time.monotonic() - began < run.timeout_s:
            await asyncio.sleep(run.poll_s)
            value = await kpi_measure(ns, source_id, kpi, client, day, measure)
            if value is not None and abs(value - expected) < 1e-6:
                outcome.latency_s = time.monotonic() - began
                return outcome
        outcome.missed = True
        return outcome
    except (httpx.HTTPError, KeyError, ValueError) as error:  # one watcher, not the run
        outcome.skipped = f"failed: {error!r}"
        return outcome
    finally:
        run.busy.discard(client)


async def run_changes(
    sim_base: str, northstar: Northstar, source_id: int, run: ChangeRun
) -> list[Outcome]:
    """`run.count` changes of random kinds, `run.mean_gap_s` apart on average (exponential
    gaps: random moments), each watched until it shows; printing progress."""
    rng = Random(run.seed)
    limits = httpx.Limits(max_connections=100)
    async with (
        httpx.AsyncClient(base_url=sim_base, timeout=120) as sim,
        httpx.AsyncClient(
            base_url=northstar.base, headers=northstar.headers, timeout=60, limits=limits
        ) as ns,
    ):
        watchers: list[asyncio.Task[Outcome]] = []
        skipped: list[Outcome] = []
        for number in range(run.count):
            await asyncio.sleep(rng.expovariate(1 / run.mean_gap_s))
            kind = rng.choice(KINDS)
            planned = await plan(sim, kind, rng.randrange(1 << 30), run.busy)
            if planned["status"] != 200:
                skipped.append(Outcome(kind, "", skipped=str(planned.get("error"))))
                continue
            run.busy.add(planned["client_id"])
            watchers.append(asyncio.create_task(watch(sim, ns, source_id, planned, run)))
            if (number + 1) % 10 == 0:
                done = [w.result() for w in watchers if w.done()]
                seen = [o.latency_s for o in done if o.latency_s is not None]
                print(
                    f"  {number + 1} of {run.count} changes made, {len(seen)} seen "
                    f"(median so far {percentile(seen, 0.5)}), {len(run.busy)} in flight",
                    flush=True,
                )
        return skipped + list(await asyncio.gather(*watchers))


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest rank; math.inf stands for a miss (so a p95 past the misses is a miss)."""
    if not values:
        return None
    ordered = sorted(values)
    value = ordered[max(0, math.ceil(share * len(ordered)) - 1)]
    return None if math.isinf(value) else round(value, 1)


def summarise(outcomes: list[Outcome], timeout_s: float) -> dict[str, Any]:
    """p50, p95 and max of change→KPI latency, misses counted as longer than any."""
    measured = [o for o in outcomes if not o.skipped]
    latencies = [math.inf if o.missed else float(o.latency_s or 0) for o in measured]

    def figures(values: list[float]) -> dict[str, Any]:
        return {
            "changes": len(values),
            "p50_s": percentile(values, 0.5),
            "p95_s": percentile(values, 0.95),
            "max_s": percentile(values, 1.0),
            "missed": sum(1 for v in values if math.isinf(v)),
        }

    by_kind = {
        kind: figures(
            [math.inf if o.missed else float(o.latency_s or 0) for o in measured if o.kind == kind]
        )
        for kind in KINDS
    }
    return {
        **figures(latencies),
        "timeout_s": timeout_s,
        "skipped": len(outcomes) - len(measured),
        "skipped_reasons": sorted({o.skipped for o in outcomes if o.skipped})[:5],
        "by_kind": by_kind,
    }
