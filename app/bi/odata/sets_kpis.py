"""The KPI sets: `Kpis` (the catalogue and the manual KPIs) and `KpiMonthlyValues` /
`KpiDailyValues`, every KPI's value per period and scope as `GET /api/v1/kpis/{key}/values`
gives it (value, numerator, denominator, sample size, partial, reason).

Both value sets are one SQL query, built per request because a value's coverage (partial,
or null with a reason) depends on today and on how far each source has synced: filtering,
sorting and paging happen in the database.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Date,
    Float,
    Integer,
    String,
    case,
    cast,
    false,
    func,
    literal,
    null,
    select,
    union_all,
)

from app.bi.odata.kpi_derived import manual_kpis, revenue_kpi, team_kpi
from app.bi.odata.kpi_rows import SCOPE_OF_PAIR, rollup_kpi, scoped_rows
from app.bi.odata.model import EntitySet, Nav, Prop, Reading, declared
from app.bi.odata.sql_dates import next_day, next_month
from app.kpis.catalogue import BUILT_IN, CATALOGUE, Grain
from app.kpis.compute import REVENUE_KPIS, TEAM_KPIS
from app.kpis.coverage import Coverage, ScopeCoverage
from app.kpis.manual import all_kpis
from app.kpis.models import (
    KpiDailyPairRollup,
    KpiDailyRollup,
    KpiMonthlyPairRollup,
    KpiMonthlyRollup,
)
from app.kpis.scope import LEVELS

_KPI_PROPS: tuple[tuple[str, str, Any], ...] = (
    ("Key", "Edm.String", String),
    ("Name", "Edm.String", String),
    ("Unit", "Edm.String", String),
    ("Direction", "Edm.String", String),
    ("Category", "Edm.String", String),
    ("Manual", "Edm.Boolean", Boolean),
    ("Definition", "Edm.String", String),
    ("Grains", "Edm.String", String),
    ("Scopes", "Edm.String", String),
    ("Aggregation", "Edm.String", String),
    ("ScaleMin", "Edm.Double", Float),
    ("ScaleMax", "Edm.Double", Float),
)


def _kpis(reading: Reading) -> EntitySet:
    rows = [
        (
            k.key,
            k.name,
            k.unit,
            k.direction.value,
            k.category,
            k.manual,
            k.definition,
            ",".join(g.value for g in k.grains),
            ",".join(s.value for s in k.scopes),
            k.aggregation,
            k.scale_min,
            k.scale_max,
        )
        for k in all_kpis(reading.session)
    ]
    table = union_all(
        *(
            select(
                *(
                    cast(literal(value, type_()), type_()).label(name)  # typed even if null
                    for value, (name, _, type_) in zip(row, _KPI_PROPS, strict=True)
                )
            )
            for row in rows
        )
    ).subquery("kpis")
    props = tuple(Prop(name, edm, table.c[name], name != "Key") for name, edm, _ in _KPI_PROPS)
    return EntitySet("Kpis", "Kpi", table, ("Key",), props, "")


KPIS = EntitySet(
    "Kpis",
    "Kpi",
    None,
    ("Key",),
    tuple(declared(name, edm, name != "Key") for name, edm, _ in _KPI_PROPS),
    "Every KPI, the catalogue's and the manual ones: unit, direction (up, down or neutral is "
    "better), exact definition, the grains and scopes it can be read by (Scopes lists "
    "source, client, technician, board and priority; a manual KPI is company-wide only).",
    navs=(
        Nav("MonthlyValues", "KpiMonthlyValues", "Key", "KpiKey", collection=True),
        Nav("Goals", "Goals", "Key", "KpiKey", collection=True),
    ),
    build=_kpis,
)


def _limits(
    coverage: ScopeCoverage, today: date, monthly: bool
) -> tuple[date, date | None, date | None]:
    """(not synced from, history from, partial from) of one scope's sources, as period
    starts (`app.kpis.coverage.ScopeCoverage.state` restated on them): a period is not
    synced when it starts on or after the first, before its history when it starts before
    the second, and partial when it starts on or after the third."""
    history_from, synced_until = coverage.history_from, coverage.synced_until
    if history_from is None or synced_until is None:
        return date.min, None, None
    local = synced_until.astimezone(coverage.tz)
    synced_day = local.date()
    not_synced = synced_day if local.time() == time(0) else synced_day + timedelta(days=1)
    partial = min(synced_day, today + timedelta(days=1))
    return not_synced, history_from, partial.replace(day=1) if monthly else partial


def _per_source(column: Any, values: dict[int | None, date | None]) -> ColumnElement[Any]:
    def lit(day: date | None) -> Any:
        return null() if day is None else literal(day, Date)

    whens = [(column == source_id, lit(v)) for source_id, v in values.items() if source_id]
    return case((column.is_(None), lit(values[None])), *whens, else_=null())


_LEVEL_NAMES = {value: name for name, value in LEVELS.items()}
_VALUE_PROPS = (
    ("Id", "Edm.String", False),
    ("KpiKey", "Edm.String", False),
    ("Date", "Edm.Date", False),
    ("PeriodEnd", "Edm.Date", False),
    ("Scope", "Edm.String", False),
    ("SourceId", "Edm.Int64", True),
    ("ClientId", "Edm.Int64", True),
    ("TechnicianId", "Edm.Int64", True),
    ("Board", "Edm.String", True),
    ("Priority", "Edm.String", True),
    ("PriorityLevel", "Edm.Int64", True),
    ("PriorityLabel", "Edm.String", True),
    ("LinkedEntityId", "Edm.Int64", True),
    ("Value", "Edm.Double", True),
    ("Numerator", "Edm.Double", True),
    ("Denominator", "Edm.Double", True),
    ("SampleSize", "Edm.Int64", False),
    ("Partial", "Edm.Boolean", False),
    ("Reason", "Edm.String", True),
)


def _text(value: Any) -> ColumnElement[Any]:
    return func.coalesce(cast(value, String), "")


def _values(reading: Reading, monthly: bool) -> EntitySet:
    dialect = reading.dialect
    table = (KpiMonthlyRollup if monthly else KpiDailyRollup).__table__
    pairs = (KpiMonthlyPairRollup if monthly else KpiDailyPairRollup).__table__
    s = scoped_rows(table, pairs, "scoped_months" if monthly else "scoped_days")
    parts: list[Any] = []
    for kpi in CATALOGUE:
        if kpi.key in TEAM_KPIS:
            parts += team_kpi(s, table, kpi.key, monthly, dialect)
        elif kpi.key in REVENUE_KPIS:
            if monthly:  # revenue KPIs are defined by month, quarter and year only
                parts += revenue_kpi(s, kpi.key, dialect)
        else:
            parts.append(rollup_kpi(s, kpi, dialect))
    parts.append(manual_kpis(monthly, dialect))
    rows = union_all(*parts).subquery("kpi_values")
    v = rows.c

    coverage = Coverage.load(reading.session, reading.tz)
    limits = {
        source_id: _limits(coverage.for_source(source_id), reading.today, monthly)
        for source_id in (None, *coverage.sources)
    }
    not_synced, history, partial_from = (
        _per_source(v.source_id, {k: lim[i] for k, lim in limits.items()}) for i in range(3)
    )
    manual = v.kpi_key.not_in(sorted(BUILT_IN))
    reason = case(
        (manual, null()),
        (v.day >= not_synced, "not_synced"),
        (v.day < history, "before_history"),
        else_=null(),
    )
    this_period = reading.today.replace(day=1) if monthly else reading.today
    partial = case(
        (manual, v.day >= literal(this_period, Date)),
        (reason.is_not(None), false()),
        else_=func.coalesce(v.day >= partial_from, false()),
    )

    def measured(column: Any, nothing: Any = None) -> ColumnElement[Any]:
        return case((reason.is_not(None), nothing), else_=column)

    # The parts of the key joined by '|', so that it never holds a '/' of its own making.
    key = v.kpi_key + "|" + _text(v.day) + "|" + v.scope + "|" + _text(v.source_id) + "|"
    member: ColumnElement[Any] = func.coalesce(
        cast(v.client_id, String),
        cast(v.technician_id, String),
        v.board,
        v.priority_level,
        v.priority_label,
        cast(v.linked_entity_id, String),
        "",
    )
    # A pair row's second member: the first non-null of the columns above read backwards
    # (a pair's first scope comes before its second in both orders).
    second = func.coalesce(v.priority_level, v.board, cast(v.technician_id, String))
    member = member + case((v.scope.contains("+"), "|" + second), else_="")
    exprs: dict[str, Any] = {
        "Id": key + member,
        "KpiKey": v.kpi_key,
        "Date": v.day,
        "PeriodEnd": next_month(v.day, dialect) if monthly else next_day(v.day, dialect),
        "Scope": v.scope,
        "SourceId": v.source_id,
        "ClientId": v.client_id,
        "TechnicianId": v.technician_id,
        "Board": v.board,
        "Priority": case(_LEVEL_NAMES, value=v.priority_level, else_=null()),
        "PriorityLevel": cast(v.priority_level, Integer),
        "PriorityLabel": v.priority_label,
        "LinkedEntityId": v.linked_entity_id,
        "Value": measured(v.value),
        "Numerator": measured(v.numerator),
        "Denominator": measured(v.denominator),
        "SampleSize": measured(v.sample_size, 0),
        "Partial": partial,
        "Reason": reason,
    }
    name = "KpiMonthlyValues" if monthly else "KpiDailyValues"
    props = tuple(Prop(n, edm, exprs[n], nullable) for n, edm, nullable in _VALUE_PROPS)
    return EntitySet(name, name.removesuffix("s"), rows, ("Id",), props, "")


def _value_set(grain: Grain) -> EntitySet:
    monthly = grain is Grain.MONTH
    name = "KpiMonthlyValues" if monthly else "KpiDailyValues"
    return EntitySet(
        name,
        name.removesuffix("s"),
        None,
        ("Id",),
        tuple(declared(n, edm, nullable) for n, edm, nullable in _VALUE_PROPS),
        f"Every KPI (the catalogue's and the manual ones) per {grain.value} and scope, as "
        "GET /api/v1/kpis/{key}/values gives it: Value with its Numerator, Denominator and "
        "SampleSize. Scope says what the row is about: 'all' (the company when SourceId is "
        "null, else that PSA), 'client', 'technician', 'board', 'priority' (P1-P4, in "
        "Priority), 'priority_label' (the PSA's own priority name, in PriorityLabel), "
        "'linked_client' or 'linked_technician' (LinkedEntityId: members pooled), or a "
        "pair of scopes, which sets both its columns: "
        f"{', '.join(repr(name) for name in SCOPE_OF_PAIR.values())} (priority as P1-P4). "
        "A row "
        "with SourceId null adds up every PSA. Partial is true for a period so far (still "
        "running or not synced to its end); Value is null with a Reason (before_history, "
        "not_synced) where the PSA data does not cover the period. A period without "
        "activity in the scope has no row.",
        navs=(
            Nav("Kpi", "Kpis", "KpiKey", "Key"),
            Nav("Source", "Sources", "SourceId"),
            Nav("Client", "Clients", "ClientId"),
            Nav("Technician", "Technicians", "TechnicianId"),
            Nav("LinkedEntity", "LinkedEntities", "LinkedEntityId"),
        ),
        build=lambda reading: _values(reading, monthly),
    )


KPI_VALUE_SETS = (_value_set(Grain.MONTH), _value_set(Grain.DAY))
