"""Scorecard benchmark: GET /api/v1/alignment for N goals over a store of 1M tickets.

Builds the store with bench/kpi_query.py's loader (or reuses one given with --reuse), writes
a three-level plan of N goals over varied KPIs and scopes through the API, then times the
scorecard in-process. Target: p95 ≤ 150 ms for 50 goals over 1,000,000 tickets.

    .venv/bin/python bench/alignment.py --db sqlite      # the 1M store of bench/kpi_query.py
    .venv/bin/python bench/alignment.py --db postgres
    .venv/bin/python bench/alignment.py --reuse sqlite:///path/to/a/store.db
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any

from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from kpi_query import load, mark_done, prepare  # bench/ is on sys.path when run as a script
from sqlalchemy import delete, update

from app.api.context import ServiceContext
from app.cli import migrate_database
from app.db import Database
from app.goals.models import AlignmentSnapshot, CheckIn, Goal, Milestone, Objective
from app.kpis.rollup import rebuild
from app.main import create_app
from app.security.apikeys import create_api_key
from app.security.models import KeyScope
from app.settings import Settings

AS_OF = "2025-12-15"
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


def goal_bodies(count: int) -> list[dict[str, Any]]:
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
                scope = {"source": 1, "client": str(i % 400)}
            case 2:
                scope = {"board": BOARDS[i % 4]}
            case 3:
                scope = {"priority": f"P{i % 4 + 1}"}
            case 4:
                kpi, scope = "utilization_pct", {"source": 1, "technician": str(i % 80)}
                kind = {"kind": "band", "low": 70, "high": 80}
            case 5:
                kpi, scope = "mrr", {"source": 1, "client": str(i % 400)}
                kind = {"kind": "increase", "baseline": 0, "target": 1000}
            case _:
                kpi, scope = "tickets_closed", {"source": 1, "technician": str(i % 80)}
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


def write_plan(client: TestClient, admin: dict[str, str], goals: int) -> None:
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
    for i, body in enumerate(goal_bodies(goals)):
        goal = post("/goals", {"objective_id": holders[i % len(holders)]["id"], **body})
        if goal["kind"] != "band" and i % 3 == 0:
            target = goal["target"]
            post(f"/goals/{goal['id']}/milestones", {"due_date": "2025-09-30", "target": target})
        if i % 4 == 0:
            post("/check-ins", {"goal_id": goal["id"], "confidence": 6, "date": "2025-11-01"})


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(url: str, goals: int, requests: int, tickets: int | None) -> dict[str, Any]:
    settings = Settings(
        _env_file=None,
        database_url=url,
        encryption_key=Fernet.generate_key().decode(),
        scheduler_enabled=False,
        log_level="WARNING",
    )
    migrate_database(settings)  # the store may predate the goal tables
    db = Database(url)
    if tickets:
        source_id = load(db, tickets)
        with db.session() as session:
            rebuild(session, source_id, settings.tz)
    with db.session() as session:
        # A plan from an earlier run would add to this one's goals.
        for model in (AlignmentSnapshot, CheckIn, Milestone, Goal):
            session.execute(delete(model))
        session.execute(update(Objective).values(parent_id=None))
        session.execute(delete(Objective))
        admin = create_api_key(session, name="bench-admin", scope=KeyScope.ADMIN).key
        read = create_api_key(session, name="bench-read", scope=KeyScope.READ).key
    context = ServiceContext.build(settings, db=db)
    with TestClient(create_app(context=context, run_scheduler=False)) as client:
        write_plan(client, {"Authorization": f"Bearer {admin}"}, goals)
        headers = {"Authorization": f"Bearer {read}"}
        url_path = f"/api/v1/alignment?as_of={AS_OF}"
        first = client.get(url_path, headers=headers)
        assert first.status_code == 200, first.text
        statuses: dict[str, int] = {}

        def count(objectives: list[Any]) -> None:
            for objective in objectives:
                for goal in objective["goals"]:
                    statuses[goal["status"]] = statuses.get(goal["status"], 0) + 1
                count(objective["objectives"])

        count(first.json()["objectives"])
        for _ in range(5):
            client.get(url_path, headers=headers)
        samples = []
        for _ in range(requests):
            began = time.perf_counter()
            response = client.get(url_path, headers=headers)
            samples.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200
    db.dispose()
    return {
        "db": url.split(":")[0],
        "goals": goals,
        "statuses": statuses,
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(percentile(samples, 0.95), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", help="URL of a store already loaded (goal tables are added)")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--goals", type=int, default=50)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    if args.reuse:
        print(json.dumps(run(args.reuse, args.goals, args.requests, None)))
        return 0
    # The stores bench/kpi_query.py keeps (loaded there once, or here if missing).
    url, loaded = prepare(args.db, args.tickets)
    print(json.dumps(run(url, args.goals, args.requests, None if loaded else args.tickets)))
    if not loaded:
        mark_done(args.db, url, args.tickets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
