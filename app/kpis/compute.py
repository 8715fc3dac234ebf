"""KPI values for periods and breakdowns, read from the KPI store (never by scanning tickets).

Every value carries its numerator, denominator and sample size, so a person can check it.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import or_, select, tuple_
from sqlalchemy.orm import Session

from app.facts.models import (
    ObservationRow,
    RecurringAmountRow,
    RecurringRevenueRow,
    TechnicianRow,
)
from app.kpis.catalogue import KpiDefinition
from app.kpis.models import MEASURES
from app.kpis.periods import Period
from app.kpis.rollup_reads import Sums, period_sums, rollup_table, sums_before
from app.kpis.scope import ScopeFilter, member_keys

WEEKDAY_COLUMNS = (
    "capacity_mon",
    "capacity_tue",
    "capacity_wed",
    "capacity_thu",
    "capacity_fri",
    "capacity_sat",
    "capacity_sun",
)
TEAM_KPIS = {"utilization_pct", "billable_utilization_pct", "tickets_closed_per_technician"}
REVENUE_KPIS = {"mrr", "arr_run_rate", "recurring_revenue_per_technician", "effective_hourly_rate"}


@dataclass(frozen=True, slots=True)
class KpiValue:
    start: date
    end: date
    value: float | None
    numerator: float | None
    denominator: float | None
    sample_size: int


def _ratio(numerator: float, denominator: float, scale: float = 1.0) -> float | None:
    return None if denominator == 0 else scale * numerator / denominator


# Ratio KPIs read straight from the rollups: (numerator measure, denominator measure, scale).
RATIOS = {
    "sla_response_pct": ("response_met", "response_decided", 100.0),
    "sla_resolution_pct": ("resolution_met", "resolution_decided", 100.0),
    "avg_response_hours": ("response_hours_sum", "response_count", 1.0),
    "avg_resolution_hours": ("resolution_hours_sum", "resolution_count", 1.0),
    "csat_pct": ("csat_good", "csat_count", 100.0),
    "csat_avg": ("csat_score_sum", "csat_count", 100.0),
}
COUNTS = {
    "tickets_created": ("tickets_created",),
    "tickets_closed": ("tickets_closed",),
    "hours_logged": ("hours", "time_entries"),
}


def measures_of(key: str) -> tuple[str, ...]:
    """The rollup measures a rollup-based KPI reads (the others need not be summed)."""
    if key in COUNTS:
        return COUNTS[key]
    return RATIOS[key][:2] if key in RATIOS else MEASURES


def value_from_sums(key: str, s: Sums) -> tuple[float | None, float | None, float | None, int]:
    """(value, numerator, denominator, sample size) of a rollup-based KPI."""
    if key in ("tickets_created", "tickets_closed"):
        return s[key], s[key], None, int(s[key])
    if key == "hours_logged":
        return s["hours"], s["hours"], None, int(s["time_entries"])
    numerator_key, denominator_key, scale = RATIOS[key]
    n, d = s[numerator_key], s[denominator_key]
    return _ratio(n, d, scale), n, d, int(d)


def backlog_values(
    session: Session, scope: ScopeFilter, periods: Sequence[Period]
) -> list[KpiValue]:
    """Open backlog at each period's end: created before the end minus closed before it."""
    before = sums_before(session, scope, rollup_table(periods), periods[0].start)
    open_count = before["tickets_created"] - before["tickets_closed"]
    sums = period_sums(session, scope, periods)
    values = []
    for period, s in zip(periods, sums, strict=True):
        open_count += s["tickets_created"] - s["tickets_closed"]
        values.append(
            KpiValue(period.start, period.end, open_count, open_count, None, int(open_count))
        )
    return values


# ---- technicians ---------------------------------------------------------------------------


def weekday_counts(period: Period) -> list[int]:
    """How many Mondays ... Sundays the period has."""
    counts = [0] * 7
    full_weeks, extra = divmod(period.days(), 7)
    for i in range(7):
        counts[i] = full_weeks
    for offset in range(extra):
        counts[(period.start + timedelta(days=offset)).weekday()] += 1
    return counts


@dataclass
class Team:
    """Included technicians of the scope, split into active and inactive."""

    active_capacity: list[float]  # Σ capacity per weekday of active included technicians
    active_count: int
    inactive: dict[tuple[int, str], list[float]]  # (source, external id) -> capacity


def load_team(session: Session, source_id: int | None, technician_id: int | None) -> Team:
    query = select(TechnicianRow).where(TechnicianRow.included_in_utilization)
    if source_id is not None:
        query = query.where(TechnicianRow.source_id == source_id)
    if technician_id is not None:
        query = query.where(TechnicianRow.id == technician_id)
    team = Team([0.0] * 7, 0, {})
    for tech in session.scalars(query):
        capacity = [getattr(tech, column) for column in WEEKDAY_COLUMNS]
        if tech.active:
            team.active_count += 1
            team.active_capacity = [
                a + b for a, b in zip(team.active_capacity, capacity, strict=True)
            ]
        else:
            team.inactive[(tech.source_id, tech.external_id)] = capacity
    return team


def _inactive_with_time(
    session: Session, team: Team, periods: Sequence[Period]
) -> list[set[tuple[int, str]]]:
    """Per period, the inactive included technicians who logged time in it."""
    found: list[set[tuple[int, str]]] = [set() for _ in periods]
    if not team.inactive:
        return found
    starts = [p.start for p in periods]
    values = sorted({external_id for _, external_id in team.inactive})
    table = rollup_table(periods)
    rows = session.execute(
        select(table.source_id, table.dim_value, table.day).where(
            table.dim == "technician",
            table.dim_value.in_(values),
            table.day >= periods[0].start,
            table.day < periods[-1].end,
            table.hours > 0,
        )
    ).all()
    for source_id, external_id, day in rows:
        if (source_id, external_id) in team.inactive:
            index = bisect.bisect_right(starts, day) - 1
            found[index].add((source_id, external_id))
    return found


def team_values(
    session: Session, key: str, scope: ScopeFilter, periods: Sequence[Period]
) -> list[KpiValue]:
    team = load_team(session, scope.source_id, scope.technician_id)
    present = _inactive_with_time(session, team, periods)
    sums = period_sums(session, scope, periods)
    values = []
    for period, s, inactive in zip(periods, sums, present, strict=True):
        counts = weekday_counts(period)
        capacity = sum(c * h for c, h in zip(counts, team.active_capacity, strict=True))
        capacity += sum(
            sum(c * h for c, h in zip(counts, team.inactive[t], strict=True)) for t in inactive
        )
        counted = team.active_count + len(inactive)
        if key == "tickets_closed_per_technician":
            n, d = s["tickets_closed"], float(counted)
            values.append(KpiValue(period.start, period.end, _ratio(n, d), n, d, counted))
            continue
        n = s["utilization_hours" if key == "utilization_pct" else "billable_hours"]
        value = _ratio(n, capacity, 100.0) if counted else None
        values.append(KpiValue(period.start, period.end, value, n, capacity, counted))
    return values


# ---- revenue ---------------------------------------------------------------------------------


def _amount_rows(
    session: Session, scope: ScopeFilter, first: date, last: date
) -> list[tuple[date, date | None, Decimal]]:
    query = (
        select(
            RecurringAmountRow.valid_from,
            RecurringAmountRow.valid_to,
            RecurringAmountRow.monthly_amount,
        )
        .join(RecurringRevenueRow, RecurringRevenueRow.id == RecurringAmountRow.revenue_id)
        .where(
            RecurringAmountRow.valid_from <= last,
            or_(RecurringAmountRow.valid_to.is_(None), RecurringAmountRow.valid_to > first),
        )
    )
    if scope.source_id is not None:
        query = query.where(RecurringRevenueRow.source_id == scope.source_id)
    if scope.dim == "client":
        query = query.where(RecurringRevenueRow.client_external_id == scope.value)
    elif scope.dim == "link:client":
        query = query.where(
            tuple_(RecurringRevenueRow.source_id, RecurringRevenueRow.client_external_id).in_(
                member_keys(scope)
            )
        )
    return [tuple(row) for row in session.execute(query)]  # type: ignore[misc]


def mrr_on(rows: Sequence[tuple[date, date | None, Decimal]], day: date) -> float:
    return float(
        sum(
            (amount for start, end, amount in rows if start <= day and (end is None or day < end)),
            Decimal(0),
        )
    )


def month_ends(period: Period) -> list[date]:
    ends, current = [], period.start
    while current < period.end:
        nxt = date(current.year + current.month // 12, current.month % 12 + 1, 1)
        ends.append(min(nxt, period.end) - timedelta(days=1))
        current = nxt
    return ends


def revenue_values(
    session: Session, key: str, scope: ScopeFilter, periods: Sequence[Period]
) -> list[KpiValue]:
    rows = _amount_rows(session, scope, periods[0].start, periods[-1].last_day)
    values = []
    if key == "effective_hourly_rate":
        hours = period_sums(session, scope, periods)
        for period, s in zip(periods, hours, strict=True):
            revenue = sum(mrr_on(rows, end) for end in month_ends(period))
            n, d = revenue, s["client_hours"]
            values.append(KpiValue(period.start, period.end, _ratio(n, d), n, d, int(d)))
        return values
    technicians = 0
    if key == "recurring_revenue_per_technician":
        technicians = load_team(session, scope.source_id, None).active_count
    for period in periods:
        mrr = mrr_on(rows, period.last_day)
        if key == "mrr":
            values.append(KpiValue(period.start, period.end, mrr, mrr, None, 0))
        elif key == "arr_run_rate":
            values.append(KpiValue(period.start, period.end, mrr * 12, mrr * 12, None, 0))
        else:
            d = float(technicians)
            values.append(KpiValue(period.start, period.end, _ratio(mrr, d), mrr, d, technicians))
    return values


# ---- manual KPIs -----------------------------------------------------------------------------


def manual_values(
    session: Session, kpi: KpiDefinition, periods: Sequence[Period]
) -> list[KpiValue]:
    rows = session.execute(
        select(ObservationRow.observed_on, ObservationRow.value)
        .where(
            ObservationRow.kpi_key == kpi.key,
            ObservationRow.observed_on >= periods[0].start,
            ObservationRow.observed_on < periods[-1].end,
        )
        .order_by(ObservationRow.observed_on)
    ).all()
    starts = [p.start for p in periods]
    grouped: dict[int, list[float]] = defaultdict(list)
    for day, value in rows:
        grouped[bisect.bisect_right(starts, day) - 1].append(value)
    values = []
    for index, period in enumerate(periods):
        observed = grouped.get(index, [])
        if not observed:
            values.append(KpiValue(period.start, period.end, None, None, None, 0))
        elif kpi.aggregation == "last":
            values.append(
                KpiValue(period.start, period.end, observed[-1], observed[-1], None, len(observed))
            )
        else:
            total = sum(observed)
            values.append(
                KpiValue(
                    period.start,
                    period.end,
                    total / len(observed),
                    total,
                    float(len(observed)),
                    len(observed),
                )
            )
    return values


# ---- entry point -------------------------------------------------------------------------------


def kpi_values(
    session: Session, kpi: KpiDefinition, scope: ScopeFilter, periods: Sequence[Period]
) -> list[KpiValue]:
    """The KPI for each period, in order."""
    if kpi.manual:
        return manual_values(session, kpi, periods)
    if kpi.key == "open_backlog":
        return backlog_values(session, scope, periods)
    if kpi.key in TEAM_KPIS:
        return team_values(session, kpi.key, scope, periods)
    if kpi.key in REVENUE_KPIS:
        return revenue_values(session, kpi.key, scope, periods)
    return [
        KpiValue(p.start, p.end, *value_from_sums(kpi.key, s))
        for p, s in zip(periods, period_sums(session, scope, periods), strict=True)
    ]
