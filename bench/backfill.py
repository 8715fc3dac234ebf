"""Backfill benchmark: a full sync of a simulated PSA into SQLite, then an incremental one.

The simulator runs in its own process (bench/simulator_server.py) with a per-request
latency, so this process's peak memory is the sync's alone. Run:

    .venv/bin/python bench/backfill.py --vendor connectwise
    .venv/bin/python bench/backfill.py --vendor autotask --tickets 200000

Reports, per stream and in total: requests made, the request floor (Σ ⌈records ÷ page size⌉),
wall time, the time floor (floor requests × latency ÷ concurrency), ingest time and rate,
and peak memory; then the requests an incremental sync makes after 1 % of tickets changed.
For ConnectWise also the floor with one request per agreement for its additions
(`*_one_per_parent`), since ConnectWise has no list of all additions.
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
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

from app.api.context import ServiceContext
from app.cli import migrate_database
from app.ingest.runner import SyncResult
from app.settings import Settings
from app.sources.service import create_source

PAGE = {"connectwise": 1000, "autotask": 500}
CONCURRENCY = {"connectwise": 4, "autotask": 3}


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


def start_simulator(vendor: str, tickets: int, port: int, latency: float) -> subprocess.Popen[str]:
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


def connector_streams(vendor: str) -> list[Any]:
    from app.ingest.registry import registry

    cls = registry.get(vendor)
    assert cls is not None
    return list(cls.streams.values())


# Entities the Autotask issue lists as part of its streams ("Resources with
# ResourceDailyAvailabilities", "ServiceLevelAgreementResults", "Contracts with
# ContractServiceUnits") that the connector reads as related rows of another stream's page:
# their rows count toward the request floor like any stream's records.
RELATED_ENTITIES = {
    "autotask": (
        "ResourceDailyAvailabilities",
        "ServiceLevelAgreementResults",
        "ContractServiceUnits",
    )
}


# Streams each of whose records the connector must ask about once more, because the PSA keeps
# their children per parent with no list of all of them: ConnectWise's agreement additions
# (`/finance/agreements/{id}/additions`, reference §6.6; N+1 calls). Counted once per
# parent, the floor of those children is one request per parent record.
PER_PARENT = {"connectwise": ("agreements",)}


def related_rows(vendor: str, port: int) -> dict[str, int]:
    served = simulator_counts(port).get("rows_served") or {}
    return {entity: int(served.get(entity, 0)) for entity in RELATED_ENTITIES.get(vendor, ())}


def report(
    result: SyncResult,
    vendor: str,
    latency: float,
    wall: float,
    related: dict[str, int] | None = None,
) -> dict[str, Any]:
    page = PAGE[vendor]
    streams = {
        o.stream: {
            "records": o.records,
            "requests": o.requests,
            "floor": math.ceil(o.records / page),
            "status": o.status.value,
            "store_s": round(o.store_seconds, 2),
        }
        for o in result
    }
    related_floor = {entity: math.ceil(rows / page) for entity, rows in (related or {}).items()}
    requests = sum(s["requests"] for s in streams.values())
    stream_floor = sum(s["floor"] for s in streams.values())
    floor = stream_floor + sum(related_floor.values())
    records = sum(s["records"] for s in streams.values())
    ingest = sum(o.store_seconds for o in result) + result.kpi_seconds
    parents = sum(
        streams[name]["records"] for name in PER_PARENT.get(vendor, ()) if name in streams
    )
    per_parent = {}
    if parents:
        with_children = floor + parents
        per_parent = {
            "request_floor_one_per_parent": with_children,
            "request_target_one_per_parent": round(with_children * 1.05 + 20),
            "time_floor_one_per_parent_s": round(with_children * latency / CONCURRENCY[vendor], 1),
        }
    return {
        "streams": streams,
        "related_rows": {
            entity: {"records": rows, "floor": related_floor[entity]}
            for entity, rows in (related or {}).items()
        },
        "records": records,
        "requests": requests,
        "request_floor_of_streams": stream_floor,
        "request_floor": floor,
        "request_target": round(floor * 1.05 + 20),
        **per_parent,
        "wall_s": round(wall, 1),
        "time_floor_s": round(floor * latency / CONCURRENCY[vendor], 1),
        "store_s": round(sum(o.store_seconds for o in result), 1),
        "kpi_rollup_s": round(result.kpi_seconds, 1),
        "ingest_s": round(ingest, 1),
        "ingest_records_per_s": round(records / ingest) if ingest else None,
    }


def run(vendor: str, tickets: int, latency: float, keep: Path | None = None) -> dict[str, Any]:
    port = free_port()
    simulator = start_simulator(vendor, tickets, port, latency)
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
                    fast_interval_minutes=5,
                    slow_interval_minutes=60,
                )
                source_id = source.id
            began = time.perf_counter()
            full = asyncio.run(context.runner.sync_source(source_id, trigger="backfill"))
            wall = time.perf_counter() - began
            full_report = report(full, vendor, latency, wall, related_rows(vendor, port))
            changed = httpx.post(
                f"http://127.0.0.1:{port}/__bench/mutate?fraction=0.01", timeout=60
            ).json()
            # What a scheduler tick runs: the fast streams (slow ones and sweeps are hourly).
            fast = [s.name for s in connector_streams(vendor) if s.interval.value == "fast"]
            answered_before = simulator_requests(port)
            began = time.perf_counter()
            incremental = asyncio.run(
                context.runner.sync_source(source_id, trigger="cli", streams=fast)
            )
            inc_report = report(incremental, vendor, latency, time.perf_counter() - began)
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
        "full": full_report,
        "incremental": {
            "tickets_changed": tickets_changed,
            "requests_per_stream": {k: v["requests"] for k, v in inc_report["streams"].items()},
            "target_per_stream": math.ceil(tickets_changed / PAGE[vendor]) + 5,
            # The same requests counted per PSA resource, as the simulator answered them: a
            # stream's page may need rows of other resources (Autotask's SLA results).
            "requests_per_resource": dict(sorted(by_resource.items())),
            "wall_s": inc_report["wall_s"],
            "kpi_rollup_s": inc_report["kpi_rollup_s"],
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
    args = parser.parse_args()
    print(json.dumps(run(args.vendor, args.tickets, args.latency, args.keep), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
