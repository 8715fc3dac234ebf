"""The ids a listing stream (id sweep, full refresh) saw in one run, and what is gone.

A listing notes every id it sees (`remember_seen`, in the database: a sweep over millions of
records runs in flat memory); after a complete listing the stored facts it did not see are
the ones the PSA no longer has (`unseen_ids`), of the whole collection or of the slice of
ids it listed (a rolling sweep, `app.ingest.sweep_slices`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.facts.store import ROW_FOR_FACT
from app.ingest.models import SweepSeenId
from connectors.sdk import FactType


def remember_seen(session: Session, run_id: int, external_ids: Iterable[str]) -> None:
    """Note ids a listing run saw (idempotent within the run)."""
    rows = [{"run_id": run_id, "external_id": e} for e in set(external_ids)]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    insert_rows = upsert(SweepSeenId).on_conflict_do_nothing()
    session.connection().execute(insert_rows, rows)


def unseen_ids(
    session: Session,
    source_id: int,
    fact_type: FactType,
    run_id: int,
    *,
    synced_before: datetime,
    id_range: tuple[int | None, int | None] | None = None,
) -> list[str]:
    """After a complete listing: the stored facts the PSA no longer has (not seen by the run).

    Rows written after the listing began are kept (they were seen by a newer read). With
    `id_range` (a listing of the ids `low <= id < high` only; None: open at that end) only
    facts whose id is a number in the range are considered.
    """
    row_class = ROW_FOR_FACT[fact_type]
    seen = select(SweepSeenId.external_id).where(
        SweepSeenId.run_id == run_id, SweepSeenId.external_id == row_class.external_id
    )
    query = select(row_class.external_id).where(
        row_class.source_id == source_id,
        row_class.synced_at < synced_before,
        ~seen.exists(),
    )
    if id_range is None:
        return list(session.scalars(query))
    low, high = id_range
    dialect = session.get_bind().dialect.name
    if low is not None:
        query = query.where(_numeric_compare(row_class.external_id, ">=", low, dialect))
    if high is not None:
        query = query.where(_numeric_compare(row_class.external_id, "<", high, dialect))
    # The SQL compares digit strings by (length, text): only ids that really are numbers in
    # the range may go (a stray id of another form is kept, never removed unlisted).
    return [
        external_id
        for external_id in session.scalars(query)
        if external_id.isascii()
        and external_id.isdigit()
        and (low is None or int(external_id) >= low)
        and (high is None or int(external_id) < high)
    ]


def _numeric_compare(column: Any, op: str, bound: int, dialect: str) -> ColumnElement[bool]:
    """`column op bound` for ids stored as text that are plain numbers: a longer number is
    larger, numbers of one length compare as text (byte order: "C" on PostgreSQL, whose
    default collation might not order digits by value)."""
    text = str(bound)
    as_text = column.collate("C") if dialect == "postgresql" else column
    length = func.length(column)
    if op == ">=":
        return or_(length > len(text), and_(length == len(text), as_text >= text))
    assert op == "<"
    return or_(length < len(text), and_(length == len(text), as_text < text))


def forget_seen(session: Session, run_id: int) -> None:
    session.execute(delete(SweepSeenId).where(SweepSeenId.run_id == run_id))
