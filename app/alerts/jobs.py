"""The alerts job the scheduler runs every minute: new events, digests due, then the outbox.

Events for a day are found once that day's snapshot exists (the snapshot job writes
yesterday's at :05 past each hour), so the first run after it sends them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import structlog
from apscheduler.triggers.interval import IntervalTrigger

from app.alerts.digests import enqueue_due_digests
from app.alerts.evaluate import evaluate_rules
from app.alerts.outbox import Transports, deliver_due
from app.db import Database, utcnow
from app.security.crypto import CredentialCipher
from app.settings import Settings

log = structlog.get_logger(__name__)

ALERTS_JOB = "alerts-deliver"
INTERVAL_S = 60


def run_alerts(
    db: Database,
    settings: Settings,
    cipher: CredentialCipher,
    *,
    now: datetime | None = None,
    transports: Transports | None = None,
) -> int:
    """Evaluate rules and digests as of `now`, then send what is due; how many were tried."""
    now = now or utcnow()
    yesterday = now.astimezone(settings.tz).date() - timedelta(days=1)
    with db.session() as session:
        events = evaluate_rules(session, settings, through=yesterday, now=now)
        digests = enqueue_due_digests(session, settings, now=now)
    if events or digests:
        log.info("alerts_queued", events=len(events), digests=digests)
    return deliver_due(db, cipher, now=now, transports=transports)


def alerts_job(
    db: Database, settings: Settings, cipher: CredentialCipher
) -> tuple[Callable[[], Any], Any, str]:
    """The scheduler job (`SyncScheduler(extra_jobs=[...])`)."""

    def run() -> None:
        try:
            run_alerts(db, settings, cipher)
        except Exception:
            log.exception("alerts_job_failed")

    return run, IntervalTrigger(seconds=INTERVAL_S), ALERTS_JOB
