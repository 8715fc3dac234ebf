"""A sync of a source that holds facts runs its live streams (tickets, time) first, and the
KPI days a live stream changed are re-aggregated right after it: a changed ticket's KPIs
do not wait for the hourly re-reads queued behind it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from simulated_sources import simulated_source
from sqlalchemy import func, select

from app.db import Database
from app.ingest.run_book import StreamProgress
from app.kpis.models import KpiDirtyDay
from app.settings import Settings
from connectors.autotask.streams import STREAMS
from connectors.sandbox.mutate import mutate_world
from connectors.sdk import SyncInterval

TICKETS = 300


def test_live_streams_run_first_and_move_their_kpis_before_the_rest(
    settings: Settings, db: Database
) -> None:
    made = simulated_source(settings, db, "autotask", seed=57, tickets=TICKETS)
    runner, source_id = made.context.runner, made.source_id
    asyncio.run(runner.sync_source(source_id, trigger="cli"))
    mutate_world(made.world, seed=3, fraction=0.05, at=datetime.now(UTC))
    made.simulator.refresh()
    dirty_when_others_began: list[int] = []

    def watch(progress: StreamProgress) -> None:
        if progress.stream not in live and progress.pages == 1:
            with db.session() as session:
                dirty = select(func.count()).select_from(KpiDirtyDay)
                dirty_when_others_began.append(session.scalar(dirty) or 0)

    live = [spec.name for spec in STREAMS.values() if spec.interval is SyncInterval.LIVE]
    result = asyncio.run(runner.sync_source(source_id, trigger="cli", progress=watch))

    order = [o.stream for o in result]
    assert order[: len(live)] == live
    assert next(o for o in result if o.stream == "tickets").facts_changed > 0
    # The first stream after the live ones began with their KPI days already summed (the
    # later ones mark days of their own, summed at the end of the sync).
    assert dirty_when_others_began and dirty_when_others_began[0] == 0
    assert result.days_reaggregated > 0
    assert sorted(order) == sorted(STREAMS)
