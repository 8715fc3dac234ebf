"""Writing canonical facts: idempotent upserts keyed on (source_id, external_id).

An upsert only rewrites a row whose values changed, so a re-run of the same pages changes
nothing and the counts returned are the rows that really changed.
"""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from itertools import repeat
from operator import attrgetter
from typing import Any

from sqlalchemy import CursorResult, Dialect, Table, bindparam, delete, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.db import UTCDateTime, utcnow
from app.facts.models import (
    ClientRow,
    RecurringAmountRow,
    RecurringRevenueRow,
    SurveyResponseRow,
    TechnicianRow,
    TicketRow,
    TimeEntryRow,
)
from connectors.sdk import (
    Deletion,
    Fact,
    FactOrDeletion,
    FactType,
    MatchedDeletion,
    RecurringRevenueFact,
    TechnicianFact,
)

ROW_FOR_FACT: dict[FactType, Any] = {
    FactType.CLIENT: ClientRow,
    FactType.TECHNICIAN: TechnicianRow,
    FactType.TICKET: TicketRow,
    FactType.TIME_ENTRY: TimeEntryRow,
    FactType.RECURRING_REVENUE: RecurringRevenueRow,
    FactType.SURVEY_RESPONSE: SurveyResponseRow,
}
WEEKDAY_COLUMNS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclasses.dataclass
class WriteResult:
    changed: int = 0
    deleted: int = 0

    def __iadd__(self, other: WriteResult) -> WriteResult:
        self.changed += other.changed
        self.deleted += other.deleted
        return self


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(fact: Fact) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(type(fact))
    if names is None:
        names = _FIELD_NAMES[type(fact)] = tuple(f.name for f in dataclasses.fields(fact))
    return names


def _columns_of(fact: Fact) -> dict[str, Any]:
    values = {name: getattr(fact, name) for name in _field_names(fact)}
    if isinstance(fact, TechnicianFact):
        for day, hours in zip(WEEKDAY_COLUMNS, values.pop("capacity_hours"), strict=True):
            values[f"capacity_{day}"] = float(hours)
    if isinstance(fact, RecurringRevenueFact):
        values["amount_schedule"] = json.dumps(
            [
                [
                    p.valid_from.isoformat(),
                    p.valid_to.isoformat() if p.valid_to else None,
                    str(p.monthly_amount),
                ]
                for p in values.pop("amount_schedule")
            ]
        )
    return values


def _rows_of(facts: Sequence[Fact]) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """(column names, a tuple of values per fact) for facts of one type. Most fact fields are
    columns as they are; technicians and recurring revenue are reshaped (`_columns_of`)."""
    if isinstance(facts[0], TechnicianFact | RecurringRevenueFact):
        mappings = [_columns_of(f) for f in facts]
        names = tuple(mappings[0])
        return names, [tuple(m[n] for n in names) for m in mappings]
    names = _field_names(facts[0])
    assert len(names) > 1  # so that attrgetter gives a tuple per fact
    values_of = attrgetter(*names)
    return names, [values_of(f) for f in facts]


def _utc_text_for_sqlite(value: datetime | None) -> str | None:
    """`UTCDateTime`'s conversion on SQLite in one step: the naive UTC text SQLAlchemy's
    DATETIME writes ("YYYY-MM-DD HH:MM:SS.ffffff"), the one form SQLite compares."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware UTC datetime is required")
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]  # without its "+00:00"


def bind_conversion(column_type: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    """What SQLAlchemy does to a parameter of this type on this backend (the dialect's own
    implementation: SQLite's writes datetimes in the one text form comparisons rely on).

    `UTCDateTime` on SQLite gets the same result from one function instead of two chained
    ones: a ticket has six datetimes, and the chain cost more than writing the row."""
    if isinstance(column_type, UTCDateTime) and dialect.name == "sqlite":
        return _utc_text_for_sqlite
    conversion: Callable[[Any], Any] | None = column_type.dialect_impl(dialect).bind_processor(
        dialect
    )
    return conversion


@dataclasses.dataclass(frozen=True)
class _Upsert:
    """An upsert statement compiled once per table, columns and backend, with the bind
    conversion of each of its parameters."""

    sql: str
    columns: tuple[str, ...]  # in the statement's order
    positions: tuple[int, ...]  # where each is in a row given, then in the constants
    convert: tuple[Callable[[Any], Any] | None, ...]
    named: bool  # the driver takes a mapping per row (PostgreSQL), not a tuple (SQLite)

    def parameters(self, rows: list[tuple[Any, ...]], constants: tuple[Any, ...]) -> list[Any]:
        """The rows, each followed by `constants`, as the driver's executemany takes them:
        converted column by column, the constants once."""
        given = list(zip(*rows, strict=True))
        columns: list[Iterable[Any]] = []
        for at, convert in zip(self.positions, self.convert, strict=True):
            if at >= len(given):
                constant = constants[at - len(given)]
                converted = constant if convert is None else convert(constant)
                columns.append(repeat(converted, len(rows)))
            elif convert is None:
                columns.append(given[at])
            else:
                columns.append(list(map(convert, given[at])))
        if self.named:
            return [
                dict(zip(self.columns, values, strict=True))
                for values in zip(*columns, strict=True)
            ]
        return list(zip(*columns, strict=True))


_UPSERTS: dict[tuple[str, tuple[str, ...], str], _Upsert] = {}


def _compiled_upsert(table: Table, columns: tuple[str, ...], dialect: Dialect) -> _Upsert:
    key = (table.name, columns, dialect.name)
    if key not in _UPSERTS:
        upsert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
        insert_rows = upsert(table).values(
            {c: bindparam(c, type_=table.c[c].type) for c in columns}
        )
        excluded = insert_rows.excluded
        updatable = [c for c in columns if c not in ("source_id", "external_id")]
        differs = or_(
            *(table.c[c].is_distinct_from(excluded[c]) for c in updatable if c != "synced_at")
        )
        statement = insert_rows.on_conflict_do_update(
            index_elements=[table.c.source_id, table.c.external_id],
            set_={c: excluded[c] for c in updatable},
            where=differs,
        )
        compiled = statement.compile(dialect=dialect)
        order = tuple(compiled.positiontup or columns)
        _UPSERTS[key] = _Upsert(
            sql=compiled.string,
            columns=order,
            positions=tuple(columns.index(c) for c in order),
            convert=tuple(bind_conversion(table.c[c].type, dialect) for c in order),
            named=not compiled.positional,
        )
    return _UPSERTS[key]


def _upsert(
    session: Session,
    table: Table,
    columns: tuple[str, ...],
    rows: list[tuple[Any, ...]],
    constants: Mapping[str, Any],
) -> int:
    """Insert or update `rows` (values of `columns`, then the same `constants` for each);
    returns how many rows were inserted or really changed.

    One statement compiled once, its parameters converted as SQLAlchemy would, and run as
    the driver's own executemany in the session's transaction: SQLAlchemy's per-row
    handling of a page cost more than the database's work.
    """
    if not rows:
        return 0
    connection = session.connection()
    upsert = _compiled_upsert(table, (*columns, *constants), connection.dialect)
    parameters = upsert.parameters(rows, tuple(constants.values()))
    dbapi = connection.connection
    cursor = dbapi.cursor()
    try:
        if connection.dialect.name == "sqlite":
            # Rows skipped by the upsert's WHERE are not changes; total_changes agrees.
            before = dbapi.driver_connection.total_changes  # type: ignore[union-attr]
            cursor.executemany(upsert.sql, parameters)
            return int(dbapi.driver_connection.total_changes - before)  # type: ignore[union-attr]
        cursor.executemany(upsert.sql, parameters)
        return int(cursor.rowcount)  # psycopg sums the rows each execution changed
    finally:
        cursor.close()


def _rowcount(result: object) -> int:
    return result.rowcount if isinstance(result, CursorResult) else 0


def _dedupe_last(facts: Iterable[Fact]) -> list[Fact]:
    """The last version of each external id wins (a page may repeat a record)."""
    latest: dict[str, Fact] = {}
    for fact in facts:
        latest[fact.external_id] = fact
    return list(latest.values())


def write_facts(session: Session, source_id: int, items: Sequence[FactOrDeletion]) -> WriteResult:
    """Upsert facts and apply deletions, in the caller's transaction."""
    result = WriteResult()
    by_type: dict[FactType, list[Fact]] = defaultdict(list)
    deletions: dict[FactType, list[str]] = defaultdict(list)
    for item in items:
        if isinstance(item, Deletion):
            deletions[item.fact_type].append(item.external_id)
        elif isinstance(item, MatchedDeletion):
            raise TypeError("resolve MatchedDeletion first (app.facts.matching)")
        else:
            by_type[item.fact_type].append(item)
    now = utcnow()
    for fact_type, facts in by_type.items():
        row_class = ROW_FOR_FACT[fact_type]
        unique = _dedupe_last(facts)
        columns, rows = _rows_of(unique)
        stamp = {"source_id": source_id, "synced_at": now}
        result.changed += _upsert(session, row_class.__table__, columns, rows, stamp)
        if fact_type is FactType.RECURRING_REVENUE:
            _replace_amounts(session, source_id, unique)  # type: ignore[arg-type]
    for fact_type, external_ids in deletions.items():
        result.deleted += delete_facts(session, source_id, fact_type, external_ids)
    return result


def _replace_amounts(
    session: Session, source_id: int, facts: Sequence[RecurringRevenueFact]
) -> None:
    # A Result has .keys(), so dict(result) would treat it as a mapping: build it by hand.
    ids = {
        external_id: row_id
        for external_id, row_id in session.execute(
            select(RecurringRevenueRow.external_id, RecurringRevenueRow.id).where(
                RecurringRevenueRow.source_id == source_id,
                RecurringRevenueRow.external_id.in_([f.external_id for f in facts]),
            )
        )
    }
    session.execute(
        delete(RecurringAmountRow).where(RecurringAmountRow.revenue_id.in_(ids.values()))
    )
    amounts = [
        {
            "revenue_id": ids[f.external_id],
            "valid_from": p.valid_from,
            "valid_to": p.valid_to,
            "monthly_amount": p.monthly_amount,
        }
        for f in facts
        for p in f.amount_schedule
    ]
    if amounts:
        session.execute(insert(RecurringAmountRow), amounts)


def delete_facts(
    session: Session, source_id: int, fact_type: FactType, external_ids: Sequence[str]
) -> int:
    row_class = ROW_FOR_FACT[fact_type]
    deleted = 0
    for start in range(0, len(external_ids), 1000):
        chunk = list(external_ids[start : start + 1000])
        deleted += _rowcount(
            session.execute(
                delete(row_class).where(
                    row_class.source_id == source_id, row_class.external_id.in_(chunk)
                )
            )
        )
    return deleted


def has_facts(session: Session, source_id: int) -> bool:
    """Whether any fact of the source is stored."""
    return any(
        session.scalar(select(row.id).where(row.source_id == source_id).limit(1)) is not None
        for row in ROW_FOR_FACT.values()
    )


def fact_types_held(session: Session, source_id: int) -> set[FactType]:
    """The fact types the source has at least one stored row of."""
    return {
        fact_type
        for fact_type, row in ROW_FOR_FACT.items()
        if session.scalar(select(row.id).where(row.source_id == source_id).limit(1)) is not None
    }
