"""Load benchmark (issue 15, "Under load"): readers by the hundred while a first sync runs.

    .venv/bin/python bench/load.py                      # SQLite and PostgreSQL
    .venv/bin/python bench/load.py --db sqlite --clients 200 --seconds 60

For each store, in one run: a ConnectWise simulator with 20,000 tickets in its own process
(bench/simulator_server.py), then twice a fresh database holding the example plan of
docs/goals.md §4 and `northstar serve` (API and scheduler in one process, as by default) in
a subprocess:

1. quiet: the source is added through the API and its first sync (every stream, then the KPI
   rebuild) is timed with no other request;
2. loaded: 200 clients (httpx, async, one connection each, 30 s per request) ask in a loop for
   the alignment scorecard, a KPI's values, an OData page of tickets and the overview page
   (`/`, signed in with the cookie); the source is added two seconds in, and the clients go
   on for `--seconds` and at least until the sync has finished.

The sync's time runs from its first stream's start to the moment its last stream has finished
and its KPI rebuild is done (the database is polled every 0.2 s). Reported: per route the
requests, status codes, timeouts and p50/p95/max latency; the sync's time quiet and loaded;
its runs' outcomes; and what the server logged at WARNING or above ("database is locked",
"QueuePool limit" counted apart).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from backfill import free_port, source_config, start_simulator  # bench/ is on sys.path
from cryptography.fernet import Fernet
from load_clients import ROUTES, LoadStats, run_clients
from load_server import Store, prepare, start_server, stop_server
from sqlalchemy import select

from app.db import Database
from app.ingest.models import SyncRun
from app.ingest.registry import registry
from app.kpis.models import KpiRebuildPending
from app.settings import Settings

VENDOR = "connectwise"
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
LOG_MARKERS = ("database is locked", "QueuePool limit")


async def add_source(base: str, admin_key: str, simulator_port: int) -> int:
    """Add the simulated PSA through the API (asked again if the server is busy)."""
    body = {
        "name": "Load bench (ConnectWise simulator)",
        "kind": VENDOR,
        "config": source_config(VENDOR, f"http://127.0.0.1:{simulator_port}"),
    }
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        for _ in range(30):
            try:
                answer = await http.post(
                    "/api/v1/sources", json=body, headers={"Authorization": f"Bearer {admin_key}"}
                )
            except httpx.TimeoutException:
                print("adding the source timed out; asking again", file=sys.stderr)
                continue
            if answer.status_code == 201:
                return int(answer.json()["id"])
            if answer.status_code != 503:
                raise RuntimeError(f"adding the source failed: {answer.status_code} {answer.text}")
            await asyncio.sleep(float(answer.headers.get("retry-after", "1")))
    raise RuntimeError("the server stayed busy")


class SyncWatch:
    """Polls the store until the source's first sync is over: every stream has a finished
    run and the KPI rebuild it asked for is done."""

    def __init__(self, url: str, streams: set[str]) -> None:
        self.db = Database(url)
        self.streams = streams
        self.source_id: int | None = None
        self.began: datetime | None = None
        self.done_at: datetime | None = None
        self.runs: list[dict[str, Any]] = []

    def poll(self) -> bool:
        if self.source_id is None or self.done_at is not None:
            return self.done_at is not None
        with self.db.session() as session:
            runs = list(session.scalars(select(SyncRun).where(SyncRun.source_id == self.source_id)))
            pending = session.get(KpiRebuildPending, self.source_id) is not None
        finished = {r.stream for r in runs if r.finished_at is not None}
        if runs and self.began is None:
            self.began = min(r.started_at for r in runs)
        if self.streams <= finished and not pending:
            self.done_at = datetime.now(UTC)
            self.runs = [
                {
                    "stream": r.stream,
                    "status": r.status,
                    "records": r.records,
                    "error": r.error_code,
                }
                for r in sorted(runs, key=lambda r: r.id)
            ]
        return self.done_at is not None

    async def wait(self, limit_s: float) -> None:
        deadline = time.monotonic() + limit_s
        # Off the event loop: the clients' timings are not to include the poll's queries.
        while not await asyncio.to_thread(self.poll):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the sync did not finish within {limit_s:.0f} s")
            await asyncio.sleep(0.2)

    @property
    def seconds(self) -> float:
        assert self.began is not None and self.done_at is not None
        return round((self.done_at - self.began).total_seconds(), 1)


def log_summary(log: Path) -> dict[str, Any]:
    lines = log.read_text(errors="replace").splitlines()
    summary: dict[str, Any] = {
        marker: sum(marker in line for line in lines) for marker in LOG_MARKERS
    }
    problems = [
        line for line in lines if "[error" in line or "[warning" in line or "Traceback" in line
    ]
    summary["warning_or_error_lines"] = len(problems)
    summary["first_lines"] = problems[:5]
    return summary


async def phase(
    kind: str,
    workdir: Path,
    name: str,
    args: argparse.Namespace,
    simulator_port: int,
    *,
    load: bool,
) -> dict[str, Any]:
    key = Fernet.generate_key().decode()
    store = Store(kind, workdir, name, args.pg_server)
    try:
        admin, read = prepare(store.url, key)
        port = free_port()
        log = workdir / f"{name}.log"
        server = start_server(store.url, key, port, log, split=args.split)
        base = f"http://127.0.0.1:{port}"
        watch = SyncWatch(store.url, set(registry.get(VENDOR).streams))  # type: ignore[union-attr]
        stats = LoadStats()
        try:
            if not load:
                watch.source_id = await add_source(base, admin, simulator_port)
                await watch.wait(args.sync_timeout)
            else:
                started = time.monotonic()

                def enough() -> bool:
                    # At least `--seconds` of load, and the whole sync under it.
                    return time.monotonic() - started >= args.seconds and watch.done_at is not None

                clients = asyncio.create_task(run_clients(base, read, args.clients, stats, enough))
                await asyncio.sleep(2)
                watch.source_id = await add_source(base, admin, simulator_port)
                await watch.wait(args.sync_timeout)
                await clients
        finally:
            stop_server(server)
            watch.db.dispose()
        result: dict[str, Any] = {
            "sync_seconds": watch.seconds,
            "sync_runs": watch.runs,
            "server_log": log_summary(log),
        }
        if load:
            result["load"] = stats.report()
        return result
    finally:
        store.drop()


def accepted(loaded: dict[str, Any]) -> bool:
    """The issue's bar: no error and no timeout, and a sync that succeeded with nothing
    locked or starved on the way."""
    load, log = loaded["load"], loaded["server_log"]
    return (
        load["errors"] == 0
        and load["timeouts"] == 0
        and all(run["status"] == "succeeded" for run in loaded["sync_runs"])
        and not any(log[marker] for marker in LOG_MARKERS)
    )


def server_settings() -> dict[str, Any]:
    """The limits the server runs with (defaults, or NORTHSTAR_* from the environment)."""
    settings = Settings(_env_file=None)
    return {
        "max_concurrent_requests": settings.max_concurrent_requests,
        "max_queued_requests": settings.max_queued_requests,
        "queue_timeout_seconds": settings.queue_timeout_seconds,
    }


def markdown(outcome: dict[str, Any]) -> str:
    lines = [
        "| store | route | requests | errors | timeouts | p50 | p95 | max |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for kind, store in outcome["stores"].items():
        for name, route in store["loaded"]["load"]["routes"].items():
            failed = sum(n for k, n in route["outcomes"].items() if not k.startswith("2"))
            lines.append(
                f"| {kind} | {name} | {route['requests']:,} | {failed} | "
                f"{route['outcomes'].get('timeout', 0)} | {route['p50_ms']:,} ms | "
                f"{route['p95_ms']:,} ms | {route['max_ms']:,} ms |"
            )
    lines += ["", "| store | first sync quiet | same sync under load | ratio | accepted |"]
    lines.append("|---|---|---|---|---|")
    for kind, store in outcome["stores"].items():
        lines.append(
            f"| {kind} | {store['sync_quiet_s']} s | {store['sync_loaded_s']} s | "
            f"{store['sync_slowdown']} | {'yes' if store['accepted'] else 'NO'} |"
        )
    return "\n".join(lines)


def machine() -> dict[str, str]:
    return {
        "nproc": str(os.cpu_count()),
        "uname_m": platform.machine(),
        "python": platform.python_version(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    simulator_port = free_port()
    simulator = start_simulator(VENDOR, args.tickets, simulator_port, args.latency)
    outcome: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine(),
        "tickets": args.tickets,
        "clients": args.clients,
        "seconds": args.seconds,
        "routes": {r.name: r.path for r in ROUTES},
        "server_settings": server_settings(),
        "scheduler": "own process" if args.split else "in the API process (northstar serve)",
        "stores": {},
    }
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for kind in args.db:
                quiet = await phase(
                    kind, Path(tmp), f"{kind}_quiet", args, simulator_port, load=False
                )
                loaded = await phase(
                    kind, Path(tmp), f"{kind}_loaded", args, simulator_port, load=True
                )
                print(f"{kind}: quiet {quiet}\nloaded {loaded}", file=sys.stderr)
                outcome["stores"][kind] = {
                    "accepted": accepted(loaded),
                    "sync_quiet_s": quiet["sync_seconds"],
                    "sync_loaded_s": loaded["sync_seconds"],
                    "sync_slowdown": round(loaded["sync_seconds"] / quiet["sync_seconds"], 2),
                    "quiet": quiet,
                    "loaded": loaded,
                }
    finally:
        simulator.terminate()
        simulator.wait(timeout=30)
    return outcome


def main() -> int:
    parser = argparse.ArgumentParser(description="Load benchmark: readers during a first sync.")
    parser.add_argument(
        "--db", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"]
    )
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--latency", type=float, default=0.05, help="the simulator's, per request")
    parser.add_argument("--sync-timeout", type=float, default=1800)
    parser.add_argument("--pg-server", default=PG_SERVER, help="PostgreSQL server (no database)")
    parser.add_argument(
        "--split",
        action="store_true",
        help="run the scheduler as a process of its own (serve --no-scheduler + scheduler)",
    )
    parser.add_argument("--out", type=Path, help="also write the JSON report to this file")
    parser.add_argument("--markdown", action="store_true", help="then print the tables")
    args = parser.parse_args()
    outcome = asyncio.run(run(args))
    text_out = json.dumps(outcome, indent=2, default=str)
    print(text_out)
    if args.out:
        args.out.write_text(text_out + "\n")
    if args.markdown:
        print(markdown(outcome))
    return 0 if all(store["accepted"] for store in outcome["stores"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
