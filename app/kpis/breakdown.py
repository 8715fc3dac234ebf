"""One KPI for one period, per client, technician, board or priority: "who misses SLA?".

By client (or technician), the members of a linked entity (app.directory) make one row: its
counts are the members' summed, its ratios the summed numerators over the summed
denominators (never an average of the members' ratios). `pool_links=False` lists every
member apart. Utilisation by technician is never pooled (app.kpis.scope explains why).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.directory.models import EntityLink, LinkedEntity
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
    value_from_sums,
)
from app.kpis.periods import Period
from app.kpis.rollup_reads import rollup_table
from app.kpis.scope import LEVELS, LINKED_DIMS, LINKED_PREFIX, ScopeFilter

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
Member = tuple[int | None, str]  # (source id, PSA id), or (None, board / level)


@dataclass(frozen=True, slots=True)
class BreakdownRow:
    source_id: int | None  # None where the row spans sources (boards, priorities, links)
    key: str  # canonical id for clients and technicians, `linked:<id>`, else board or level
    external_id: str | None
    name: str
    value: float | None
    numerator: float | None
    denominator: float | None
    sample_size: int
    members: tuple[int, ...] = ()  # a linked entity's member ids (canonical)


@dataclass
class Links:
    """Which (source, PSA id) belongs to which linked entity, for one dimension."""

    of: dict[Member, int] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    members: dict[int, list[int]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, dim: str) -> Links:
        row_class: Any = ClientRow if dim == "client" else TechnicianRow
        column = EntityLink.client_id if dim == "client" else EntityLink.technician_id
        links = cls()
        rows = session.execute(
            select(
                LinkedEntity.id,
                LinkedEntity.name,
                row_class.id,
                row_class.source_id,
                row_class.external_id,
            )
            .join(EntityLink, EntityLink.linked_entity_id == LinkedEntity.id)
            .join(row_class, row_class.id == column)
            .where(LinkedEntity.kind == dim)
        )
        for linked_id, name, member_id, source_id, external_id in rows:
            links.of[(source_id, external_id)] = linked_id
            links.names[linked_id] = name
            links.members.setdefault(linked_id, []).append(member_id)
        return links

    def group(self, member: Member) -> Member:
        """The row a member is shown in: its linked entity's (source None), or its own."""
        linked = self.of.get(member)
        return member if linked is None else (None, f"{LINKED_PREFIX}{linked}")


def _names(session: Session, row_class: Any) -> dict[Member, tuple[int, str]]:
    return {
        (r.source_id, r.external_id): (r.id, r.name)
        for r in session.execute(
            select(row_class.id, row_class.source_id, row_class.external_id, row_class.name)
        )
    }


def _linked_scope(dim: str, key: str, source_id: int | None) -> ScopeFilter:
    return ScopeFilter(LINKED_DIMS[dim], key.removeprefix(LINKED_PREFIX), source_id)


def _one_by_one(
    session: Session,
    kpi: KpiDefinition,
    dim: str,
    period: Period,
    members: list[Member],
    links: Links,
    source_id: int | None,
) -> dict[Member, Measured]:
    """Per-member evaluation through the ordinary path keeps one definition of each KPI; a
    linked entity is evaluated once, as a linked scope."""
    result: dict[Member, Measured] = {}
    for member in members:
        group = links.group(member)
        if group in result:
            continue
        if group[0] is None and group != member:
            scope = _linked_scope(dim, group[1], source_id)
        else:
            member_source, value = member
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
        result[group] = (v.value, v.numerator, v.denominator, v.sample_size)
    return result


def _values(
    session: Session,
    kpi: KpiDefinition,
    dim: str,
    period: Period,
    source_id: int | None,
    links: Links,
) -> dict[Member, Measured]:
    if kpi.key in REVENUE_KPIS:
        return _revenue_by_client(session, kpi, period, source_id, links)
    table = rollup_table([period])
    per_source = dim in PER_SOURCE
    group = [table.source_id, table.dim_value] if per_source else [table.dim_value]
    only_source = () if source_id is None else (table.source_id == source_id,)
    if kpi.key in TEAM_KPIS or kpi.key == "open_backlog":
        found = session.execute(
            select(*group).where(table.dim == dim, table.day < period.end, *only_source).distinct()
        ).all()
        members = [(r[0], r[1]) if per_source else (source_id, r[0]) for r in found]
        return _one_by_one(session, kpi, dim, period, members, links, source_id)
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
    pooled: dict[Member, dict[str, float]] = defaultdict(lambda: dict.fromkeys(measures, 0.0))
    for row in session.execute(query):
        member: Member = (row[0], row[1]) if per_source else (source_id, row[0])
        sums = pooled[links.group(member)]
        for measure, amount in zip(measures, row[width:], strict=True):
            sums[measure] += amount or 0.0
    return {key: value_from_sums(kpi.key, sums) for key, sums in pooled.items()}


def _revenue_by_client(
    session: Session, kpi: KpiDefinition, period: Period, source_id: int | None, links: Links
) -> dict[Member, Measured]:
    clients = session.execute(
        select(RecurringRevenueRow.source_id, RecurringRevenueRow.client_external_id)
        .where(RecurringRevenueRow.client_external_id.is_not(None))
        .where(*(() if source_id is None else (RecurringRevenueRow.source_id == source_id,)))
        .distinct()
    ).all()
    result: dict[Member, Measured] = {}
    for client_source, client in clients:
        if client is None:
            continue
        key = links.group((client_source, client))
        if key in result:
            continue
        linked = key[0] is None
        scope = (
            _linked_scope("client", key[1], source_id)
            if linked
            else ScopeFilter("client", client, client_source)
        )
        if kpi.key == "effective_hourly_rate":
            (v,) = kpi_values(session, kpi, scope, [period])
            result[key] = (v.value, v.numerator, v.denominator, v.sample_size)
            continue
        rows = _amount_rows(session, scope, period.start, period.last_day)
        mrr = mrr_on(rows, period.last_day)
        if kpi.key == "arr_run_rate":
            mrr *= 12
        result[key] = (mrr, mrr, None, 0)
    return result


def kpi_breakdown(
    session: Session,
    kpi: KpiDefinition,
    by: Scope,
    period: Period,
    *,
    source_id: int | None = None,
    descending: bool = True,
    pool_links: bool = True,
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
    names: dict[Member, tuple[int, str]] = {}
    if by is Scope.CLIENT:
        names = _names(session, ClientRow)
    elif by is Scope.TECHNICIAN:
        names = _names(session, TechnicianRow)
    pooled = pool_links and dim in PER_SOURCE and not (dim == "technician" and kpi.key in TEAM_KPIS)
    links = Links.load(session, dim) if pooled else Links()
    rows = []
    values = _values(session, kpi, dim, period, source_id, links)
    for (source, value), (v, n, d, sample) in values.items():
        canonical, name = names.get((source, value), (None, None))
        members: tuple[int, ...] = ()
        if by is Scope.PRIORITY:
            key, label, external = (
                LEVEL_NAMES.get(value, value),
                LEVEL_NAMES.get(value, value),
                None,
            )
        elif by is Scope.BOARD:
            key, label, external = value, value, None
        elif source is None and value.startswith(LINKED_PREFIX):
            linked_id = int(value.removeprefix(LINKED_PREFIX))
            key, label, external = value, links.names[linked_id], None
            members = tuple(sorted(links.members[linked_id]))
        else:
            key = str(canonical) if canonical is not None else f"{source}:{value}"
            label, external = name or f"(unknown {by.value} {value})", value
        rows.append(BreakdownRow(source, key, external, label, v, n, d, sample, members))
    with_value = sorted(
        (r for r in rows if r.value is not None), key=lambda r: r.value or 0.0, reverse=descending
    )
    return with_value + sorted((r for r in rows if r.value is None), key=lambda r: r.name)
