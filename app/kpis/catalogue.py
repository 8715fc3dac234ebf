"""The v1 KPI catalogue (docs/kpis.md §4), declared as data.

The definitions are served by the API word for word, so a person can see how every number
is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Grain(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class Scope(StrEnum):
    SOURCE = "source"
    CLIENT = "client"
    TECHNICIAN = "technician"
    BOARD = "board"
    PRIORITY = "priority"


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"
    NEUTRAL = "neutral"


ALL_GRAINS = tuple(Grain)
REVENUE_GRAINS = (Grain.MONTH, Grain.QUARTER, Grain.YEAR)
TICKET_SCOPES = tuple(Scope)
ORG_SCOPES = (Scope.SOURCE, Scope.TECHNICIAN)
REVENUE_SCOPES = (Scope.SOURCE, Scope.CLIENT)


@dataclass(frozen=True, slots=True)
class KpiDefinition:
    key: str
    name: str
    unit: str  # count, percent, hours, currency, currency_per_hour, or a manual KPI's own
    direction: Direction
    definition: str
    grains: tuple[Grain, ...] = ALL_GRAINS
    scopes: tuple[Scope, ...] = TICKET_SCOPES
    category: str = "service"
    manual: bool = False
    aggregation: str | None = None  # manual KPIs: mean or last
    # Manual KPIs: the declared scale (either end optional); see app.kpis.domain.
    scale_min: float | None = None
    scale_max: float | None = None


CATALOGUE: tuple[KpiDefinition, ...] = (
    KpiDefinition(
        "tickets_created",
        "Tickets created",
        "count",
        Direction.NEUTRAL,
        "Tickets with created_at in the period.",
    ),
    KpiDefinition(
        "tickets_closed",
        "Tickets closed",
        "count",
        Direction.UP,
        "Tickets with closed_at in the period.",
    ),
    KpiDefinition(
        "open_backlog",
        "Open backlog",
        "count",
        Direction.DOWN,
        "At the end of the period: tickets created before the end and not closed by then "
        "(closed_at empty or at or after the end).",
    ),
    KpiDefinition(
        "sla_response_pct",
        "SLA response met",
        "percent",
        Direction.UP,
        "100 × met ÷ decided, over tickets whose first response is in the period and whose "
        "response SLA result is known.",
    ),
    KpiDefinition(
        "sla_resolution_pct",
        "SLA resolution met",
        "percent",
        Direction.UP,
        "100 × met ÷ decided, over tickets resolved in the period whose resolution SLA "
        "result is known.",
    ),
    KpiDefinition(
        "avg_response_hours",
        "Average response time",
        "hours",
        Direction.DOWN,
        "Mean of first response minus creation (wall clock), over tickets whose first "
        "response is in the period.",
    ),
    KpiDefinition(
        "avg_resolution_hours",
        "Average resolution time",
        "hours",
        Direction.DOWN,
        "Mean of resolution minus creation (wall clock), over tickets resolved in the period.",
    ),
    KpiDefinition(
        "csat_pct",
        "Satisfied clients",
        "percent",
        Direction.UP,
        "100 × (survey responses scoring at least 0.75 of the scale) ÷ responses, over "
        "responses completed in the period.",
    ),
    KpiDefinition(
        "csat_avg",
        "Average satisfaction",
        "percent",
        Direction.UP,
        "100 × the mean survey score (0 to 1), over responses completed in the period.",
    ),
    KpiDefinition(
        "hours_logged",
        "Hours logged",
        "hours",
        Direction.NEUTRAL,
        "Sum of the hours of time entries worked in the period.",
        scopes=TICKET_SCOPES,
        category="team",
    ),
    KpiDefinition(
        "utilization_pct",
        "Utilisation",
        "percent",
        Direction.UP,
        "100 × hours that count toward utilisation ÷ capacity hours, over the technicians "
        "counted in the period (included in utilisation, and active or with time in the "
        "period); capacity is each technician's hours for each weekday of the period.",
        scopes=ORG_SCOPES,
        category="team",
    ),
    KpiDefinition(
        "billable_utilization_pct",
        "Billable utilisation",
        "percent",
        Direction.UP,
        "100 × billable hours ÷ capacity hours, over the technicians counted in the period.",
        scopes=ORG_SCOPES,
        category="team",
    ),
    KpiDefinition(
        "tickets_closed_per_technician",
        "Tickets closed per technician",
        "count",
        Direction.UP,
        "Tickets closed in the period ÷ technicians counted in the period.",
        scopes=ORG_SCOPES,
        category="team",
    ),
    KpiDefinition(
        "mrr",
        "Monthly recurring revenue",
        "currency",
        Direction.UP,
        "Monthly recurring revenue in force on the last day of the period.",
        grains=REVENUE_GRAINS,
        scopes=REVENUE_SCOPES,
        category="revenue",
    ),
    KpiDefinition(
        "arr_run_rate",
        "Annual run rate",
        "currency",
        Direction.UP,
        "Monthly recurring revenue on the last day of the period × 12.",
        grains=REVENUE_GRAINS,
        scopes=REVENUE_SCOPES,
        category="revenue",
    ),
    KpiDefinition(
        "recurring_revenue_per_technician",
        "Recurring revenue per technician",
        "currency",
        Direction.UP,
        "Monthly recurring revenue on the last day of the period ÷ technicians who are "
        "active and included in utilisation today.",
        grains=REVENUE_GRAINS,
        scopes=(Scope.SOURCE,),
        category="revenue",
    ),
    KpiDefinition(
        "effective_hourly_rate",
        "Effective hourly rate",
        "currency_per_hour",
        Direction.UP,
        "Recurring revenue of the period (the sum, over its months, of monthly recurring "
        "revenue on each month's last day) ÷ client-facing hours logged in the period.",
        grains=REVENUE_GRAINS,
        scopes=REVENUE_SCOPES,
        category="revenue",
    ),
)

BUILT_IN = {kpi.key: kpi for kpi in CATALOGUE}
