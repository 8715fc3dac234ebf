"""Backfill benchmark: a full sync of a simulated PSA into SQLite, then an incremental one.

The simulator runs in its own process (bench/simulator_server.py) with a per-request
latency, so this process's peak memory is the sync's alone. Run:

    .venv/bin/python bench/backfill.py --vendor connectwise
    .venv/bin/python bench/backfill.py --vendor autotask --tickets 200000

Reports, for the first sync (a backfill into an empty store), per stream and in total:
requests and their floor, wall time and its floor, ingest time, and the targets (requests
≤ 1.05 × floor + 20; each stream's wall ≤ 1.5 × its wall floor + its ingest): how the floors
are counted is in `bench/backfill_report.py`. For ConnectWise the headline floor counts one
additions call per agreement with a recurring billing cycle (`request_floor_one_per_parent`),
since ConnectWise has no list of all additions. Also every request of the first sync per PSA
resource, as the simulator answered them, and peak memory.

Then, with nothing changed at the PSA, the steady state: one tick of the fast streams, one of
every stream (the hourly tick), and for ConnectWise an agreements pass forced past its
additions re-read interval, giving requests per hour. Last, the requests an incremental sync
of the fast streams makes after 1 % of tickets changed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from backfill_report import (  # bench/ is on sys.path when run as a script
    PAGE,
    RELATED_ENTITIES,
    concurrency,
    markdown_routes,
    markdown_streams,
    report,
    steady_state,
)
from cryptography.fernet import Fernet

from app.api.context import ServiceContext
from app.cli import migrate_database
from app.ingest.models import SyncCursor
from app.ingest.runner import SyncResult
from app.settings import Settings
from app.sources.service import create_source
from connectors.connectwise.config import ConnectWiseConfig
from connectors.sdk import StreamSpec, SyncInterval

# The benchmark source's sync intervals (the service's defaults).
FAST_MINUTES, SLOW_MINUTES = 5, 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def source_config(vendor: str, base: str) -> dict[str, Any]:
    if vendor == "connectwise":
        from connectors.connectwise.sandbox import SANDBOX_CREDENTIALS

        return {"base_url": base, **SANDBOX_CREDENTIALS}
    return {
        "api_username": "api-northstar@sandbox.example",
        "secret": "sandbox-secret",
        "integration_code": "SANDBOXINTEGRATION",
        "zone_lookup_url": f"{base}/atservicesrest/v1.0/zoneInformation",
        "requests_per_hour": 100_000,  # the benchmark measures speed, not the tenant's share
    }


def start_simulator(
    vendor: str,
    tickets: int,
    port: int,
    latency: float,
    timeline: str | None = None,
    options: Sequence[str] = (),
) -> subprocess.Popen[str]:
    """bench/simulator_server.py in its own process, once it answers (`options`: more of
    its command-line options)."""
    process = subprocess.Popen(  # noqa: S603 - our own script
        [
            sys.executable,
            str(Path(__file__).with_name("simulator_server.py")),
            "--vendor",
            vendor,
            "--tickets",
            str(tickets),
            "--port",
            str(port),
            "--latency",
            str(latency),
            *(["--timeline", timeline] if timeline else []),
            *options,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    process.stdout.readline()  # "ready" once the world is built
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/__bench/requests", timeout=1)
            return process
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError("the simulator did not start")


def simulator_counts(port: int) -> dict[str, Any]:
    """What the simulator has counted so far: `requests` per API resource and, for
    Autotask, `rows_served` per entity."""
    return dict(httpx.get(f"http://127.0.0.1:{port}/__bench/requests", timeout=10).json())


def simulator_requests(port: int) -> Counter[str]:
    """Requests the simulator has answered so far, per API resource."""
    return Counter(simulator_counts(port)["requests"])


def world_counts(port: int) -> dict[str, int]:
    """What the simulated world holds that a floor counts (see simulator_server.py)."""
    return dict(httpx.get(f"http://127.0.0.1:{port}/__bench/world", timeout=10).json())


def connector_specs(vendor: str) -> dict[str, StreamSpec]:
    from app.ingest.registry import registry

    cls = registry.get(vendor)
    assert cls is not None
    return dict(cls.streams)


def related_rows(vendor: str, port: int) -> dict[str, int]:
    served = simulator_counts(port).get("rows_served") or {}
    return {entity: int(served.get(entity, 0)) for entity in RELATED_ENTITIES.get(vendor, {})}


def sync(
    context: ServiceContext, source_id: int, streams: list[str] | None, trigger: str = "cli"
) -> tuple[SyncResult, float]:
    began = time.perf_counter()
    result = asyncio.run(context.runner.sync_source(source_id, trigger=trigger, streams=streams))
    return result, time.perf_counter() - began


def tick(context: ServiceContext, source_id: int, port: int, streams: list[str]) -> dict[str, Any]:
    """One scheduler tick of `streams` (nothing changed at the PSA): the requests the PSA
    answered (reference tables a fresh connector reads included), per stream and resource."""
    before = simulator_requests(port)
    result, wall = sync(context, source_id, streams)
    by_resource = simulator_requests(port) - before
    return {
        "requests": sum(by_resource.values()),
        "requests_per_stream": {o.stream: o.requests for o in result},
        "records_per_stream": {o.stream: o.records for o in result},
        "facts_changed": sum(o.facts_changed for o in result),
        "requests_per_resource": dict(sorted(by_resource.items())),
        "wall_s": round(wall, 1),
        "kpi_rollup_s": round(result.kpi_seconds, 1),
    }


def additions_reread(
    context: ServiceContext, source_id: int, port: int, hourly: dict[str, Any]
) -> dict[str, Any] | None:
    """ConnectWise: an agreements pass after the additions re-read interval has passed (the
    stored cursor's `additions_read_at` moved back past it), against the same stream in an
    hourly tick: the re-read's extra requests, once per interval. None when the connector
    has no such re-read (no `agreement_additions_refresh_hours` setting)."""
    knob = ConnectWiseConfig.model_fields.get("agreement_additions_refresh_hours")
    if knob is None:
        return None
    hours = int(knob.default)
    with context.db.session() as session:
        state = session.get(SyncCursor, (source_id, "agreements"))
        assert state is not None and state.cursor is not None
        due_at = datetime.now(UTC) - timedelta(hours=hours + 1)
        state.cursor = {**state.cursor, "additions_read_at": due_at.isoformat()}
    reread = tick(context, source_id, port, ["agreements"])
    usual = hourly["requests_per_stream"]["agreements"]
    done = reread["requests_per_stream"]["agreements"]
    return {
        "interval_hours": hours,
        "requests": done,
        "requests_per_resource": reread["requests_per_resource"],
        "requests_of_usual_pass": usual,
        "extra_requests": done - usual,
        "wall_s": reread["wall_s"],
    }


def run(
    vendor: str,
    tickets: int,
    latency: float,
    keep: Path | None = None,
    timeline: str | None = None,
) -> dict[str, Any]:
    port = free_port()
    simulator = start_simulator(vendor, tickets, port, latency, timeline)
    specs = connector_specs(vendor)
    # Tickets and time are checked every minute now (the live cadence); this benchmark's
    # steady state still ticks them with the other frequent streams every 5 minutes, as its
    # earlier figures did, so they stay comparable.
    fast = [name for name, s in specs.items() if s.interval is not SyncInterval.SLOW]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = keep or Path(tmp) / "bench.db"
            store.unlink(missing_ok=True)
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                database_url=f"sqlite:///{store}",
                encryption_key=Fernet.generate_key().decode(),
                scheduler_enabled=False,
                log_level="WARNING",
            )
            migrate_database(settings)
            context = ServiceContext.build(settings)
            with context.db.session() as session:
                source = create_source(
                    session,
                    context.cipher,
                    name="bench",
                    kind=vendor,
                    config=source_config(vendor, f"http://127.0.0.1:{port}"),
                    fast_interval_minutes=FAST_MINUTES,
                    slow_interval_minutes=SLOW_MINUTES,
                )
                source_id = source.id
            world = world_counts(port)
            full, wall = sync(context, source_id, None, trigger="backfill")
            first_routes = simulator_requests(port)
            full_report = report(
                full, vendor, specs, latency, wall, related_rows(vendor, port), world
            )
            # Steady state, nothing changed: a fast tick, then the hourly one (fast and slow
            # streams in one sync, as the scheduler runs them), then the additions re-read.
            fast_tick = tick(context, source_id, port, fast)
            hourly_tick = tick(context, source_id, port, list(specs))
            additions = None
            if vendor == "connectwise":
                additions = additions_reread(context, source_id, port, hourly_tick)
            changed = httpx.post(
                f"http://127.0.0.1:{port}/__bench/mutate?fraction=0.01", timeout=60
            ).json()
            # What a scheduler tick runs after 1 % of tickets changed: the fast streams.
            answered_before = simulator_requests(port)
            incremental, inc_wall = sync(context, source_id, fast)
            by_resource = simulator_requests(port) - answered_before
            context.db.dispose()
    finally:
        simulator.terminate()
        simulator.wait(timeout=30)
    tickets_changed = len(changed.get("tickets_updated", [])) + len(
        changed.get("tickets_added", [])
    )
    return {
        "vendor": vendor,
        "tickets": tickets,
        "latency_s": latency,
        "concurrency_per_stream": concurrency(vendor),
        "world": world,
        "full": full_report,
        # Every request the simulator answered during the first sync, per PSA resource.
        "full_requests_per_resource": dict(sorted(first_routes.items())),
        "full_requests_answered": sum(first_routes.values()),
        "steady_state": {
            **steady_state(
                fast_tick["requests"],
                hourly_tick["requests"],
                FAST_MINUTES,
                SLOW_MINUTES,
                additions,
            ),
            "fast_tick": fast_tick,
            "fast_and_slow_tick": hourly_tick,
        },
        "incremental": {
            "tickets_changed": tickets_changed,
            "requests_per_stream": {o.stream: o.requests for o in incremental},
            "target_per_stream": math.ceil(tickets_changed / PAGE[vendor]) + 5,
            # The same requests counted per PSA resource, as the simulator answered them: a
            # stream's page may need rows of other resources (Autotask's SLA results).
            "requests_per_resource": dict(sorted(by_resource.items())),
            "wall_s": round(inc_wall, 1),
            "kpi_rollup_s": round(incremental.kpi_seconds, 1),
            "days_reaggregated": incremental.days_reaggregated,
        },
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description="Backfill benchmark against a simulator.")
    parser.add_argument("--vendor", choices=["connectwise", "autotask"], required=True)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument(
        "--keep", type=Path, help="write the SQLite store here and keep it (for profiling)"
    )
    parser.add_argument("--out", type=Path, help="also write the JSON report to this file")
    parser.add_argument(
        "--timeline",
        help="the simulator appends each request's start and end (perf_counter) and path here",
    )
    parser.add_argument(
        "--markdown", action="store_true", help="then print the tables of RESULTS.md as Markdown"
    )
    args = parser.parse_args()
    outcome = run(args.vendor, args.tickets, args.latency, args.keep, args.timeline)
    text = json.dumps(outcome, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    if args.markdown:
        print(markdown_streams(outcome["full"]))
        print(markdown_routes(outcome["full_requests_per_resource"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
