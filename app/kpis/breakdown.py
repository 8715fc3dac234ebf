"""One KPI for one period, per client, technician, board or priority: "who misses SLA?"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import Unsupported
from app.facts.models import ClientRow, RecurringRevenueRow, TechnicianRow
from app.kpis.catalogue import KpiDefinition, Scope
from app.kpis.compute import (
    REVENUE_KPIS,
    TEAM_KPIS,
    _amount_rows,
    kpi_values,
    measures_of,
    mrr_on,
    rollup_table,
    value_from_sums,
)
from app.kpis.periods import Period
from app.kpis.scope import LEVELS, ScopeFilter

BY_DIMENSION = {
    Scope.CLIENT: "client",
    Scope.TECHNICIAN: "technician",
    Scope.BOARD: "board",
    Scope.PRIORITY: "priority_level",
}
LEVEL_NAMES = {v: k for k, v in LEVELS.items()}
# Clients and technicians belong to one source; boards and priority levels span sources.
PER_SOURCE = {"client", "technician"}


Measured = tuple[float | None, float | None, float | None, int]


@dataclass(frozen=True, slots=True)
class BreakdownRow:
    source_id: int | None  # None where the row spans sources (boards, priorities)
    key: str  # canonical id for clients and technicians, else the board or level
    external_id: str | None
    name: str
    value: float | None
    numerator: float | None
    denominator: float | None
    sample_size: int


def _names(session: Session, row_class: Any) -> dict[tuple[int | None, str], tuple[int, str]]:
    return {
        (r.source_id, r.external_id): (r.id, r.name)
        for r in session.execute(
            select(row_class.id, row_class.source_id, row_class.external_id, row_class.name)
        )
    }


def _values(
    session: Session, kpi: KpiDefinition, dim: str, period: Period, source_id: int | None
) -> dict[tuple[int | None, str], Measured]:
    if kpi.key in REVENUE_KPIS:
        return _revenue_by_client(session, kpi, period, source_id)
    table = rollup_table([period])
    per_source = dim in PER_SOURCE
    group = [table.source_id, table.dim_value] if per_source else [table.dim_value]
    only_source = () if source_id is None else (table.source_id == source_id,)
    result: dict[tuple[int | None, str], Measured] = {}
    if kpi.key in TEAM_KPIS or kpi.key == "open_backlog":
        # Per-member evaluation through the ordinary path keeps one definition of each KPI.
        members = session.execute(
            select(*group).where(table.dim == dim, table.day < period.end, *only_source).distinct()
        ).all()
        for member in members:
            member_source, value = (member[0], member[1]) if per_source else (source_id, member[0])
            tech_id = None
            if dim == "technician":
                tech_id = session.scalar(
                    select(TechnicianRow.id).where(
                        TechnicianRow.source_id == member_source,
                        TechnicianRow.external_id == value,
                    )
                )
            scope = ScopeFilter(dim, value, member_source, technician_id=tech_id)
            (v,) = kpi_values(session, kpi, scope, [period])
            result[(member_source, value)] = (
                v.value,
                v.numerator,
                v.denominator,
                v.sample_size,
            )
        return result
    measures = measures_of(kpi.key)
    query = (
        select(*group, *[func.sum(getattr(table, m)) for m in measures])
        .where(
            table.dim == dim,
            table.day >= period.start,
            table.day < period.end,
            *only_source,
        )
        .group_by(*group)
    )
    width = len(group)
    for row in session.execute(query):
        sums = dict(zip(measures, (v or 0.0 for v in row[width:]), strict=True))
        key = (row[0], row[1]) if per_source else (source_id, row[0])
        result[key] = value_from_sums(kpi.key, sums)
    return result


def _revenue_by_client(
    session: Session, kpi: KpiDefinition, period: Period, source_id: int | None
) -> dict[tuple[int | None, str], Measured]:
    clients = session.execute(
        select(RecurringRevenueRow.source_id, RecurringRevenueRow.client_external_id)
        .where(RecurringRevenueRow.client_external_id.is_not(None))
        .where(*(() if source_id is None else (RecurringRevenueRow.source_id == source_id,)))
        .distinct()
    ).all()
    result: dict[tuple[int | None, str], Measured] = {}
    for client_source, client in clients:
        if client is None:
            continue
        scope = ScopeFilter("client", client, client_source)
        if kpi.key == "effective_hourly_rate":
            (v,) = kpi_values(session, kpi, scope, [period])
            result[(client_source, client)] = (v.value, v.numerator, v.denominator, v.sample_size)
            continue
        rows = _amount_rows(session, scope, period.start, period.last_day)
        mrr = mrr_on(rows, period.last_day)
        if kpi.key == "arr_run_rate":
            mrr *= 12
        result[(client_source, client)] = (mrr, mrr, None, 0)
    return result


def kpi_breakdown(
    session: Session,
    kpi: KpiDefinition,
    by: Scope,
    period: Period,
    *,
    source_id: int | None = None,
    descending: bool = True,
) -> list[BreakdownRow]:
    if by not in kpi.scopes or by is Scope.SOURCE:
        supported = ", ".join(s.value for s in kpi.scopes if s is not Scope.SOURCE) or "nothing"
        raise Unsupported(
            f"{kpi.name} ({kpi.key}) cannot be broken down by {by.value}. It can be broken "
            f"down by: {supported}.",
            code="scope_not_supported",
        )
    if kpi.manual:
        raise Unsupported("Manual KPIs have no breakdown.", code="scope_not_supported")
    dim = BY_DIMENSION[by]
    names: dict[tuple[int | None, str], tuple[int, str]] = {}
    if by is Scope.CLIENT:
        names = _names(session, ClientRow)
    elif by is Scope.TECHNICIAN:
        names = _names(session, TechnicianRow)
    rows = []
    for (source, value), (v, n, d, sample) in _values(session, kpi, dim, period, source_id).items():
        canonical, name = names.get((source, value), (None, None))
        if by is Scope.PRIORITY:
            key, label, external = (
                LEVEL_NAMES.get(value, value),
                LEVEL_NAMES.get(value, value),
                None,
            )
        elif by is Scope.BOARD:
            key, label, external = value, value, None
        else:
            key = str(canonical) if canonical is not None else f"{source}:{value}"
            label, external = name or f"(unknown {by.value} {value})", value
        rows.append(BreakdownRow(source, key, external, label, v, n, d, sample))
    merged = rows
    with_value = sorted(
        (r for r in merged if r.value is not None), key=lambda r: r.value or 0.0, reverse=descending
    )
    return with_value + sorted((r for r in merged if r.value is None), key=lambda r: r.name)
