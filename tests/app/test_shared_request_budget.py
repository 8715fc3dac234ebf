"""The request budget is counted in the database, so every process syncing a source (the
scheduler, each `northstar sync`) shares one: measured before, a CLI sync and the scheduler
each allowed themselves the source's whole hourly budget (300 requests in 10 s against 150)."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.api.context import ServiceContext
from app.db import Database
from app.ingest.sandbox import sandbox_base_url, sandbox_support
from app.security.crypto import cipher_from_settings
from app.settings import Settings
from app.sources import service
from app.sources.budget_ledger import DatabaseLedger, RequestBooking
from app.sources.models import Source, SourceStatus
from app.sources.router import _out
from app.sources.service import create_source
from connectors.sdk.budget import RequestBudget
from connectors.sdk.errors import BudgetExhausted

SEED, TICKETS = 5, 400


def _spend(budget: RequestBudget, taken: list[int], start: threading.Barrier) -> None:
    async def run() -> None:
        start.wait()
        while True:
            try:
                await budget.acquire()
            except BudgetExhausted:
                return
            taken.append(1)
            # As a sync does between requests: the other process gets its turn at the ledger
            # (without it, on a busy machine one thread could take all before the other runs).
            await asyncio.sleep(0.002)

    asyncio.run(run())


def test_two_processes_share_one_budget(settings: Settings) -> None:
    """Two Database objects are two processes: each books from the same ledger."""
    first, second = Database(settings.database_url), Database(settings.database_url)
    try:
        with first.session() as session:
            source_id = _autotask_source(session, settings, requests_per_hour=45)
        budgets = [
            RequestBudget(45, 3600.0, ledger=DatabaseLedger(db, source_id))
            for db in (first, second)
        ]
        taken: list[list[int]] = [[], []]
        start = threading.Barrier(2)
        threads = [
            threading.Thread(target=_spend, args=(budget, mine, start))
            for budget, mine in zip(budgets, taken, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(taken[0]) + len(taken[1]) == 45
        assert taken[0] and taken[1], "both processes had their turn"
        assert budgets[0].used() == budgets[1].used() == 45
    finally:
        first.dispose()
        second.dispose()


def test_what_a_run_did_not_use_goes_back(db: Database, settings: Settings) -> None:
    with db.session() as session:
        source_id = _autotask_source(session, settings, requests_per_hour=200)
    ledger = DatabaseLedger(db, source_id)
    budget = RequestBudget(200, 3600.0, ledger=ledger)
    asyncio.run(budget.acquire())  # books a block of 20, uses 1
    assert ledger.used(3600.0) == 20
    budget.release()
    assert ledger.used(3600.0) == 1


def test_room_frees_up_as_the_oldest_minute_leaves_the_hour(
    db: Database, settings: Settings
) -> None:
    with db.session() as session:
        source_id = _autotask_source(session, settings, requests_per_hour=10)
    now = [datetime(2026, 12, 3, 6, 0, 30, tzinfo=UTC)]
    ledger = DatabaseLedger(db, source_id, clock=lambda: now[0])
    assert ledger.book(10, 10, 3600.0) == (10, 0.0)
    booked, wait = ledger.book(1, 10, 3600.0)
    # Counted in whole minutes towards more use: the 06:00 minute leaves the window at 07:01.
    assert (booked, wait) == (0, timedelta(minutes=61, seconds=-30).total_seconds())
    now[0] += timedelta(minutes=61)
    assert ledger.book(5, 10, 3600.0) == (5, 0.0)
    with db.session() as session:
        minutes = session.scalars(
            select(RequestBooking.minute).where(RequestBooking.source_id == source_id)
        )
        assert len(list(minutes)) == 2


def test_a_cli_sync_and_the_scheduler_together_stay_within_the_budget(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The measured case: a sync from the command line, then the scheduler's, each a
    process of its own. Together they make no more requests than the budget allows."""
    limit = 30
    first = ServiceContext.build(settings, db=Database(settings.database_url))
    second = ServiceContext.build(settings, db=Database(settings.database_url))
    try:
        with first.db.session() as session:
            source_id = _autotask_source(session, settings, requests_per_hour=limit)
        made = 0
        exhausted = []
        for context, trigger in ((first, "cli"), (second, "schedule")):
            # A process of its own: none of the other's budgets in memory.
            monkeypatch.setattr(service, "budgets", service.SourceBudgets())
            result = asyncio.run(context.runner.sync_source(source_id, trigger=trigger))
            made += result.setup_requests + sum(outcome.requests for outcome in result)
            codes = {outcome.error_code for outcome in result if outcome.error_code}
            assert codes <= {"psa_request_budget_exhausted"}, codes
            exhausted.append(bool(codes))
        # The first sync takes about the whole budget: the second finds it spent.
        assert exhausted[-1]
        assert made <= limit
        assert DatabaseLedger(first.db, source_id).used(3600.0) <= limit
        with first.db.session() as session:
            shown = _out(
                session,
                first.cipher,
                session.get_one(Source, source_id),
                first.settings.stale_after_intervals,
            )
        # What GET /api/v1/sources/{id} says: every request booked, the sync's own included.
        assert made <= shown.requests_last_hour <= limit
    finally:
        first.db.dispose()
        second.db.dispose()


def _autotask_source(session: Session, settings: Settings, *, requests_per_hour: int) -> int:
    """An Autotask sandbox source (its simulator in process), active."""
    support = sandbox_support("autotask")
    assert support is not None
    config = support.source_config(sandbox_base_url(SEED, TICKETS))
    config["requests_per_hour"] = requests_per_hour
    source = create_source(
        session,
        cipher_from_settings(settings),
        name="Autotask sandbox",
        kind="autotask",
        config=config,
        fast_interval_minutes=5,
        slow_interval_minutes=60,
    )
    source.status = SourceStatus.ACTIVE
    session.flush()
    return source.id


@pytest.fixture(autouse=True)
def _no_leftover_budgets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Budgets live as long as the process; each test starts with none."""
    monkeypatch.setattr(service, "budgets", service.SourceBudgets())
