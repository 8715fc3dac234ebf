"""Reading a scope's additive sums from the rollups: one scope's rows, or a pair's.

A one-scope filter reads `kpi_daily_rollups` (or the monthly ones) by dimension and value; a
pair of scopes (`app.kpis.pairs`) reads the pair rollups by pair and both values. Either
way a query costs what the number of days (or months) asked for costs.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, tuple_
from sqlalchemy.orm import Session

from app.kpis.models import (
    MEASURES,
    KpiDailyPairRollup,
    KpiDailyRollup,
    KpiMonthlyPairRollup,
    KpiMonthlyRollup,
)
from app.kpis.periods import Period
from app.kpis.scope import ScopeFilter, member_keys_of

Sums = dict[str, float]
# The pair table beside each one-scope table.
PAIR_TABLE: dict[Any, Any] = {
    KpiDailyRollup: KpiDailyPairRollup,
    KpiMonthlyRollup: KpiMonthlyPairRollup,
}


def empty_sums() -> Sums:
    return dict.fromkeys(MEASURES, 0.0)


def rollup_table(periods: Sequence[Period]) -> Any:
    """Monthly rollups when every period is made of whole months, else daily ones."""
    whole_months = all(p.start.day == 1 and p.end.day == 1 for p in periods)
    return KpiMonthlyRollup if whole_months else KpiDailyRollup


def _member(table: Any, column: Any, dim: str, value: str) -> ColumnElement[bool]:
    """Rows of one scope member: a value, or a linked entity's members (summed)."""
    if dim.startswith("link:"):
        return tuple_(table.source_id, column).in_(
            member_keys_of(dim.removeprefix("link:"), int(value))
        )
    return column == value  # type: ignore[no-any-return]


def scope_table(table: Any, scope: ScopeFilter) -> Any:
    """The table `scope` reads: `table`, or the pair table beside it."""
    return table if scope.second_dim is None else PAIR_TABLE[table]


def rollup_query(table: Any, scope: ScopeFilter, columns: Sequence[Any]) -> Select[Any]:
    """`columns` over the rows of `scope` in `table` (the one-scope table of the grain:
    columns and conditions are taken from the pair table when the scope is a pair; pass
    columns of `scope_table(table, scope)`)."""
    if scope.second_dim is None:
        query = select(*columns).where(
            table.dim == scope.rollup_dim,
            _member(table, table.dim_value, scope.dim, scope.value),
        )
    else:
        table = PAIR_TABLE[table]
        query = select(*columns).where(
            table.pair == scope.pair_name,
            _member(table, table.first_value, scope.dim, scope.value),
            _member(table, table.second_value, scope.second_dim, scope.second_value),
        )
    if scope.source_id is not None:
        query = query.where(table.source_id == scope.source_id)
    return query


def sum_columns(table: Any) -> list[Any]:
    return [func.sum(getattr(table, m)) for m in MEASURES]


def dated_sums(
    session: Session, table: Any, scope: ScopeFilter, start: date, end: date
) -> dict[date, Sums]:
    """Sums per stored day (or month) in `[start, end)`."""
    read = scope_table(table, scope)
    rows = session.execute(
        rollup_query(table, scope, [read.day, *sum_columns(read)])
        .where(read.day >= start, read.day < end)
        .group_by(read.day)
    ).all()
    return {row[0]: dict(zip(MEASURES, (v or 0.0 for v in row[1:]), strict=True)) for row in rows}


def period_sums(session: Session, scope: ScopeFilter, periods: Sequence[Period]) -> list[Sums]:
    sums = [empty_sums() for _ in periods]
    starts = [p.start for p in periods]
    table = rollup_table(periods)
    for day, values in dated_sums(session, table, scope, periods[0].start, periods[-1].end).items():
        index = bisect.bisect_right(starts, day) - 1
        if 0 <= index < len(periods) and day < periods[index].end:
            for measure, amount in values.items():
                sums[index][measure] += amount
    return sums


def sums_before(session: Session, scope: ScopeFilter, table: Any, start: date) -> Sums:
    """Tickets created and closed before `start` (the open backlog's opening count)."""
    read = scope_table(table, scope)
    created, closed = func.sum(read.tickets_created), func.sum(read.tickets_closed)
    row = session.execute(
        rollup_query(table, scope, [created, closed]).where(read.day < start)
    ).one()
    return {"tickets_created": row[0] or 0.0, "tickets_closed": row[1] or 0.0}
