"""Daily alignment snapshots (docs/goals.md §3: "how did this look on 1 March" is a read).

The scheduler runs `take_alignment_snapshots` for yesterday every hour at :05 (reporting time
zone): the first run of a day writes the snapshots, the others find them and do nothing, so
a service that was down at midnight catches up within the hour.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import structlog
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.db import Database
from app.goals.archive import live_plan
from app.goals.config import get_thresholds
from app.goals.evaluate import AlignmentEngine
from app.goals.models import AlignmentSnapshot
from app.goals.recorded import snapshot_of
from app.settings import Settings

log = structlog.get_logger(__name__)

SNAPSHOT_JOB = "goal-alignment-snapshots"


def take_alignment_snapshots(db: Database, settings: Settings, day: date) -> int:
    """Snapshot every goal's alignment as of `day` and return how many were written.

    Idempotent per day: a goal that already has a snapshot for `day` keeps it (history is
    not rewritten with what is known later). Computed baselines whose period is over are
    stored on the way, so they stay fixed from then on. When another process snapshots the
    same day at the same moment, this one writes nothing and says so in the log."""
    try:
        with db.session() as session:
            done = set(
                session.scalars(
                    select(AlignmentSnapshot.goal_id).where(AlignmentSnapshot.day == day)
                )
            )
            # A goal written down after `day` did not exist then: nothing to record. An
            # archived one is no longer tracked (so no alert reads a new snapshot of it).
            goals = [
                g
                for g in live_plan(session)[1]
                if g.id not in done and g.created_on(settings.tz) <= day
            ]
            if not goals:
                return 0
            engine = AlignmentEngine(
                session,
                thresholds=get_thresholds(),
                tz=settings.tz,
                persist_baselines=True,
                use_snapshots=False,
            )
            evaluated = engine.evaluate_goals(goals, day, sparkline=0)
            session.add_all(snapshot_of(evaluated[goal.id], day) for goal in goals)
            session.flush()
    except IntegrityError:
        log.info("goal_snapshots_taken_elsewhere", day=day.isoformat())
        return 0
    log.info("goal_snapshots_taken", day=day.isoformat(), goals=len(goals))
    return len(goals)


def snapshot_job(db: Database, settings: Settings) -> tuple[Callable[[], Any], Any, str]:
    """The scheduler job (`SyncScheduler(extra_jobs=[...])`): yesterday's snapshots."""

    def run() -> None:
        yesterday = datetime.now(settings.tz).date() - timedelta(days=1)
        try:
            take_alignment_snapshots(db, settings, yesterday)
        except Exception:
            log.exception("goal_snapshots_failed", day=yesterday.isoformat())

    return run, CronTrigger(minute=5, timezone=settings.tz), SNAPSHOT_JOB
