"""Scorecard benchmark: GET /api/v1/alignment for N goals, over 100k and 1M tickets.

Builds each store with bench/kpi_query.py's loader (or reuses the one kept in bench/out, or
given with --reuse), records the source's coverage as a first sync would (history read whole,
every stream synced now), writes a three-level plan of N goals over varied KPIs and scopes
through the API, then times the scorecard in-process, alternating between the stores in
rounds so that machine noise hits every size alike. Target: p95 ≤ 150 ms for 50 goals over
1,000,000 tickets, and p95 at 1M ≤ 1.5 × p95 at 100k, measured in one run.

    .venv/bin/python bench/alignment.py --db sqlite      # 100k and 1M, the stores of kpi_query.py
    .venv/bin/python bench/alignment.py --db postgres
    .venv/bin/python bench/alignment.py --tickets 1000000 --rounds 3 --requests 100
    .venv/bin/python bench/alignment.py --reuse sqlite:///path/to/a/store.db
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from kpi_query import load, mark_done, prepare  # bench/ is on sys.path when run as a script
from sqlalchemy import create_engine, delete, select, text, update

from app.api.context import ServiceContext
from app.cli import migrate_database
from app.db import Database, utcnow
from app.goals.models import AlignmentSnapshot, CheckIn, Goal, Milestone, Objective
from app.ingest.history import record_history_from
from app.ingest.models import SyncCursor
from app.ingest.registry import registry
from app.kpis.rollup import rebuild
from app.main import create_app
from app.security.apikeys import create_api_key
from app.security.models import KeyScope
from app.settings import Settings
from app.sources.models import Source

AS_OF = "2025-12-15"
SCORECARD = f"/api/v1/alignment?as_of={AS_OF}"
SERVICE = (
    "sla_response_pct",
    "sla_resolution_pct",
    "avg_response_hours",
    "avg_resolution_hours",
    "csat_pct",
    "csat_avg",
    "tickets_closed",
    "tickets_created",
    "hours_logged",
    "open_backlog",
)
BOARDS = ("Service Desk", "Escalations", "Projects Support", "Onboarding")
# kpi_query.load() writes a source of kind "bench", which has no connector: its streams are
# the fact tables the loader fills, as a connector's first sync would have read them.
BENCH_STREAMS = ("clients", "technicians", "tickets", "time_entries", "survey_results")


def goal_bodies(count: int, source_id: int) -> list[dict[str, Any]]:
    """A mix of kinds, KPIs and scopes, as an MSP would write them."""
    bodies: list[dict[str, Any]] = []
    for i in range(count):
        kpi = SERVICE[i % len(SERVICE)]
        scope: dict[str, Any] = {}
        kind: dict[str, Any] = {"kind": "stay_above", "target": 50}
        match i % 7:
            case 0:
                pass
            case 1:
                scope = {"source": source_id, "client": str(i % 400)}
            case 2:
                scope = {"board": BOARDS[i % 4]}
            case 3:
                scope = {"priority": f"P{i % 4 + 1}"}
            case 4:
                kpi, scope = "utilization_pct", {"source": source_id, "technician": str(i % 80)}
                kind = {"kind": "band", "low": 70, "high": 80}
            case 5:
                kpi, scope = "mrr", {"source": source_id, "client": str(i % 400)}
                kind = {"kind": "increase", "baseline": 0, "target": 1000}
            case _:
                kpi, scope = "tickets_closed", {"source": source_id, "technician": str(i % 80)}
                kind = {"kind": "increase", "target": 400}
        bodies.append(
            {
                "title": f"Goal {i}",
                "kpi": kpi,
                "scope": scope,
                "start_date": "2025-01-01",
                "due_date": "2026-06-30",
                **kind,
            }
        )
    return bodies


def write_plan(client: TestClient, admin: dict[str, str], goals: int, source_id: int) -> None:
    def post(url: str, body: dict[str, Any]) -> Any:
        response = client.post(f"/api/v1{url}", headers=admin, json=body)
        assert response.status_code == 201, response.text
        return response.json()

    top = post("/objectives", {"title": "Three-year plan", "horizon": "3 years"})
    year = [
        post("/objectives", {"title": f"12 months {n}", "parent_id": top["id"]}) for n in range(3)
    ]
    half = [
        post("/objectives", {"title": f"6 months {n}", "parent_id": year[n % 3]["id"]})
        for n in range(6)
    ]
    holders = [top, *year, *half]
    for i, body in enumerate(goal_bodies(goals, source_id)):
        goal = post("/goals", {"objective_id": holders[i % len(holders)]["id"], **body})
        if goal["kind"] != "band" and i % 3 == 0:
            target = goal["target"]
            post(f"/goals/{goal['id']}/milestones", {"due_date": "2025-09-30", "target": target})
        if i % 4 == 0:
            post("/check-ins", {"goal_id": goal["id"], "confidence": 6, "date": "2025-11-01"})


def mark_covered(db: Database, tz: tzinfo) -> dict[str, Any]:
    """Record the bench sources' coverage as a first sync that read the history whole would:
    every stream read from its start and synced now, then `history_from` worked out by the
    runner's own rule (no `history_since`: the earliest fact's day). Loading straight into the
    fact tables leaves none, and a source without coverage has nothing to judge."""
    now = utcnow()
    with db.session() as session:
        sources = list(session.scalars(select(Source).where(Source.kind == "bench")))
        assert sources, "no bench source in this store"
        for source in sources:
            connector = registry.get(source.kind)
            streams = list(connector.streams) if connector is not None else list(BENCH_STREAMS)
            for name in streams:
                state = session.get(SyncCursor, (source.id, name)) or SyncCursor(
                    source_id=source.id, stream=name
                )
                state.history_read, state.history_since = True, None
                state.last_success_at = state.last_attempt_at = now
                state.consecutive_failures, state.next_attempt_at = 0, None
                session.add(state)
            session.flush()
            record_history_from(session, source.id, streams, tz)
        return {
            "source_id": sources[0].id,
            "history_from": str(sources[0].history_from),
            "synced_until": now.isoformat(timespec="seconds"),
        }


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Store:
    """One store, set up and open for measuring."""

    label: str
    db: Database
    client: TestClient
    headers: dict[str, str]
    coverage: dict[str, Any]
    statuses: dict[str, int]
    samples: list[float] = field(default_factory=list)
    rounds: list[float] = field(default_factory=list)  # each round's p50


def settings_for(url: str) -> Settings:
    return Settings(
        _env_file=None,
        database_url=url,  # type: ignore[call-arg]
        encryption_key=Fernet.generate_key().decode(),
        scheduler_enabled=False,
        log_level="WARNING",
    )


def status_counts(body: dict[str, Any]) -> dict[str, int]:
    statuses: dict[str, int] = {}

    def count(objectives: list[Any]) -> None:
        for objective in objectives:
            for goal in objective["goals"]:
                statuses[goal["status"]] = statuses.get(goal["status"], 0) + 1
            count(objective["objectives"])

    count(body["objectives"])
    return dict(sorted(statuses.items()))


def reset(db_kind: str, url: str) -> None:
    """Empty a store whose load did not finish, so it is loaded afresh (as kpi_query does)."""
    if db_kind == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        for leftover in (
            path,
            path.with_name(f"{path.name}-wal"),
            path.with_name(f"{path.name}-shm"),
        ):
            leftover.unlink(missing_ok=True)
        return
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def open_store(
    stack: ExitStack, db_kind: str, label: str, url: str, goals: int, tickets: int | None
) -> Store:
    """Load the store when `tickets` is given, record its coverage, write a fresh plan and
    open a client on it (closed with `stack`)."""
    if tickets:
        reset(db_kind, url)
    settings = settings_for(url)
    migrate_database(settings)  # the store may predate the goal and coverage tables
    db = Database(url)
    stack.callback(db.dispose)
    if tickets:
        began = time.perf_counter()
        source_id = load(db, tickets)
        with db.session() as session:
            rebuild(session, source_id, settings.tz)
        mark_done(db_kind, url, tickets)
        print(f"{label}: loaded in {time.perf_counter() - began:.0f} s", flush=True)
    coverage = mark_covered(db, settings.tz)
    with db.session() as session:
        # A plan from an earlier run would add to this one's goals.
        for model in (AlignmentSnapshot, CheckIn, Milestone, Goal):
            session.execute(delete(model))
        session.execute(update(Objective).values(parent_id=None))
        session.execute(delete(Objective))
        admin = create_api_key(session, name="bench-admin", scope=KeyScope.ADMIN).key
        read = create_api_key(session, name="bench-read", scope=KeyScope.READ).key
    context = ServiceContext.build(settings, db=db)
    client = stack.enter_context(TestClient(create_app(context=context, run_scheduler=False)))
    write_plan(client, {"Authorization": f"Bearer {admin}"}, goals, coverage["source_id"])
    headers = {"Authorization": f"Bearer {read}"}
    first = client.get(SCORECARD, headers=headers)
    assert first.status_code == 200, first.text
    for _ in range(5):  # warm caches and connections
        assert client.get(SCORECARD, headers=headers).status_code == 200
    return Store(label, db, client, headers, coverage, status_counts(first.json()))


def measure(store: Store, requests: int) -> None:
    samples = []
    for _ in range(requests):
        began = time.perf_counter()
        response = store.client.get(SCORECARD, headers=store.headers)
        samples.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.text
    store.samples.extend(samples)
    store.rounds.append(round(statistics.median(samples), 1))


def run(
    db_kind: str,
    targets: list[tuple[str, str, int | None]],
    goals: int,
    rounds: int,
    requests: int,
) -> list[dict[str, Any]]:
    """Measure every (label, url, tickets to load or None) store, alternating in rounds
    (the order reversed every other round, so neither store always goes first)."""
    with ExitStack() as stack:
        stores = [open_store(stack, db_kind, label, url, goals, n) for label, url, n in targets]
        for number in range(rounds):
            for store in stores if number % 2 == 0 else reversed(stores):
                measure(store, requests)
        return [
            {
                "db": db_kind,
                "store": store.label,
                "goals": goals,
                "requests": len(store.samples),
                **store.coverage,
                "statuses": store.statuses,
                "p50_ms": round(statistics.median(store.samples), 1),
                "p95_ms": round(percentile(store.samples, 0.95), 1),
                "round_p50_ms": store.rounds,
            }
            for store in stores
        ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--reuse", action="append", help="URL of a store already loaded (repeatable)"
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--tickets", type=int, action="append", help="store size (repeatable; 100k and 1M)"
    )
    parser.add_argument("--goals", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=60, help="per store and round")
    args = parser.parse_args()
    targets: list[tuple[str, str, int | None]] = []
    if args.reuse:
        targets = [(url, url, None) for url in args.reuse]
        db_kind = args.reuse[0].split(":")[0].split("+")[0]
    else:
        # The stores bench/kpi_query.py keeps (loaded there once, or here if missing).
        db_kind = args.db
        for size in args.tickets or [100_000, 1_000_000]:
            url, loaded = prepare(args.db, size)
            targets.append((f"{size:,} tickets", url, None if loaded else size))
    results = run(db_kind, targets, args.goals, args.rounds, args.requests)
    for result in results:
        print(json.dumps(result), flush=True)
    if len(results) == 2:
        small, large = (r["p95_ms"] for r in results)
        print(
            f"{db_kind}: p95 {small} ms ({results[0]['store']}) → {large} ms "
            f"({results[1]['store']}), ×{large / small:.2f} "
            "(target: p95 ≤ 150 ms at 1M and ≤ ×1.5)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
