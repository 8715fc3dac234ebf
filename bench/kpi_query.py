"""KPI query benchmark: 12-month series (one scope and combined scopes) and a client
breakdown, through the API.

Loads N tickets (each with 2 time entries, and a survey response on every tenth) straight into
the canonical fact tables, builds the KPI rollups, then times requests through the ASGI app
in-process. Run:

    .venv/bin/python bench/kpi_query.py                      # 100k and 1M, SQLite and PostgreSQL
    .venv/bin/python bench/kpi_query.py --tickets 100000 --db sqlite
    .venv/bin/python bench/kpi_query.py --combined           # combined scopes, 100k and 1M

Each size loads once into its own database (bench/out/*.db, PostgreSQL `northstar_bench_N`)
and later runs only measure; `--reload` loads again.

`--combined` (issue 21, part 3) times the combined-scope monthly series alone (client and
priority: SLA resolution; technician and board: hours logged) over stores synthesised
straight into the monthly rollup tables by `bench/rollup_synthesis.py` (the KPI store's own
aggregation and writer; no fact rows and no daily rows, which a monthly series never reads:
loading and rebuilding a million tickets takes over ten minutes). Both stores are built
afresh in one run, in SQLite under /tmp/northstar-bench, and measured one after the other.

Query cost must not grow with the number of tickets: p95 ≤ 50 ms, and p95 at 1M ≤ 1.5 × p95
at 100k.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from rollup_synthesis import synthesise  # bench/ is on sys.path when run as a script
from sqlalchemy import create_engine, insert, text

from app.api.context import ServiceContext
from app.cli import migrate_database
from app.db import Database
from app.facts.models import ClientRow, SurveyResponseRow, TechnicianRow, TicketRow, TimeEntryRow
from app.kpis.rollup import rebuild
from app.main import create_app
from app.security.apikeys import create_api_key
from app.security.models import KeyScope
from app.settings import Settings
from app.sources.models import Source

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
OUT = Path(__file__).with_name("out")
START = datetime(2023, 1, 1, tzinfo=UTC)
DAYS = 3 * 365
CLIENTS, TECHNICIANS = 400, 80
BOARDS = ("Service Desk", "Escalations", "Projects Support", "Onboarding")
CHUNK = 20_000
SERIES = "grain=month&from=2025-01-01&to=2026-01-01"
# Combined-scope series: the pair rollups, one pair member over 12 months.
COMBINED = {
    "client_priority_sla_12_months": (
        f"/api/v1/kpis/sla_resolution_pct/values?{SERIES}&client=17&priority=P2&source={{s}}"
    ),
    "technician_board_hours_12_months": (
        f"/api/v1/kpis/hours_logged/values?{SERIES}&technician=7&board=Escalations&source={{s}}"
    ),
}
COMBINED_OUT = Path(tempfile.gettempdir()) / "northstar-bench"


def load(db: Database, tickets: int, seed: int = 11) -> int:
    rng = random.Random(seed)
    with db.session() as session:
        source = Source(name="bench", kind="bench", config={}, secrets_encrypted="")
        session.add(source)
        session.flush()
        source_id = source.id
        session.execute(
            insert(ClientRow),
            [
                {
                    "source_id": source_id,
                    "external_id": str(i),
                    "name": f"Client {i}",
                    "active": True,
                }
                for i in range(CLIENTS)
            ],
        )
        session.execute(
            insert(TechnicianRow),
            [
                {
                    "source_id": source_id,
                    "external_id": str(i),
                    "name": f"Tech {i}",
                    "active": i % 20 != 0,
                    "included_in_utilization": i % 10 != 0,
                }
                for i in range(TECHNICIANS)
            ],
        )
    entry_id = survey_id = 0
    for start in range(0, tickets, CHUNK):
        ticket_rows, entry_rows, survey_rows = [], [], []
        for n in range(start, min(tickets, start + CHUNK)):
            created = START + timedelta(seconds=rng.randrange(DAYS * 86400))
            responded = created + timedelta(minutes=rng.randrange(5, 600))
            resolved = responded + timedelta(hours=rng.randrange(1, 96))
            closed = resolved + timedelta(hours=rng.randrange(0, 48))
            is_closed = rng.random() < 0.97
            level = rng.choice((1, 2, 3, 3, 4, 4))
            assignee = str(rng.randrange(TECHNICIANS))
            client = str(rng.randrange(CLIENTS))
            ticket_rows.append(
                {
                    "source_id": source_id,
                    "external_id": str(n),
                    "number": str(n),
                    "title": "bench",
                    "client_external_id": client,
                    "board": rng.choice(BOARDS),
                    "status": "Closed" if is_closed else "In Progress",
                    "is_closed": is_closed,
                    "priority": f"Priority {level}",
                    "priority_level": level,
                    "assignee_external_id": assignee,
                    "created_at": created,
                    "first_response_at": responded,
                    "resolved_at": resolved if is_closed else None,
                    "closed_at": closed if is_closed else None,
                    "response_met": rng.random() < 0.9,
                    "resolution_met": rng.random() < 0.85,
                    "updated_at": closed,
                }
            )
            for _ in range(2):
                entry_id += 1
                hours = rng.choice((0.25, 0.5, 1.0, 1.5, 2.0))
                entry_rows.append(
                    {
                        "source_id": source_id,
                        "external_id": str(entry_id),
                        "technician_external_id": assignee,
                        "client_external_id": client,
                        "ticket_external_id": str(n),
                        "work_date": responded.date(),
                        "hours": hours,
                        "billable_hours": hours if rng.random() < 0.7 else 0.0,
                        "counts_toward_utilization": True,
                    }
                )
            if n % 10 == 0 and is_closed:
                survey_id += 1
                survey_rows.append(
                    {
                        "source_id": source_id,
                        "external_id": str(survey_id),
                        "ticket_external_id": str(n),
                        "client_external_id": client,
                        "completed_at": closed + timedelta(hours=2),
                        "score": rng.choice((0.0, 0.5, 0.75, 1.0, 1.0)),
                    }
                )
        with db.session() as session:
            session.execute(insert(TicketRow), ticket_rows)
            session.execute(insert(TimeEntryRow), entry_rows)
            if survey_rows:
                session.execute(insert(SurveyResponseRow), survey_rows)
    return source_id


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(
    client: TestClient, headers: dict[str, str], url: str, requests: int
) -> dict[str, float]:
    for _ in range(5):  # warm caches and connections
        assert client.get(url, headers=headers).status_code == 200
    samples = []
    for _ in range(requests):
        began = time.perf_counter()
        response = client.get(url, headers=headers)
        samples.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.text
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(percentile(samples, 0.95), 2),
    }


def prepare(db_kind: str, tickets: int) -> tuple[str, bool]:
    """The benchmark database for this size (its own, never the test suite's) and whether
    it already holds the data: loading a million tickets takes minutes, measuring seconds."""
    if db_kind == "sqlite":
        OUT.mkdir(exist_ok=True)
        path = OUT / f"kpi_query_{tickets}.db"
        return f"sqlite:///{path}", path.exists() and (OUT / f"{path.name}.done").exists()
    name = f"northstar_bench_{tickets}"
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).scalar()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = f"{PG_SERVER}/{name}"
    engine = create_engine(url)
    with engine.connect() as conn:
        done = conn.execute(text("SELECT to_regclass('public.bench_done')")).scalar()
    engine.dispose()
    return url, done is not None


def mark_done(db_kind: str, url: str, tickets: int) -> None:
    if db_kind == "sqlite":
        (OUT / f"kpi_query_{tickets}.db.done").touch()
        return
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_done (id integer)"))
    engine.dispose()


def run(db_kind: str, tickets: int, requests: int, reload: bool) -> dict[str, Any]:
    url, loaded = prepare(db_kind, tickets)
    if (reload and loaded) or not loaded:
        if db_kind == "sqlite":
            Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        else:
            engine = create_engine(url)
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            engine.dispose()
        loaded = False
    settings = Settings(
        _env_file=None,
        database_url=url,  # type: ignore[call-arg]
        encryption_key=Fernet.generate_key().decode(),
        scheduler_enabled=False,
        log_level="WARNING",
    )
    db = Database(url)
    load_s = rollup_s = None
    if not loaded:
        migrate_database(settings)
        began = time.perf_counter()
        source_id = load(db, tickets)
        load_s = round(time.perf_counter() - began, 1)
        began = time.perf_counter()
        with db.session() as session:
            rebuild(session, source_id, settings.tz)
        rollup_s = round(time.perf_counter() - began, 1)
        mark_done(db_kind, url, tickets)
    with db.session() as session:
        key = create_api_key(session, name="bench", scope=KeyScope.READ).key
    context = ServiceContext.build(settings, db=db)
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(context=context, run_scheduler=False)) as client:
        series = measure(
            client,
            headers,
            "/api/v1/kpis/sla_resolution_pct/values?grain=month&from=2025-01-01&to=2026-01-01",
            requests,
        )
        utilization = measure(
            client,
            headers,
            "/api/v1/kpis/utilization_pct/values?grain=month&from=2025-01-01&to=2026-01-01",
            requests,
        )
        breakdown = measure(
            client,
            headers,
            "/api/v1/kpis/sla_response_pct/breakdown?by=client&period=2025-11",
            requests,
        )
        combined = {
            name: measure(client, headers, url.format(s=1), requests)
            for name, url in COMBINED.items()
        }
    db.dispose()
    return {
        "db": db_kind,
        "tickets": tickets,
        "time_entries": 2 * tickets,
        "load_s": load_s,
        "rollup_rebuild_s": rollup_s,
        "series_12_months": series,
        "utilization_12_months": utilization,
        "client_breakdown": breakdown,
        **combined,
    }


def run_combined(tickets: int, requests: int) -> dict[str, Any]:
    """A fresh synthesised store of `tickets` (SQLite under /tmp), then the combined-scope
    series timed through the API."""
    COMBINED_OUT.mkdir(exist_ok=True)
    path = COMBINED_OUT / f"kpi_pairs_{tickets}.db"
    path.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    settings = Settings(
        _env_file=None,
        database_url=url,  # type: ignore[call-arg]
        encryption_key=Fernet.generate_key().decode(),
        scheduler_enabled=False,
        log_level="WARNING",
    )
    migrate_database(settings)
    db = Database(url)
    began = time.perf_counter()
    source_id = synthesise(db, tickets)
    built_s = round(time.perf_counter() - began, 1)
    with db.session() as session:
        key = create_api_key(session, name="bench", scope=KeyScope.READ).key
        pair_rows = session.execute(text("SELECT count(*) FROM kpi_monthly_pair_rollups")).scalar()
    context = ServiceContext.build(settings, db=db)
    headers = {"Authorization": f"Bearer {key}"}
    result: dict[str, Any] = {"db": "sqlite", "tickets": tickets, "synthesis_s": built_s}
    result["monthly_pair_rows"] = pair_rows
    with TestClient(create_app(context=context, run_scheduler=False)) as client:
        for name, template in COMBINED.items():
            url = template.format(s=source_id)
            values = client.get(url, headers=headers).json()["values"]
            assert all(v["reason"] is None for v in values), values  # covered: computed
            result[f"{name}_sample"] = sum(v["sample_size"] for v in values)
            result[name] = measure(client, headers, url, requests)
    db.dispose()
    return result


def compare(results: list[dict[str, Any]], kind: str, queries: list[str]) -> None:
    rows = [r for r in results if r["db"] == kind]
    if len(rows) == 2:
        for query in queries:
            small, large = (r[query]["p95_ms"] for r in rows)
            print(
                f"{kind} {query}: p95 {small} ms → {large} ms "
                f"(×{large / small:.2f}; target ≤ ×1.5 and ≤ 50 ms)"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--tickets", type=int, action="append")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--reload", action="store_true", help="Load the data again.")
    parser.add_argument(
        "--combined", action="store_true", help="Combined scopes, synthesised stores in /tmp."
    )
    args = parser.parse_args()
    sizes = args.tickets or [100_000, 1_000_000]
    if args.combined:
        results = [run_combined(size, args.requests) for size in sizes]
        for result in results:
            print(json.dumps(result), flush=True)
        compare(results, "sqlite", list(COMBINED))
        return 0
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results = []
    for kind in kinds:
        for size in sizes:
            result = run(kind, size, args.requests, args.reload)
            results.append(result)
            print(json.dumps(result), flush=True)
    queries = ["series_12_months", "utilization_12_months", "client_breakdown", *COMBINED]
    for kind in kinds:
        compare(results, kind, queries)
    return 0


if __name__ == "__main__":
    sys.exit(main())
