"""Freshness benchmark (issue 20): how long a change at the PSA takes to show in a KPI.

The simulator (bench/simulator_server.py, 100,000 tickets, 50 ms a request, the PSA's clock
the wall clock) and `northstar serve` (scheduler included, SQLite) run in their own
processes. The source is added through the API and its first sync awaited; then `--changes`
changes (updates, closes, reopens, new tickets, time logged; random kinds at random moments,
seeded, overlapping) are made at the simulator, and for each the time from the change to
the changed value in `GET /api/v1/kpis/{key}/values` is measured (p50, p95, max). Then the
steady state: the requests the simulator answered over a window with nothing changing, and
one with a change a minute, per hour (extrapolated from the window when it is shorter).

    .venv/bin/python bench/freshness.py --vendor both --both-modes --markdown
    .venv/bin/python bench/freshness.py --vendor autotask --tickets 5000 --changes 20 \\
        --steady-minutes 3 --no-push                        # a quick check, ~10 minutes

"With push" starts Northstar with its public address set (it then registers callbacks and
webhooks with the PSA) and has the simulator announce each change (`announce`); a simulator
without `announce` cannot push, and the push mode then says so and is not measured.

Targets: p95 ≤ 60 s polling alone, ≤ 10 s with push; Autotask ≤ 250 requests per hour.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from random import Random
from typing import Any

import httpx
from backfill import free_port, simulator_counts, start_simulator  # bench/ is on sys.path
from freshness_changes import ChangeRun, make_change, run_changes, summarise
from freshness_northstar import create_source, source_state, start_northstar, wait_first_sync

from connectors.sandbox.single_change import KINDS

OUT = Path(__file__).with_name("out") / "freshness"
P95_TARGET_S = {"polling": 60.0, "push": 10.0}
REQUESTS_PER_HOUR_TARGET = {"autotask": 250}


async def steady_window(
    sim_base: str, minutes: float, changes_per_minute: float, seed: int
) -> dict[str, Any]:
    """Requests the simulator answered over `minutes`, with `changes_per_minute` changes of
    random kinds (not watched), per hour: extrapolated when the window is shorter."""
    rng = Random(seed)
    port = int(sim_base.rsplit(":", 1)[1])
    before = Counter(simulator_counts(port)["requests"])
    began = time.monotonic()
    end = began + minutes * 60
    made = 0
    async with httpx.AsyncClient(base_url=sim_base, timeout=120) as sim:
        while time.monotonic() < end:
            if changes_per_minute:
                made += await make_change(sim, rng.choice(KINDS), rng.randrange(1 << 30), set())
                await asyncio.sleep(min(60 / changes_per_minute, max(0, end - time.monotonic())))
            else:
                await asyncio.sleep(min(30, max(0, end - time.monotonic())))
    window = time.monotonic() - began
    answered = Counter(simulator_counts(port)["requests"]) - before
    scale = 3600 / window
    return {
        "window_s": round(window),
        "extrapolated": window < 3590,
        "changes_made": made,
        "requests": sum(answered.values()),
        "requests_per_hour": round(sum(answered.values()) * scale),
        "per_hour_per_resource": {k: round(v * scale) for k, v in sorted(answered.items())},
    }


def expected_minutes(args: argparse.Namespace) -> float:
    """A rough plan of one vendor and mode, for the person waiting."""
    build = 1.5 * args.tickets / 100_000  # the world, in the simulator
    first_sync = 1 + 6 * args.tickets / 100_000  # shared, loaded cores: ~2-6 min at 100k
    changes = args.changes * args.gap / 60 + 2
    return build + first_sync + changes + 2 * args.steady_minutes


def run_one(vendor: str, mode: str, args: argparse.Namespace) -> dict[str, Any]:
    print(f"{vendor}, {mode}: expected ~{expected_minutes(args):.0f} min", flush=True)
    push = mode == "push"
    sim_port, ns_port = free_port(), free_port()
    sim_base = f"http://127.0.0.1:{sim_port}"
    began = time.monotonic()
    simulator = start_simulator(
        vendor, args.tickets, sim_port, args.latency, options=["--live-clock"]
    )
    print(f"  simulator up ({args.tickets:,} tickets): {time.monotonic() - began:.0f} s")
    result: dict[str, Any] = {"vendor": vendor, "mode": mode, "tickets": args.tickets}
    try:
        if push and not simulator_counts(sim_port).get("can_announce"):
            print("  push unavailable: this simulator cannot announce changes", flush=True)
            return {**result, "unavailable": "the simulator has no `announce` (push not built)"}
        workdir = OUT / f"{vendor}-{mode}"
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        northstar = start_northstar(workdir, ns_port, push=push)
        try:
            source_id = create_source(northstar, vendor, sim_base)
            result["first_sync_s"] = round(
                wait_first_sync(northstar, vendor, source_id, args.first_sync_limit * 60)
            )
            result["first_sync_requests"] = sum(simulator_counts(sim_port)["requests"].values())
            print(f"  first sync done in {result['first_sync_s']} s; changes now", flush=True)
            run = ChangeRun(args.changes, args.gap, args.poll, args.timeout, args.seed)
            outcomes = asyncio.run(run_changes(sim_base, northstar, source_id, run))
            result["latency"] = summarise(outcomes, args.timeout)
            result["announced"] = simulator_counts(sim_port).get("announced", 0)
            print(f"  latency: {json.dumps(result['latency'])}", flush=True)
            steady: dict[str, Any] = {}
            for label, per_minute in (("nothing_changing", 0.0), ("one_change_per_minute", 1.0)):
                print(f"  steady state, {label}: {args.steady_minutes} min", flush=True)
                steady[label] = asyncio.run(
                    steady_window(sim_base, args.steady_minutes, per_minute, args.seed + 1)
                )
            result["steady_state"] = steady
            # Northstar's own count of the requests it made in the last hour, to compare.
            result["northstar_requests_last_hour"] = source_state(northstar, source_id).get(
                "requests_last_hour"
            )
        finally:
            northstar.stop()
    finally:
        simulator.terminate()
        simulator.wait(timeout=30)
    result["wall_min"] = round((time.monotonic() - began) / 60, 1)
    return result


def _s(value: float | None) -> str:
    return "miss" if value is None else f"{value:.1f} s"


def markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        "| PSA | mode | changes | p50 | p95 | max | missed | skipped | p95 target | met |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if "unavailable" in r:
            lines.append(f"| {r['vendor']} | {r['mode']} | not measured: {r['unavailable']} |")
            continue
        lat, target = r["latency"], P95_TARGET_S[r["mode"]]
        met = lat["p95_s"] is not None and lat["p95_s"] <= target
        lines.append(
            f"| {r['vendor']} | {r['mode']} | {lat['changes']} | {_s(lat['p50_s'])} "
            f"| {_s(lat['p95_s'])} | {_s(lat['max_s'])} | {lat['missed']} | {lat['skipped']} "
            f"| ≤ {target:.0f} s | {'**met**' if met else 'not met'} |"
        )
    lines += [
        "",
        "| PSA | mode | requests/h, nothing changing | requests/h, 1 change a minute | window "
        "| target |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        if "steady_state" not in r:
            continue
        idle, busy = (
            r["steady_state"]["nothing_changing"],
            r["steady_state"]["one_change_per_minute"],
        )
        limit = REQUESTS_PER_HOUR_TARGET.get(r["vendor"])
        verdict = "—" if limit is None else f"≤ {limit}/h: " + (
            "**met**" if max(idle["requests_per_hour"], busy["requests_per_hour"]) <= limit
            else "not met"
        )  # fmt: skip
        window = f"{idle['window_s'] / 60:.0f} min" + (
            " (×60/window)" if idle["extrapolated"] else ""
        )
        lines.append(
            f"| {r['vendor']} | {r['mode']} | {idle['requests_per_hour']} "
            f"| {busy['requests_per_hour']} | {window} | {verdict} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description="Change → KPI freshness benchmark.")
    parser.add_argument("--vendor", choices=["connectwise", "autotask", "both"], required=True)
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument("--push", dest="modes", action="store_const", const=["push"])
    modes.add_argument("--no-push", dest="modes", action="store_const", const=["polling"])
    modes.add_argument(
        "--both-modes", dest="modes", action="store_const", const=["polling", "push"]
    )
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--gap", type=float, default=5.0, help="mean seconds between changes")
    parser.add_argument("--poll", type=float, default=0.5, help="seconds between KPI reads")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds: then a miss")
    parser.add_argument(
        "--steady-minutes", type=float, default=60.0, help="each steady-state window"
    )
    parser.add_argument("--first-sync-limit", type=float, default=60.0, help="minutes")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--out", type=Path, help="also write the JSON report to this file")
    parser.add_argument("--markdown", action="store_true", help="then print Markdown tables")
    args = parser.parse_args()
    vendors = ["connectwise", "autotask"] if args.vendor == "both" else [args.vendor]
    chosen = args.modes or ["polling", "push"]
    print(f"expected ~{expected_minutes(args) * len(vendors) * len(chosen):.0f} min in all")
    results = [run_one(vendor, mode, args) for vendor in vendors for mode in chosen]
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    if args.markdown:
        print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
