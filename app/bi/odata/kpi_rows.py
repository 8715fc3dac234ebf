"""The KPI value sets' rows, in SQL: the rollups turned into scopes, and the KPIs that are
plain sums or ratios of them (and the open backlog, a running sum).

A *scope* row is what the REST API reads for one `/api/v1/kpis/{key}/values` scope: one
source's rollup row (company, client, technician, board, priority level or priority name),
the rows of every source summed (company, board, priority: what the API gives without
`source`), or a linked entity's members summed. Its dimensions are separate nullable
columns (`DIMENSIONS`), so a row scoped by a pair of them (`app.kpis.pairs`: client and
priority, technician and board...) sets two: its scope is `client+priority` and so on, one
source's pair rows, or for a pair of board and priority every source's summed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Float,
    FromClause,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
)

from app.directory.models import EntityLink
from app.facts.models import ClientRow, TechnicianRow
from app.kpis.catalogue import KpiDefinition, Scope
from app.kpis.compute import COUNTS, RATIOS
from app.kpis.models import MEASURES
from app.kpis.pairs import PAIRS, pairs_of
from app.kpis.scope import NOT_POOLED_FOR_TECHNICIANS

# The scope a rollup dimension becomes, by the REST API's names (`priority` is P1–P4).
SCOPE_OF_DIM = {
    "all": "all",
    "client": "client",
    "technician": "technician",
    "board": "board",
    "priority_level": "priority",
    "priority": "priority_label",
}
POOLED_DIMS = ("all", "board", "priority_level", "priority")  # also summed over sources
# A pair's scope name, by the REST API's names: `client+priority`.
SCOPE_OF_PAIR = {p.name: f"{p.first.value}+{p.second.value}" for p in PAIRS}
# Pairs of a client or technician are one source's; the others are also summed over sources.
SOURCE_PAIRS = tuple(
    p.name for p in PAIRS if {p.first_dim, p.second_dim} & {"client", "technician"}
)
POOLED_PAIRS = tuple(p.name for p in PAIRS if p.name not in SOURCE_PAIRS)
DIMENSIONS = (
    "source_id",
    "scope",
    "client_id",
    "technician_id",
    "board",
    "priority_level",
    "priority_label",
    "linked_entity_id",
)
VALUE_COLUMNS = ("value", "numerator", "denominator", "sample_size")
VALUE_TYPES = (Float, Float, Float, Integer)


def _null(type_: Any) -> ColumnElement[Any]:
    return cast(null(), type_)


def whole(value: Any, dialect: str) -> ColumnElement[Any]:
    """`int(value)` as Python does it (toward zero): PostgreSQL's cast would round."""
    if dialect == "postgresql":
        return cast(func.trunc(value), Integer)
    return cast(value, Integer)


def _per_source(table: FromClause) -> Select[Any]:
    c = table.c
    clients = ClientRow.__table__.alias("scope_client")
    techs = TechnicianRow.__table__.alias("scope_technician")
    joined = table.outerjoin(
        clients,
        and_(
            c.dim == "client",
            clients.c.source_id == c.source_id,
            clients.c.external_id == c.dim_value,
        ),
    ).outerjoin(
        techs,
        and_(
            c.dim == "technician",
            techs.c.source_id == c.source_id,
            techs.c.external_id == c.dim_value,
        ),
    )
    return (
        select(
            c.source_id.label("source_id"),
            case(SCOPE_OF_DIM, value=c.dim).label("scope"),
            clients.c.id.label("client_id"),
            techs.c.id.label("technician_id"),
            case((c.dim == "board", c.dim_value)).label("board"),
            case((c.dim == "priority_level", c.dim_value)).label("priority_level"),
            case((c.dim == "priority", c.dim_value)).label("priority_label"),
            _null(Integer).label("linked_entity_id"),
            c.day.label("day"),
            *(c[m].label(m) for m in MEASURES),
        )
        .select_from(joined)
        # A client or technician the directory does not hold cannot be asked for.
        .where(or_(c.dim.in_(POOLED_DIMS), clients.c.id.is_not(None), techs.c.id.is_not(None)))
    )


def _pooled(table: FromClause) -> Select[Any]:
    c = table.c
    return (
        select(
            _null(Integer).label("source_id"),
            case(SCOPE_OF_DIM, value=c.dim).label("scope"),
            _null(Integer).label("client_id"),
            _null(Integer).label("technician_id"),
            case((c.dim == "board", c.dim_value)).label("board"),
            case((c.dim == "priority_level", c.dim_value)).label("priority_level"),
            case((c.dim == "priority", c.dim_value)).label("priority_label"),
            _null(Integer).label("linked_entity_id"),
            c.day.label("day"),
            *(func.sum(c[m]).label(m) for m in MEASURES),
        )
        .where(c.dim.in_(POOLED_DIMS))
        .group_by(c.day, c.dim, c.dim_value)
    )


def _linked(table: FromClause, kind: str) -> Select[Any]:
    c = table.c
    rows = (ClientRow if kind == "client" else TechnicianRow).__table__
    links = EntityLink.__table__
    member = links.c.client_id if kind == "client" else links.c.technician_id
    joined = table.join(
        rows, and_(rows.c.source_id == c.source_id, rows.c.external_id == c.dim_value)
    ).join(links, member == rows.c.id)
    return (
        select(
            _null(Integer).label("source_id"),
            literal(f"linked_{kind}").label("scope"),
            _null(Integer).label("client_id"),
            _null(Integer).label("technician_id"),
            _null(String).label("board"),
            _null(String).label("priority_level"),
            _null(String).label("priority_label"),
            links.c.linked_entity_id.label("linked_entity_id"),
            c.day.label("day"),
            *(func.sum(c[m]).label(m) for m in MEASURES),
        )
        .select_from(joined)
        .where(c.dim == kind)
        .group_by(links.c.linked_entity_id, c.day)
    )


def _pair_value(c: Any, dim: str) -> ColumnElement[Any]:
    """The value a pair row holds for `dim` (null when its pair has no `dim`)."""
    whens = [(c.pair == p.name, c.first_value) for p in PAIRS if p.first_dim == dim]
    whens += [(c.pair == p.name, c.second_value) for p in PAIRS if p.second_dim == dim]
    return case(*whens, else_=null())


def _pairs_per_source(pairs: FromClause) -> Select[Any]:
    c = pairs.c
    client, technician = _pair_value(c, "client"), _pair_value(c, "technician")
    clients = ClientRow.__table__.alias("pair_client")
    techs = TechnicianRow.__table__.alias("pair_technician")
    joined = pairs.outerjoin(
        clients, and_(clients.c.source_id == c.source_id, clients.c.external_id == client)
    ).outerjoin(techs, and_(techs.c.source_id == c.source_id, techs.c.external_id == technician))
    return (
        select(
            c.source_id.label("source_id"),
            case(SCOPE_OF_PAIR, value=c.pair).label("scope"),
            clients.c.id.label("client_id"),
            techs.c.id.label("technician_id"),
            _pair_value(c, "board").label("board"),
            _pair_value(c, "priority_level").label("priority_level"),
            _null(String).label("priority_label"),
            _null(Integer).label("linked_entity_id"),
            c.day.label("day"),
            *(c[m].label(m) for m in MEASURES),
        )
        .select_from(joined)
        # As for one scope: a client or technician the directory does not hold is left out.
        .where(
            or_(client.is_(None), clients.c.id.is_not(None)),
            or_(technician.is_(None), techs.c.id.is_not(None)),
        )
    )


def _pairs_pooled(pairs: FromClause) -> Select[Any]:
    c = pairs.c
    return (
        select(
            _null(Integer).label("source_id"),
            case(SCOPE_OF_PAIR, value=c.pair).label("scope"),
            _null(Integer).label("client_id"),
            _null(Integer).label("technician_id"),
            _pair_value(c, "board").label("board"),
            _pair_value(c, "priority_level").label("priority_level"),
            _null(String).label("priority_label"),
            _null(Integer).label("linked_entity_id"),
            c.day.label("day"),
            *(func.sum(c[m]).label(m) for m in MEASURES),
        )
        .where(c.pair.in_(POOLED_PAIRS))
        .group_by(c.day, c.pair, c.first_value, c.second_value)
    )


def scoped_rows(table: FromClause, pairs: FromClause, name: str) -> CTE:
    """Every scope's additive measures per day (or month) of `table` and of its pair table
    `pairs`, as a CTE."""
    return (
        _per_source(table)
        .union_all(
            _pooled(table),
            _linked(table, "client"),
            _linked(table, "technician"),
            _pairs_per_source(pairs),
            _pairs_pooled(pairs),
        )
        .cte(name)
    )


def scopes_of(kpi: KpiDefinition) -> set[str]:
    """The scope names a KPI can be asked for (besides the company as a whole)."""
    names = {"all"}
    if Scope.CLIENT in kpi.scopes:
        names |= {"client", "linked_client"}
    if Scope.TECHNICIAN in kpi.scopes:
        names.add("technician")
        if kpi.key not in NOT_POOLED_FOR_TECHNICIANS:
            names.add("linked_technician")
    if Scope.BOARD in kpi.scopes:
        names.add("board")
    if Scope.PRIORITY in kpi.scopes:
        names |= {"priority", "priority_label"}
    return names | {SCOPE_OF_PAIR[p.name] for p in pairs_of(kpi)}


def in_scopes(s: Any, kpi: KpiDefinition) -> ColumnElement[bool]:
    """The scope rows `kpi` is defined for: one source's only when it can be scoped by
    source (a client or technician always belongs to one)."""
    condition: ColumnElement[bool] = s.c.scope.in_(sorted(scopes_of(kpi)))
    if Scope.SOURCE not in kpi.scopes:
        own = ("client", "technician", *(SCOPE_OF_PAIR[name] for name in SOURCE_PAIRS))
        condition = and_(condition, or_(s.c.source_id.is_(None), s.c.scope.in_(own)))
    return condition


def dims(s: Any) -> list[ColumnElement[Any]]:
    return [s.c[d] for d in DIMENSIONS]


def ratio(numerator: Any, denominator: Any, scale: float = 1.0) -> ColumnElement[Any]:
    """`scale * numerator / denominator`, null when the denominator is 0, as the REST API."""
    return case((denominator == 0, null()), else_=scale * numerator / denominator)


def rollup_kpi(s: Any, kpi: KpiDefinition, dialect: str) -> Select[Any]:
    """A KPI read straight from the sums (`app.kpis.compute.value_from_sums`), or the open
    backlog: created minus closed, summed over every earlier row of the scope."""
    c = s.c
    if kpi.key == "open_backlog":
        open_count = func.sum(c.tickets_created - c.tickets_closed).over(
            partition_by=dims(s), order_by=c.day, rows=(None, 0)
        )
        values: list[Any] = [open_count, open_count, null(), whole(open_count, dialect)]
    elif kpi.key in COUNTS:
        measure = c[COUNTS[kpi.key][0]]
        sample = c[COUNTS[kpi.key][-1]]
        values = [measure, measure, null(), whole(sample, dialect)]
    else:
        numerator_key, denominator_key, scale = RATIOS[kpi.key]
        n, d = c[numerator_key], c[denominator_key]
        values = [ratio(n, d, scale), n, d, whole(d, dialect)]
    return kpi_select(kpi.key, s.c.day, dims(s), values).where(in_scopes(s, kpi))


def kpi_select(key: str, day: Any, dimensions: list[Any], values: list[Any]) -> Select[Any]:
    """One KPI's rows in the shape every part of the union shares."""
    return select(
        literal(key).label("kpi_key"),
        day.label("day"),
        *(d.label(name) for d, name in zip(dimensions, DIMENSIONS, strict=True)),
        *(
            cast(v, type_).label(name)
            for v, name, type_ in zip(values, VALUE_COLUMNS, VALUE_TYPES, strict=True)
        ),
    )
