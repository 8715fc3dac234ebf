"""The additive rollups, one row per source, day (or month) and scope member: the raw
measures behind every KPI, for BI models that add them up themselves."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, FromClause, case, false, null, or_, true

from app.bi.odata.model import EntitySet, Nav, Prop, camel
from app.kpis.compute import RATIOS
from app.kpis.models import MEASURES, KpiDailyRollup, KpiMonthlyRollup
from app.kpis.scope import LEVELS
from app.sources.models import Source

SOURCES = Source.__table__

# Derived ratio columns, named as a BI person reads them; each agrees with the REST KPI.
RATIO_NAMES = {
    "sla_response_pct": "SlaResponsePct",
    "sla_resolution_pct": "SlaResolutionPct",
    "avg_response_hours": "AvgResponseHours",
    "avg_resolution_hours": "AvgResolutionHours",
    "csat_pct": "CsatPct",
    "csat_avg": "CsatAvg",
}
_LEVEL_NAMES = {value: name for name, value in LEVELS.items()}


def _ratio(table: FromClause, numerator: str, denominator: str, scale: float) -> ColumnElement[Any]:
    """`scale * numerator / denominator`, null when the denominator is 0, as the REST API."""
    den = table.c[denominator]
    return case((den == 0, null()), else_=scale * table.c[numerator] / den)


def _rollup(name: str, table: FromClause, grain: str) -> EntitySet:
    c = table.c
    history_from = SOURCES.c.history_from
    level = case((c.dim == "priority_level", case(_LEVEL_NAMES, value=c.dim_value)))
    props = [
        Prop("Id", "Edm.Int64", c.id, nullable=False),
        Prop("SourceId", "Edm.Int64", c.source_id, nullable=False),
        Prop("Date", "Edm.Date", c.day, nullable=False),
        Prop("Dimension", "Edm.String", c.dim, nullable=False),
        Prop("Member", "Edm.String", c.dim_value, nullable=False),
        Prop("Priority", "Edm.String", level),
        Prop("PriorityLabel", "Edm.String", case((c.dim == "priority", c.dim_value))),
        *(Prop(camel(m), "Edm.Double", c[m], nullable=False) for m in MEASURES),
        *(
            Prop(RATIO_NAMES[key], "Edm.Double", _ratio(table, num, den, scale))
            for key, (num, den, scale) in RATIOS.items()
            if key in RATIO_NAMES
        ),
        Prop("HistoryFrom", "Edm.Date", history_from),
        Prop(
            "BeforeHistory",
            "Edm.Boolean",
            case((or_(history_from.is_(None), c.day < history_from), true()), else_=false()),
            nullable=False,
        ),
    ]
    return EntitySet(
        name=name,
        type_name=name,
        table=table.outerjoin(SOURCES, SOURCES.c.id == c.source_id),
        key=("Id",),
        props=tuple(props),
        description=(
            f"Additive KPI measures per source, {grain} and scope (Dimension 'all' is the "
            "whole company; 'client', 'technician', 'board', 'priority' and "
            "'priority_level' break it down by Member; Priority is P1-P4 on the "
            "'priority_level' rows, PriorityLabel the PSA's priority name on the "
            "'priority' rows). Ratio columns are per row: to combine rows, sum the "
            "measures and divide (KpiMonthlyValues and KpiDailyValues hold every KPI "
            "ready-made). BeforeHistory is true for a period that starts before the first "
            "day from which the source's history is held in full (HistoryFrom): leave those "
            "rows out, they are not a measurement. The row of the period still running is "
            "that period so far (see Sources)."
        ),
        navs=(Nav("Source", "Sources", "SourceId"),),
    )


def rollup_sets() -> list[EntitySet]:
    return [
        _rollup("KpiMonthly", KpiMonthlyRollup.__table__, "month (Date is the 1st)"),
        _rollup("KpiDaily", KpiDailyRollup.__table__, "day"),
    ]
