"""A sandbox source for the fault suite, and what its syncs stored, comparable with a clean sync.

`stored_facts` reads every fact table, the recurring-revenue schedules, the quarantine and
the KPI rollups of one source without bookkeeping (row ids, the source's id, when a row was
written), so the state a history of faults left can be compared with what one clean sync
of the same world stores (`clean_sync_facts`, once per PSA and database). `leftovers` lists
what a finished sync must not leave behind; `compared_with_a_clean_sync` puts it all in one
value for a test to compare with `AS_CLEAN`.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from source_checks import check_source
from sqlalchemy import Table, func, select

import app.models
from app.api.context import ServiceContext
from app.db import Database
from app.ingest.locks import source_sync_lock
from app.ingest.models import RunStatus
from app.ingest.runner import StreamOutcome, SyncResult, Trigger
from app.ingest.sandbox import sandbox_base_url, sandbox_support, sandbox_transport
from app.sources.models import Source, SourceStatus
from app.sources.service import create_source

KINDS = ("connectwise", "autotask")
SEED, TICKETS = 11, 600  # Autotask pages hold 500 records: big enough for streams of pages
# Smaller ConnectWise pages (its minimum is 25), so its streams have pages to come too.
CONFIG_EXTRAS: dict[str, dict[str, Any]] = {"connectwise": {"page_size": 100}, "autotask": {}}

FACT_TABLES = (
    "clients",
    "technicians",
    "tickets",
    "time_entries",
    "recurring_revenues",
    "survey_responses",
    "kpi_daily_rollups",
    "kpi_monthly_rollups",
    "kpi_daily_pair_rollups",
    "kpi_monthly_pair_rollups",
)
BOOKKEEPING = frozenset({"id", "source_id", "synced_at"})
QUARANTINE_COLUMNS = ("stream", "record_key", "field", "reason")
Row = tuple[Any, ...]
StoredFacts = dict[str, list[Row]]


def add_sandbox_source(context: ServiceContext, kind: str, name: str | None = None) -> int:
    support = sandbox_support(kind)
    assert support is not None, f"the {kind} connector ships a simulator"
    config = {**support.source_config(sandbox_base_url(SEED, TICKETS)), **CONFIG_EXTRAS[kind]}
    with context.db.session() as session:
        source = create_source(
            session,
            context.cipher,
            name=name or f"{kind} sandbox",
            kind=kind,
            config=config,
            fast_interval_minutes=5,
            slow_interval_minutes=60,
        )
        session.flush()
        source_id = source.id
    # Checked against the simulator itself, not through the faults a test puts in front of
    # it for its syncs: the source is active, as one an owner added.
    check_source(context, source_id, transports=sandbox_transport)
    return source_id


def sync_holding_the_lock(context: ServiceContext, source_id: int, **kwargs: Any) -> SyncResult:
    """A sync the way `northstar sync` runs one: with the source's lock, which a killed run
    must not keep. The lock is tried for a while: PostgreSQL frees a killed client's advisory
    lock when it notices the connection closed, a moment after the kill."""
    for _ in range(200):
        with source_sync_lock(context.db, source_id) as held:
            if held:
                kwargs.setdefault("trigger", Trigger.CLI)
                return asyncio.run(context.runner.sync_source(source_id, **kwargs))
        asyncio.run(asyncio.sleep(0.05))
    raise AssertionError(f"source {source_id} is still locked by a sync that is gone")


def failed_streams(outcomes: Sequence[StreamOutcome]) -> list[tuple[str, str | None]]:
    return [(o.stream, o.error_code) for o in outcomes if o.status is not RunStatus.SUCCEEDED]


_clean: dict[tuple[str, str], StoredFacts] = {}


def clean_sync_facts(context: ServiceContext, kind: str) -> StoredFacts:
    """What one uninterrupted sync of the sandbox world stores, for a source of `kind` in this
    database (synced once per PSA and database dialect, then remembered)."""
    key = (kind, context.db.engine.dialect.name)
    if key not in _clean:
        source_id = add_sandbox_source(context, kind, name=f"{kind} clean reference")
        outcomes = sync_holding_the_lock(context, source_id)
        assert failed_streams(outcomes) == [], "the clean reference sync itself failed"
        _clean[key] = stored_facts(context.db, source_id)
    return _clean[key]


def _plain(value: Any) -> Any:
    # Sums over the same facts may add up in another order: equal to 9 places is equal.
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, Decimal):
        return value.normalize()
    return value


def _rows(db: Database, table: Table, source_id: int, columns: Sequence[str]) -> list[Row]:
    with db.session() as session:
        result = session.execute(
            select(*(table.c[name] for name in columns)).where(table.c.source_id == source_id)
        )
        return sorted((tuple(_plain(v) for v in row) for row in result), key=repr)


def stored_facts(db: Database, source_id: int) -> StoredFacts:
    """Every fact, schedule piece, quarantined record and KPI rollup row of the source."""
    tables = app.models.metadata.tables
    facts: StoredFacts = {}
    for name in FACT_TABLES:
        table = tables[name]
        columns = [c.name for c in table.columns if c.name not in BOOKKEEPING]
        facts[name] = _rows(db, table, source_id, columns)
    revenues, amounts = tables["recurring_revenues"], tables["recurring_revenue_amounts"]
    with db.session() as session:
        schedule = session.execute(
            select(
                revenues.c.external_id,
                amounts.c.valid_from,
                amounts.c.valid_to,
                amounts.c.monthly_amount,
            )
            .join(revenues, amounts.c.revenue_id == revenues.c.id)
            .where(revenues.c.source_id == source_id)
        )
        facts["recurring_revenue_amounts"] = sorted(
            (tuple(_plain(v) for v in row) for row in schedule), key=repr
        )
    if "quarantined_records" in tables:
        quarantine = tables["quarantined_records"]
        facts["quarantined_records"] = _rows(db, quarantine, source_id, QUARANTINE_COLUMNS)
    return facts


def differences(expected: StoredFacts, actual: StoredFacts) -> dict[str, str]:
    """Per table, how `actual` differs from `expected`, in a line (empty when equal)."""
    found = {}
    for table in sorted(set(expected) | set(actual)):
        want, got = Counter(expected.get(table, [])), Counter(actual.get(table, []))
        missing, extra = list((want - got).elements()), list((got - want).elements())
        if missing or extra:
            example = f"e.g. missing {missing[0]!r}" if missing else f"e.g. extra {extra[0]!r}"
            found[table] = f"{len(missing)} rows missing, {len(extra)} unexpected; {example}"
    return found


def leftovers(db: Database, source_id: int) -> dict[str, Any]:
    """What a finished sync left that it should have cleared (empty when none)."""
    tables = app.models.metadata.tables
    runs, seen = tables["sync_runs"], tables["sweep_seen_ids"]
    dirty, pending = tables["kpi_dirty_days"], tables["kpi_rebuilds_pending"]
    with db.session() as session:
        running = session.execute(
            select(runs.c.id, runs.c.stream).where(
                runs.c.source_id == source_id, runs.c.status == RunStatus.RUNNING
            )
        ).all()
        sweep_rows = session.execute(
            select(runs.c.stream, func.count())
            .select_from(seen)
            .join(runs, seen.c.run_id == runs.c.id)
            .where(runs.c.source_id == source_id)
            .group_by(runs.c.stream)
        ).all()
        dirty_days = session.scalar(
            select(func.count()).select_from(dirty).where(dirty.c.source_id == source_id)
        )
        rebuild = session.scalar(
            select(func.count()).select_from(pending).where(pending.c.source_id == source_id)
        )
    found: dict[str, Any] = {
        "runs still running": [tuple(r) for r in running],
        "sweep rows (stream, rows)": [tuple(r) for r in sweep_rows],
        "KPI days still dirty": dirty_days,
        "KPI rebuild still pending": bool(rebuild),
    }
    return {what: value for what, value in found.items() if value}


AS_CLEAN: dict[str, Any] = {
    "failed streams": [],
    "differences from a clean sync": {},
    "left behind": {},
    "source status": SourceStatus.ACTIVE,
}


def compared_with_a_clean_sync(
    context: ServiceContext, kind: str, source_id: int, outcomes: SyncResult
) -> dict[str, Any]:
    """The source after its last sync (`outcomes`), as `AS_CLEAN` describes a clean one: in
    one value, so a failing test shows every way it falls short at once. `context` must
    reach the PSA without faults: it syncs the clean reference."""
    with context.db.session() as session:
        source = session.get(Source, source_id)
        assert source is not None
        status = source.status
    return {
        "failed streams": failed_streams(outcomes),
        "differences from a clean sync": differences(
            clean_sync_facts(context, kind), stored_facts(context.db, source_id)
        ),
        "left behind": leftovers(context.db, source_id),
        "source status": status,
    }
