"""The KPIs that are not plain sums of the rollups, in SQL, made as `app.kpis.compute` makes
them: utilisation and tickets per technician (capacity from the technicians' weekday hours),
recurring revenue (amounts in force on the period's last day) and manual KPIs (the mean or
last observation of the period).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    true,
)

from app.bi.odata.kpi_rows import DIMENSIONS, dims, kpi_select, ratio, whole
from app.bi.odata.sql_dates import WEEKDAYS, month_start, next_month, weekday_count
from app.directory.models import EntityLink, LinkedEntity
from app.facts.models import (
    ClientRow,
    ObservationRow,
    RecurringAmountRow,
    RecurringRevenueRow,
    TechnicianRow,
)
from app.kpis.catalogue import BUILT_IN
from app.kpis.models import ManualKpi

TECHS = TechnicianRow.__table__
CAPACITY = [TECHS.c[f"capacity_{d}"] for d in WEEKDAYS]


def _team(by_source: bool, active: bool, table: Any = None) -> Any:
    """Capacity per weekday and head count of the included technicians: the active ones
    (per source or all), or the inactive ones with time in each day (month) of `table`."""
    keys = [TECHS.c.source_id] if by_source else []
    sums = [func.sum(col).label(f"cap_{d}") for col, d in zip(CAPACITY, WEEKDAYS, strict=True)]
    if active:
        query = select(*keys, *sums, func.count().label("heads")).where(
            TECHS.c.included_in_utilization, TECHS.c.active
        )
        return query.group_by(*keys).subquery("active_team" + ("_by_source" if keys else ""))
    c = table.c
    query = (
        select(*keys, c.day, *sums, func.count().label("heads"))
        .select_from(
            table.join(
                TECHS,
                and_(TECHS.c.source_id == c.source_id, TECHS.c.external_id == c.dim_value),
            )
        )
        .where(
            c.dim == "technician",
            c.hours > 0,
            TECHS.c.included_in_utilization,
            not_(TECHS.c.active),
        )
        .group_by(*keys, c.day)
    )
    return query.subquery("inactive_team" + ("_by_source" if keys else ""))


def _capacity(caps: list[Any], day: Any, monthly: bool, dialect: str) -> Any:
    return sum(
        (cap * weekday_count(day, index, monthly, dialect) for index, cap in enumerate(caps)),
        start=literal(0.0),
    )


def _team_values(key: str, s: Any, n_hours: Any, capacity: Any, counted: Any) -> list[Any]:
    if key == "tickets_closed_per_technician":
        return [ratio(s.c.tickets_closed, counted), s.c.tickets_closed, counted, counted]
    value = case((counted == 0, null()), else_=ratio(n_hours, capacity, 100.0))
    return [value, n_hours, capacity, counted]


def team_kpi(s: Any, table: Any, key: str, monthly: bool, dialect: str) -> list[Select[Any]]:
    """Utilisation, billable utilisation or tickets closed per technician, for the company,
    each source and each technician (`app.kpis.compute.team_values`)."""
    c = s.c
    hours = c.utilization_hours if key == "utilization_pct" else c.billable_hours
    parts = []
    for by_source in (True, False):
        active, inactive = _team(by_source, True), _team(by_source, False, table)
        on_day = inactive.c.day == c.day
        if by_source:
            joined = s.outerjoin(active, active.c.source_id == c.source_id).outerjoin(
                inactive, and_(inactive.c.source_id == c.source_id, on_day)
            )
            which = c.source_id.is_not(None)
        else:
            joined = s.join(active, true()).outerjoin(inactive, on_day)
            which = c.source_id.is_(None)
        caps = [
            func.coalesce(active.c[f"cap_{d}"], 0) + func.coalesce(inactive.c[f"cap_{d}"], 0)
            for d in WEEKDAYS
        ]
        counted = func.coalesce(active.c.heads, 0) + func.coalesce(inactive.c.heads, 0)
        capacity = _capacity(caps, c.day, monthly, dialect)
        values = _team_values(key, s, hours, capacity, counted)
        parts.append(
            kpi_select(key, c.day, dims(s), values)
            .select_from(joined)
            .where(c.scope == "all", which)
        )
    tech = TECHS.alias("team_member")
    counted = case(
        (and_(tech.c.included_in_utilization, or_(tech.c.active, c.hours > 0)), 1), else_=0
    )
    caps = [tech.c[f"capacity_{d}"] for d in WEEKDAYS]
    capacity = counted * _capacity(caps, c.day, monthly, dialect)
    parts.append(
        kpi_select(key, c.day, dims(s), _team_values(key, s, hours, capacity, counted))
        .select_from(s.join(tech, tech.c.id == c.technician_id))
        .where(c.scope == "technician")
    )
    return parts  # one flat UNION ALL: SQLite takes no brackets around its parts


def _mrr(
    month: Any, dialect: str, source_id: Any = None, client: Any = None, linked: Any = None
) -> Any:
    """Monthly recurring revenue in force on the last day of the month starting `month`: the
    company's, a source's, one of its clients' (PSA id), or a linked client's members'."""
    amounts, revenues = RecurringAmountRow.__table__, RecurringRevenueRow.__table__
    following = next_month(month, dialect)
    joined = amounts.join(revenues, revenues.c.id == amounts.c.revenue_id)
    if linked is not None:
        members, links = ClientRow.__table__.alias("linked_member"), EntityLink.__table__
        joined = joined.join(
            members,
            and_(
                members.c.source_id == revenues.c.source_id,
                members.c.external_id == revenues.c.client_external_id,
            ),
        ).join(links, links.c.client_id == members.c.id)
    query = (
        select(func.coalesce(func.sum(amounts.c.monthly_amount), 0))
        .select_from(joined)
        .where(
            amounts.c.valid_from < following,
            or_(amounts.c.valid_to.is_(None), amounts.c.valid_to >= following),
        )
    )
    if source_id is not None:
        query = query.where(revenues.c.source_id == source_id)
    if client is not None:
        query = query.where(revenues.c.client_external_id == client)
    if linked is not None:
        query = query.where(links.c.linked_entity_id == linked)
    return cast(query.scalar_subquery(), Float)


def _revenue_values(key: str, mrr: Any, hours: Any, heads: Any, dialect: str) -> list[Any]:
    if key == "mrr":
        return [mrr, mrr, null(), literal(0)]
    if key == "arr_run_rate":
        return [mrr * 12, mrr * 12, null(), literal(0)]
    if key == "effective_hourly_rate":
        return [ratio(mrr, hours), mrr, hours, whole(hours, dialect)]
    return [ratio(mrr, heads), mrr, heads, heads]  # recurring_revenue_per_technician


def revenue_kpi(s: Any, key: str, dialect: str) -> list[Select[Any]]:
    """A revenue KPI by month for the company, each source, and each client with recurring
    revenue (every month its source has rollups, whether or not the client had tickets)."""
    c = s.c
    parts = []
    for by_source in (True, False):
        active = _team(by_source, True)
        if by_source:
            joined = s.outerjoin(active, active.c.source_id == c.source_id)
            mrr = _mrr(c.day, dialect, source_id=c.source_id)
        else:
            joined = s.outerjoin(active, true())
            mrr = _mrr(c.day, dialect)
        heads = func.coalesce(active.c.heads, 0)
        values = _revenue_values(key, mrr, c.client_hours, heads, dialect)
        which = c.source_id.is_not(None) if by_source else c.source_id.is_(None)
        parts.append(
            kpi_select(key, c.day, dims(s), values)
            .select_from(joined)
            .where(c.scope == "all", which)
        )
    if key != "recurring_revenue_per_technician":
        parts.append(_client_revenue(s, key, dialect))
        parts.append(_linked_client_revenue(s, key, dialect))
    return parts  # one flat UNION ALL: SQLite takes no brackets around its parts


def _client_revenue(s: Any, key: str, dialect: str) -> Select[Any]:
    c = s.c
    revenues = RecurringRevenueRow.__table__
    clients = ClientRow.__table__.alias("revenue_client")
    with_revenue = (
        select(clients.c.id, clients.c.source_id, clients.c.external_id)
        .where(
            select(revenues.c.id)
            .where(
                revenues.c.source_id == clients.c.source_id,
                revenues.c.client_external_id == clients.c.external_id,
            )
            .exists()
        )
        .subquery("revenue_clients")
    )
    own = s.alias(f"client_month_{key}")
    joined = s.join(with_revenue, with_revenue.c.source_id == c.source_id).outerjoin(
        own,
        and_(own.c.scope == "client", own.c.client_id == with_revenue.c.id, own.c.day == c.day),
    )
    mrr = _mrr(c.day, dialect, source_id=c.source_id, client=with_revenue.c.external_id)
    hours = func.coalesce(own.c.client_hours, 0)
    dimensions = [
        c.source_id,
        literal("client"),
        with_revenue.c.id,
        *(cast(null(), Integer if d.endswith("_id") else String) for d in DIMENSIONS[3:]),
    ]
    return (
        kpi_select(key, c.day, dimensions, _revenue_values(key, mrr, hours, None, dialect))
        .select_from(joined)
        .where(c.scope == "all", c.source_id.is_not(None))
    )


def _linked_client_revenue(s: Any, key: str, dialect: str) -> Select[Any]:
    """Each linked client's revenue KPI for every month the company has rollups: its
    members' amounts pooled, with the hours of its pooled row (none: 0)."""
    c = s.c
    entities = LinkedEntity.__table__
    own = s.alias(f"linked_month_{key}")
    joined = s.join(entities, entities.c.kind == "client").outerjoin(
        own,
        and_(
            own.c.scope == "linked_client",
            own.c.linked_entity_id == entities.c.id,
            own.c.day == c.day,
        ),
    )
    mrr = _mrr(c.day, dialect, linked=entities.c.id)
    hours = func.coalesce(own.c.client_hours, 0)
    dimensions = [
        cast(null(), Integer),
        literal("linked_client"),
        *(cast(null(), Integer if d.endswith("_id") else String) for d in DIMENSIONS[2:-1]),
        entities.c.id,
    ]
    return (
        kpi_select(key, c.day, dimensions, _revenue_values(key, mrr, hours, None, dialect))
        .select_from(joined)
        .where(c.scope == "all", c.source_id.is_(None))
    )


def manual_kpis(monthly: bool, dialect: str) -> Select[Any]:
    """Every manual KPI per period with observations: the mean, or the last value
    (`app.kpis.compute.manual_values`); company-wide only."""
    o = ObservationRow.__table__
    day = month_start(o.c.observed_on, dialect) if monthly else o.c.observed_on
    window = [o.c.kpi_key, day]
    ranked = select(
        o.c.kpi_key,
        day.label("day"),
        o.c.value,
        func.row_number()
        .over(partition_by=window, order_by=(o.c.observed_on.desc(), o.c.id.desc()))
        .label("rank"),
        func.sum(o.c.value).over(partition_by=window).label("total"),
        func.count().over(partition_by=window).label("n"),
    ).subquery("observed")
    manual = ManualKpi.__table__
    last = manual.c.aggregation == "last"
    n = cast(ranked.c.n, Float)
    values = [
        case((last, ranked.c.value), else_=ranked.c.total / n),
        case((last, ranked.c.value), else_=ranked.c.total),
        case((last, null()), else_=n),
        ranked.c.n,
    ]
    nothing: list[Any] = [
        cast(null(), Integer if d.endswith("_id") else String) for d in DIMENSIONS
    ]
    nothing[1] = literal("all")
    query = kpi_select("", ranked.c.day, nothing, values)
    columns = [ranked.c.kpi_key.label("kpi_key"), *list(query.selected_columns)[1:]]
    return (
        select(*columns)
        .select_from(ranked.join(manual, manual.c.key == ranked.c.kpi_key))
        .where(ranked.c.rank == 1, ranked.c.kpi_key.not_in(sorted(BUILT_IN)))
    )
