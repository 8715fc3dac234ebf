"""Overview page benchmark: `GET /` (the owner's page, rendered on the server) beside
`GET /api/v1/alignment` (the JSON it shows), for the demo plan, over a large store.

Builds the store with bench/kpi_query.py's loader (or reuses the one it keeps in bench/out,
or one given with --reuse), records the source's coverage as a first sync would
(bench/alignment.py's `mark_covered`), seeds the demo plan (docs/goals.md §4, the plan
`make demo` writes) with its goals started on 2025-07-01, then times both in-process, as of
2025-12-15 (the store's tickets run to 2025-12-31), alternating in rounds so that machine
noise hits both alike. Target (issue 17): overview p95 ≤ 300 ms over 1,000,000 tickets and
a page of at most 300 kB.

    .venv/bin/python bench/overview.py                       # 1,000,000 tickets, SQLite
    .venv/bin/python bench/overview.py --tickets 100000 --rounds 3
    .venv/bin/python bench/overview.py --reuse sqlite:///path/to/a/store.db
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from contextlib import ExitStack
from datetime import date
from typing import Any

from alignment import mark_covered, percentile, reset, settings_for
from fastapi.testclient import TestClient
from kpi_query import load, mark_done, prepare  # bench/ is on sys.path when run as a script
from sqlalchemy import delete, update

from app.api.context import ServiceContext
from app.api.deps import COOKIE_NAME
from app.cli import migrate_database
from app.db import Database
from app.goals.examples import seed_example_plan
from app.goals.models import AlignmentSnapshot, CheckIn, Goal, Milestone, Objective
from app.kpis.rollup import rebuild
from app.main import create_app
from app.security.apikeys import create_api_key
from app.security.models import KeyScope

AS_OF = date(2025, 12, 15)
PLAN_START = date(2025, 7, 1)
OVERVIEW = f"/?as_of={AS_OF}"
ALIGNMENT = f"/api/v1/alignment?as_of={AS_OF}"
WARM_UP = 5


def open_store(stack: ExitStack, url: str, tickets: int | None) -> tuple[TestClient, str]:
    """Load the store when `tickets` is given, record its coverage, seed the demo plan
    afresh; a client on it (closed with `stack`) and a read key."""
    if tickets:
        reset("sqlite" if url.startswith("sqlite") else "postgres", url)
    settings = settings_for(url)
    migrate_database(settings)
    db = Database(url)
    stack.callback(db.dispose)
    if tickets:
        began = time.perf_counter()
        source_id = load(db, tickets)
        with db.session() as session:
            rebuild(session, source_id, settings.tz)
        mark_done("sqlite" if url.startswith("sqlite") else "postgres", url, tickets)
        print(f"loaded {tickets:,} tickets in {time.perf_counter() - began:.0f} s", flush=True)
    mark_covered(db, settings.tz)
    with db.session() as session:
        for model in (AlignmentSnapshot, CheckIn, Milestone, Goal):
            session.execute(delete(model))
        session.execute(update(Objective).values(parent_id=None))
        session.execute(delete(Objective))
        seed_example_plan(session, start=PLAN_START, today=AS_OF, tz=settings.tz)
        key = create_api_key(session, name="bench-read", scope=KeyScope.READ).key
    context = ServiceContext.build(settings, db=db)
    client = stack.enter_context(TestClient(create_app(context=context, run_scheduler=False)))
    return client, key


def timed(client: TestClient, path: str, headers: dict[str, str], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        began = time.perf_counter()
        response = client.get(path, headers=headers)
        samples.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.text[:500]
    return samples


def run(url: str, tickets: int | None, rounds: int, requests: int) -> dict[str, Any]:
    with ExitStack() as stack:
        client, key = open_store(stack, url, tickets)
        api = {"Authorization": f"Bearer {key}"}
        page = {"Cookie": f"{COOKIE_NAME}={key}"}
        first = client.get(OVERVIEW, headers=page)
        assert first.status_code == 200 and "article class='goal'" in first.text, first.text[:500]
        goals = first.text.count("<article class='goal'")
        charts = first.text.count("<figure class='chart'>")
        timed(client, OVERVIEW, page, WARM_UP)
        timed(client, ALIGNMENT, api, WARM_UP)
        samples: dict[str, list[float]] = {"overview": [], "alignment": []}
        for number in range(rounds):
            order = [("overview", OVERVIEW, page), ("alignment", ALIGNMENT, api)]
            for name, path, headers in order if number % 2 == 0 else reversed(order):
                samples[name] += timed(client, path, headers, requests)
        return {
            "store": url,
            "as_of": str(AS_OF),
            "goals": goals,
            "charts_drawn": charts,
            "page_kB": round(len(first.content) / 1024, 1),
            "requests_each": len(samples["overview"]),
            **{
                f"{name}_{stat}_ms": round(value, 1)
                for name, values in samples.items()
                for stat, value in (
                    ("p50", statistics.median(values)),
                    ("p95", percentile(values, 0.95)),
                )
            },
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", help="URL of a store already loaded")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=40, help="per page and round")
    args = parser.parse_args()
    if args.reuse:
        url, to_load = args.reuse, None
    else:
        url, loaded = prepare(args.db, args.tickets)
        to_load = None if loaded else args.tickets
    result = run(url, to_load, args.rounds, args.requests)
    print(json.dumps(result), flush=True)
    print(
        f"overview p95 {result['overview_p95_ms']} ms beside alignment p95 "
        f"{result['alignment_p95_ms']} ms; page {result['page_kB']} kB "
        "(target: overview p95 ≤ 300 ms over 1M tickets, page ≤ 300 kB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
