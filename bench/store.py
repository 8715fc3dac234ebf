"""Fact store benchmark: write a kept store's facts again, page by page, as a sync does.

Reads the tickets, time entries and survey responses of a SQLite store kept by
`bench/backfill.py --keep PATH`, then writes them into a fresh, migrated store through
`store_facts` (dirty days included), one transaction per page of `--page` facts, in the
order a backfill writes them. No network and no normalisation: the time is the store's own.
Prints one JSON object: seconds and facts/s per fact type, best of `--repeat` runs.

    .venv/bin/python bench/backfill.py --vendor connectwise --keep bench/out/cw100k.db
    .venv/bin/python bench/store.py --store bench/out/cw100k.db
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.fernet import Fernet
from sqlalchemy import select

from app.cli import migrate_database
from app.db import Database
from app.facts.models import SurveyResponseRow, TicketRow, TimeEntryRow
from app.kpis.dirty import store_facts
from app.settings import Settings
from app.sources.models import Source
from connectors.sdk import Fact, SurveyResponseFact, TicketFact, TimeEntryFact

KINDS: tuple[tuple[str, Any, Any], ...] = (
    ("tickets", TicketRow, TicketFact),
    ("time_entries", TimeEntryRow, TimeEntryFact),
    ("survey_responses", SurveyResponseRow, SurveyResponseFact),
)


def read_facts(store: Path) -> dict[str, list[Fact]]:
    """Every fact of the kinds above, in id order (the order keyset paging reads them)."""
    database = Database(f"sqlite:///{store}")
    facts: dict[str, list[Fact]] = {}
    with database.session() as session:
        for name, row_class, fact_class in KINDS:
            fields = [f.name for f in dataclasses.fields(fact_class)]
            rows = session.execute(
                select(*(getattr(row_class, f) for f in fields)).order_by(row_class.id)
            )
            facts[name] = [fact_class(*row) for row in rows]
    database.dispose()
    return facts


def write_all(facts: dict[str, list[Fact]], page: int, tz: str) -> dict[str, float]:
    """Seconds per kind to store `facts` into a fresh store, a transaction per page."""
    target = Path(__file__).with_name("out") / "store-work.db"
    target.unlink(missing_ok=True)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite:///{target}",
        encryption_key=Fernet.generate_key().decode(),
    )
    migrate_database(settings)
    database = Database(settings.database_url)
    with database.session() as session:
        source = Source(name="bench", kind="connectwise")
        session.add(source)
        session.flush()
        source_id = source.id
    seconds = {}
    zone = ZoneInfo(tz)
    for name, items in facts.items():
        began = time.perf_counter()
        for first in range(0, len(items), page):
            with database.session() as session:
                store_facts(session, source_id, items[first : first + page], zone)
        seconds[name] = time.perf_counter() - began
    database.dispose()
    target.unlink()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True, help="a store kept by backfill.py")
    parser.add_argument("--page", type=int, default=1000, help="facts per transaction")
    parser.add_argument("--tz", default="UTC", help="reporting time zone (default UTC)")
    parser.add_argument("--repeat", type=int, default=3, help="runs to time (best is kept)")
    args = parser.parse_args()

    facts = read_facts(args.store)
    runs = [write_all(facts, args.page, args.tz) for _ in range(args.repeat)]
    best = {name: min(run[name] for run in runs) for name in facts}
    total = sum(len(items) for items in facts.values())
    print(
        json.dumps(
            {
                "store": str(args.store),
                "page": args.page,
                "facts": {name: len(items) for name, items in facts.items()},
                "seconds_best": {name: round(s, 2) for name, s in best.items()},
                "facts_per_s_best": {
                    name: round(len(facts[name]) / s) for name, s in best.items() if s
                },
                "total_seconds_each": [round(sum(run.values()), 2) for run in runs],
                "total_facts_per_s_best": round(total / min(sum(r.values()) for r in runs)),
                "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
