"""KPI rollup benchmark: rebuild every daily and monthly rollup of a stored source.

Reads a SQLite store kept by `bench/backfill.py --keep PATH`, copies it (the original is
not touched), empties the copy's rollups and times `rebuild` of each source, as
`northstar kpis rebuild` runs it. Prints one JSON object.

    .venv/bin/python bench/backfill.py --vendor connectwise --keep bench/out/cw100k.db
    .venv/bin/python bench/rollup.py --store bench/out/cw100k.db
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select

from app.db import Database
from app.kpis.models import KpiDailyRollup, KpiMonthlyRollup
from app.kpis.rollup import rebuild
from app.sources.models import Source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True, help="a store kept by backfill.py")
    parser.add_argument("--tz", default="UTC", help="reporting time zone (default UTC)")
    parser.add_argument("--repeat", type=int, default=3, help="rebuilds to time (best is kept)")
    args = parser.parse_args()

    work = Path(__file__).with_name("out") / "rollup-work.db"
    work.parent.mkdir(exist_ok=True)
    timings = []
    for _ in range(args.repeat):
        shutil.copy(args.store, work)
        database = Database(f"sqlite:///{work}")
        with database.session() as session:
            session.execute(delete(KpiDailyRollup))
            session.execute(delete(KpiMonthlyRollup))
        with database.session() as session:
            sources = list(session.scalars(select(Source.id)))
            began = time.perf_counter()
            days = sum(rebuild(session, source, ZoneInfo(args.tz)) for source in sources)
        timings.append(time.perf_counter() - began)  # commit included
        with database.session() as session:
            rows = session.scalar(select(func.count()).select_from(KpiDailyRollup))
        database.dispose()
    work.unlink()
    print(
        json.dumps(
            {
                "store": str(args.store),
                "tz": args.tz,
                "days": days,
                "daily_rows": rows,
                "seconds_best": round(min(timings), 2),
                "seconds_each": [round(t, 2) for t in timings],
                "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
