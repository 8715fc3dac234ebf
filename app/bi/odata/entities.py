"""The entity sets of the feed, declared as data.

Each set names its rows' source (a table), its key, and its properties: an OData name, an
EDM type and the SQL expression behind it. Only declared properties can be filtered,
selected or sorted on, so a query can never reach a column that is not listed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, FromClause, case, false, func, null, or_, select, true

from app.facts.models import ClientRow, TechnicianRow, TicketRow, TimeEntryRow
from app.goals.models import AlignmentSnapshot, Goal, Objective
from app.ingest.models import SyncCursor
from app.kpis.compute import RATIOS
from app.kpis.models import MEASURES, KpiDailyRollup, KpiMonthlyRollup
from app.sources.models import Source

NAMESPACE = "Northstar"


@dataclass(frozen=True)
class Prop:
    """One property: `name` in OData, `edm` its EDM type, `expr` the SQL behind it."""

    name: str
    edm: str
    expr: ColumnElement[Any]
    nullable: bool = True


@dataclass(frozen=True)
class EntitySet:
    """A read-only entity set: `name` is the URL segment, `type_name` the entity type."""

    name: str
    type_name: str
    table: FromClause
    key: tuple[str, ...]
    props: tuple[Prop, ...]
    description: str

    def prop(self, name: str) -> Prop | None:
        """The property called `name` (case-sensitive, as OData is), or None."""
        return next((p for p in self.props if p.name == name), None)


def _camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def _ratio(table: FromClause, numerator: str, denominator: str, scale: float) -> ColumnElement[Any]:
    """`scale * numerator / denominator`, null when the denominator is 0, as the REST API."""
    den = table.c[denominator]
    return case((den == 0, null()), else_=scale * table.c[numerator] / den)


# Derived ratio columns, named as a BI person reads them; each agrees with the REST KPI.
RATIO_NAMES = {
    "sla_response_pct": "SlaResponsePct",
    "sla_resolution_pct": "SlaResolutionPct",
    "avg_response_hours": "AvgResponseHours",
    "avg_resolution_hours": "AvgResolutionHours",
    "csat_pct": "CsatPct",
    "csat_avg": "CsatAvg",
}


SOURCES = Source.__table__


def _rollup(name: str, table: FromClause, grain: str) -> EntitySet:
    c = table.c
    history_from = SOURCES.c.history_from
    props = [
        Prop("Id", "Edm.Int64", c.id, nullable=False),
        Prop("SourceId", "Edm.Int64", c.source_id, nullable=False),
        Prop("Date", "Edm.Date", c.day, nullable=False),
        Prop("Dimension", "Edm.String", c.dim, nullable=False),
        Prop("Member", "Edm.String", c.dim_value, nullable=False),
        *(Prop(_camel(m), "Edm.Double", c[m], nullable=False) for m in MEASURES),
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
            "'priority_level' break it down by Member). Ratio columns are per row: to "
            "combine rows, sum the measures and divide. BeforeHistory is true for a period "
            "that starts before the first day from which the source's history is held in "
            "full (HistoryFrom): leave those rows out, they are not a measurement. The row "
            "of the period still running is that period so far (see SourceCoverage)."
        ),
    )


def _fact(
    name: str, type_name: str, table: FromClause, extra: list[tuple[str, str, str]]
) -> EntitySet:
    c = table.c
    props = [
        Prop("Id", "Edm.Int64", c.id, nullable=False),
        Prop("SourceId", "Edm.Int64", c.source_id, nullable=False),
        Prop("ExternalId", "Edm.String", c.external_id, nullable=False),
        *(Prop(odata, edm, c[column], bool(c[column].nullable)) for odata, edm, column in extra),
        Prop("SyncedAt", "Edm.DateTimeOffset", c.synced_at, nullable=False),
    ]
    return EntitySet(name, type_name, table, ("Id",), tuple(props), f"{name} as read from the PSA.")


_ALIGNMENT = [
    ("Status", "Edm.String", "status"),
    ("Progress", "Edm.Double", "progress"),
    ("ExpectedProgress", "Edm.Double", "expected_progress"),
    ("Pace", "Edm.Double", "pace"),
    ("CurrentValue", "Edm.Double", "current_value"),
    ("Reason", "Edm.String", "reason"),
    ("WindowStart", "Edm.Date", "window_start"),
    ("WindowEnd", "Edm.Date", "window_end"),
]


def _objectives() -> EntitySet:
    c = Objective.__table__.c
    props = (
        Prop("Id", "Edm.Int64", c.id, nullable=False),
        Prop("ParentId", "Edm.Int64", c.parent_id),
        Prop("Title", "Edm.String", c.title, nullable=False),
        Prop("Purpose", "Edm.String", c.purpose),
        Prop("Owner", "Edm.String", c.owner),
        Prop("Horizon", "Edm.String", c.horizon),
        Prop("Weight", "Edm.Double", c.weight, nullable=False),
        Prop("CreatedAt", "Edm.DateTimeOffset", c.created_at, nullable=False),
        Prop("UpdatedAt", "Edm.DateTimeOffset", c.updated_at, nullable=False),
    )
    return EntitySet(
        "Objectives", "Objective", Objective.__table__, ("Id",), props, "Objectives (OKR style)."
    )


def _snapshots() -> EntitySet:
    c = AlignmentSnapshot.__table__.c
    props = (
        Prop("Id", "Edm.Int64", c.id, nullable=False),
        Prop("GoalId", "Edm.Int64", c.goal_id, nullable=False),
        Prop("Date", "Edm.Date", c.day, nullable=False),
        *(Prop(name, edm, c[column], column != "status") for name, edm, column in _ALIGNMENT),
        Prop("Baseline", "Edm.Double", c.baseline),
    )
    return EntitySet(
        "AlignmentSnapshots",
        "AlignmentSnapshot",
        AlignmentSnapshot.__table__,
        ("Id",),
        props,
        "Each goal's alignment as computed on Date (one row per goal and day).",
    )


def _source_coverage() -> EntitySet:
    """Each source's data coverage, as `GET /api/v1/sources` gives it: the first day held
    in full, and the oldest last successful sync of its streams (null while one never
    succeeded)."""
    cursors = SyncCursor.__table__
    synced = (
        select(
            cursors.c.source_id,
            case(
                (func.count(cursors.c.last_success_at) < func.count(), null()),
                else_=func.min(cursors.c.last_success_at),
            ).label("synced_until"),
        )
        .group_by(cursors.c.source_id)
        .subquery("synced")
    )
    props = (
        Prop("Id", "Edm.Int64", SOURCES.c.id, nullable=False),  # the rows' SourceId
        Prop("Name", "Edm.String", SOURCES.c.name, nullable=False),
        Prop("Kind", "Edm.String", SOURCES.c.kind, nullable=False),
        Prop("HistoryFrom", "Edm.Date", SOURCES.c.history_from),
        Prop("SyncedUntil", "Edm.DateTimeOffset", synced.c.synced_until),
    )
    return EntitySet(
        "SourceCoverage",
        "SourceCoverage",
        SOURCES.outerjoin(synced, synced.c.source_id == SOURCES.c.id),
        ("Id",),
        props,
        "Which days of each PSA's data Northstar holds: periods before HistoryFrom are not "
        "measured, and a period that ends after SyncedUntil is only partly synced.",
    )


def _goals() -> EntitySet:
    """Goals joined to their latest daily alignment snapshot (taken each night for the day
    before), so `Status`, `Progress` and friends are the current alignment and stay
    filterable in the database."""
    snap = AlignmentSnapshot.__table__
    ranked = select(
        snap,
        func.row_number()
        .over(partition_by=snap.c.goal_id, order_by=(snap.c.day.desc(), snap.c.id.desc()))
        .label("rank"),
    ).subquery("ranked")
    latest = select(ranked).where(ranked.c.rank == 1).subquery("latest")
    goals = Goal.__table__
    c = goals.c
    props = (
        Prop("Id", "Edm.Int64", c.id, nullable=False),
        Prop("ObjectiveId", "Edm.Int64", c.objective_id, nullable=False),
        Prop("Title", "Edm.String", c.title, nullable=False),
        Prop("KpiKey", "Edm.String", c.kpi_key, nullable=False),
        Prop("Kind", "Edm.String", c.kind, nullable=False),
        Prop("ScopeDimension", "Edm.String", c.scope_dim, nullable=False),
        Prop("ScopeMember", "Edm.String", c.scope_value, nullable=False),
        Prop("ScopeSourceId", "Edm.Int64", c.scope_source_id),
        Prop("Baseline", "Edm.Double", c.baseline),
        Prop("Target", "Edm.Double", c.target),
        Prop("Low", "Edm.Double", c.low),
        Prop("High", "Edm.Double", c.high),
        Prop("StartDate", "Edm.Date", c.start_date, nullable=False),
        Prop("DueDate", "Edm.Date", c.due_date, nullable=False),
        Prop("EvaluationGrain", "Edm.String", c.evaluation_grain, nullable=False),
        Prop("Weight", "Edm.Double", c.weight, nullable=False),
        Prop("AlignmentDate", "Edm.Date", latest.c.day),
        *(Prop(name, edm, latest.c[column]) for name, edm, column in _ALIGNMENT),
    )
    return EntitySet(
        "Goals",
        "Goal",
        goals.outerjoin(latest, latest.c.goal_id == c.id),
        ("Id",),
        props,
        "Goals with their current alignment: the latest daily snapshot (AlignmentDate); "
        "Status is null until the first snapshot is taken.",
    )


def _build() -> dict[str, EntitySet]:
    sets = [
        _rollup("KpiMonthly", KpiMonthlyRollup.__table__, "month (Date is the 1st)"),
        _rollup("KpiDaily", KpiDailyRollup.__table__, "day"),
        _fact(
            "Tickets",
            "Ticket",
            TicketRow.__table__,
            [
                ("Number", "Edm.String", "number"),
                ("Title", "Edm.String", "title"),
                ("ClientExternalId", "Edm.String", "client_external_id"),
                ("Board", "Edm.String", "board"),
                ("Status", "Edm.String", "status"),
                ("IsClosed", "Edm.Boolean", "is_closed"),
                ("Priority", "Edm.String", "priority"),
                ("PriorityLevel", "Edm.Int64", "priority_level"),
                ("AssigneeExternalId", "Edm.String", "assignee_external_id"),
                ("CreatedAt", "Edm.DateTimeOffset", "created_at"),
                ("FirstResponseAt", "Edm.DateTimeOffset", "first_response_at"),
                ("ResolvedAt", "Edm.DateTimeOffset", "resolved_at"),
                ("ClosedAt", "Edm.DateTimeOffset", "closed_at"),
                ("ResponseMet", "Edm.Boolean", "response_met"),
                ("ResolutionMet", "Edm.Boolean", "resolution_met"),
                ("UpdatedAt", "Edm.DateTimeOffset", "updated_at"),
            ],
        ),
        _fact(
            "TimeEntries",
            "TimeEntry",
            TimeEntryRow.__table__,
            [
                ("TechnicianExternalId", "Edm.String", "technician_external_id"),
                ("ClientExternalId", "Edm.String", "client_external_id"),
                ("TicketExternalId", "Edm.String", "ticket_external_id"),
                ("WorkDate", "Edm.Date", "work_date"),
                ("Hours", "Edm.Double", "hours"),
                ("BillableHours", "Edm.Double", "billable_hours"),
                ("CountsTowardUtilization", "Edm.Boolean", "counts_toward_utilization"),
            ],
        ),
        _fact(
            "Clients",
            "Client",
            ClientRow.__table__,
            [("Name", "Edm.String", "name"), ("Active", "Edm.Boolean", "active")],
        ),
        _fact(
            "Technicians",
            "Technician",
            TechnicianRow.__table__,
            [
                ("Name", "Edm.String", "name"),
                ("Email", "Edm.String", "email"),
                ("Active", "Edm.Boolean", "active"),
                ("IncludedInUtilization", "Edm.Boolean", "included_in_utilization"),
                *(
                    (f"Capacity{d.capitalize()}", "Edm.Double", f"capacity_{d}")
                    for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
                ),
            ],
        ),
        _goals(),
        _objectives(),
        _snapshots(),
        _source_coverage(),
    ]
    return {s.name: s for s in sets}


ENTITY_SETS: dict[str, EntitySet] = _build()
