"""KPI series for many goals at once.

A scorecard needs a series per goal (its window, the periods since its start for the forecast,
a dozen for the sparkline). Reading them one goal at a time costs one round of queries per
goal; here goals first say what they need, then one read per distinct (KPI, scope, grain)
covers the union of their periods, and every KPI computed from additive rollups (tickets,
SLA, CSAT, hours, the backlog, one technician's utilisation) is read for all goals in a
single query per rollup table, and MRR and run rate in one read of the recurring amounts.
`tests/app/goals/test_goal_series.py` checks every KPI read this way against
`app.kpis.compute.kpi_values`.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select, tuple_
from sqlalchemy.orm import Session

from app.facts.models import RecurringAmountRow, RecurringRevenueRow, TechnicianRow
from app.kpis.catalogue import Grain, KpiDefinition
from app.kpis.compute import (
    REVENUE_KPIS,
    TEAM_KPIS,
    WEEKDAY_COLUMNS,
    KpiValue,
    kpi_values,
    mrr_on,
    value_from_sums,
    weekday_counts,
)
from app.kpis.models import MEASURES
from app.kpis.periods import Period, periods_between
from app.kpis.rollup_reads import rollup_table
from app.kpis.scope import ScopeFilter


@dataclass(frozen=True, slots=True)
class SeriesKey:
    kpi: KpiDefinition
    scope: ScopeFilter
    grain: Grain


@dataclass
class _Need:
    first: date
    end: date
    values: dict[date, KpiValue] = field(default_factory=dict)


# The measures each KPI reads (app.kpis.compute.value_from_sums and team_values); summing
# only those keeps a 100-goal scorecard's arithmetic small.
MEASURES_USED: dict[str, tuple[str, ...]] = {
    "tickets_created": ("tickets_created",),
    "tickets_closed": ("tickets_closed",),
    "open_backlog": ("tickets_created", "tickets_closed"),
    "sla_response_pct": ("response_met", "response_decided"),
    "sla_resolution_pct": ("resolution_met", "resolution_decided"),
    "avg_response_hours": ("response_hours_sum", "response_count"),
    "avg_resolution_hours": ("resolution_hours_sum", "resolution_count"),
    "csat_pct": ("csat_good", "csat_count"),
    "csat_avg": ("csat_score_sum", "csat_count"),
    "hours_logged": ("hours", "time_entries"),
}
# Revenue KPIs read from the recurring amounts alone (the others need hours or a team).
RECURRING_KPIS = {"mrr", "arr_run_rate"}
CREATED, CLOSED = 4 + MEASURES.index("tickets_created"), 4 + MEASURES.index("tickets_closed")


def _batched(key: SeriesKey) -> bool:
    """Computable from the member's own additive sums: every ticket, SLA, CSAT and hours KPI,
    the open backlog (a running total of them), and the team KPIs of one technician (whose
    capacity is that technician's). Manual, revenue and whole-team KPIs, and linked entities
    (whose members are looked up as they are now) and pairs of scopes are read one by one."""
    if key.kpi.manual or key.kpi.key in REVENUE_KPIS:
        return False
    if key.scope.linked_id is not None:  # its members are read through kpi_values
        return False
    if key.scope.second_dim is not None:  # a pair: read from the pair rollups one by one
        return False
    return key.kpi.key not in TEAM_KPIS or key.scope.dim == "technician"


class SeriesReader:
    """Collects needs with `want`, reads them all with `fetch`, answers with `value`."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._needs: dict[SeriesKey, _Need] = {}

    def want(self, key: SeriesKey, first: date, end: date) -> None:
        """The periods of `key.grain` overlapping `[first, end)` will be read."""
        need = self._needs.get(key)
        if need is None:
            self._needs[key] = _Need(first, end)
        else:
            need.first, need.end = min(need.first, first), max(need.end, end)

    def fetch(self) -> None:
        batched: dict[Any, list[tuple[SeriesKey, list[Period]]]] = defaultdict(list)
        revenue: list[tuple[SeriesKey, list[Period]]] = []
        for key, need in self._needs.items():
            periods = periods_between(need.first, need.end, key.grain)
            if _batched(key):
                batched[rollup_table(periods)].append((key, periods))
            elif key.kpi.key in RECURRING_KPIS and key.scope.linked_id is None:
                revenue.append((key, periods))
            else:
                for value in kpi_values(self.session, key.kpi, key.scope, periods):
                    need.values[value.start] = value
        for table, items in batched.items():
            self._fetch_sums(table, items)
        if revenue:
            self._fetch_recurring(revenue)

    def _fetch_recurring(self, items: list[tuple[SeriesKey, list[Period]]]) -> None:
        """MRR and run rate of every goal from one read of the recurring amounts (the same
        rule as `app.kpis.compute.revenue_values`: the amount in force on each period's last
        day)."""
        first = min(periods[0].start for _, periods in items)
        last = max(periods[-1].last_day for _, periods in items)
        rows = (
            self.session.connection()
            .execute(
                select(
                    RecurringRevenueRow.source_id,
                    RecurringRevenueRow.client_external_id,
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
            .all()
        )
        for key, periods in items:
            scope = key.scope
            amounts = [
                (row[2], row[3], row[4])
                for row in rows
                if scope.source_id in (None, row[0])
                and (scope.dim != "client" or row[1] == scope.value)
            ]
            factor = 12.0 if key.kpi.key == "arr_run_rate" else 1.0
            need = self._needs[key]
            for period in periods:
                value = mrr_on(amounts, period.last_day) * factor
                need.values[period.start] = KpiValue(
                    period.start, period.end, value, value, None, 0
                )

    def _fetch_sums(self, table: Any, items: list[tuple[SeriesKey, list[Period]]]) -> None:
        """One query for the rollup rows of every member in `items`, then each series (and
        one more query for the backlog's opening count, when a backlog is asked for)."""
        members = sorted({(key.scope.dim, key.scope.value) for key, _ in items})
        first = min(periods[0].start for _, periods in items)
        end = max(periods[-1].end for _, periods in items)
        # Core rows, not ORM ones: a thousand plain tuples cost a tenth of ORM result rows.
        rows = (
            self.session.connection()
            .execute(
                select(
                    table.source_id,
                    table.dim,
                    table.dim_value,
                    table.day,
                    *(getattr(table, m) for m in MEASURES),
                ).where(
                    tuple_(table.dim, table.dim_value).in_(members),
                    table.day >= first,
                    table.day < end,
                )
            )
            .all()
        )
        by_member: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for row in rows:
            by_member[(row[1], row[2])].append(row)
        opening = self._backlog_before(table, items, first)
        technicians = self._technicians(items)
        for key, periods in items:
            member = [
                row
                for row in by_member.get((key.scope.dim, key.scope.value), [])
                if key.scope.source_id is None or row[0] == key.scope.source_id
            ]
            sums = [dict.fromkeys(MEASURES, 0.0) for _ in periods]
            starts = [p.start for p in periods]
            open_count = sum(
                count
                for (source_id, dim, value), count in opening.items()
                if (dim, value) == (key.scope.dim, key.scope.value)
                and key.scope.source_id in (None, source_id)
            )
            used = [(m, 4 + MEASURES.index(m)) for m in MEASURES_USED.get(key.kpi.key, MEASURES)]
            for row in member:
                day = row[3]
                if day < periods[0].start:  # read for another goal: only the backlog needs it
                    open_count += (row[CREATED] or 0.0) - (row[CLOSED] or 0.0)
                    continue
                index = bisect.bisect_right(starts, day) - 1
                if 0 <= index < len(periods) and day < periods[index].end:
                    for measure, column in used:
                        sums[index][measure] += row[column] or 0.0
            need = self._needs[key]
            for period, s in zip(periods, sums, strict=True):
                if key.kpi.key == "open_backlog":
                    open_count += s["tickets_created"] - s["tickets_closed"]
                    value = KpiValue(
                        period.start, period.end, open_count, open_count, None, int(open_count)
                    )
                elif key.kpi.key in TEAM_KPIS:
                    value = _technician_value(key, period, s, technicians.get(key.scope))
                else:
                    value = KpiValue(period.start, period.end, *value_from_sums(key.kpi.key, s))
                need.values[period.start] = value

    def _backlog_before(
        self, table: Any, items: list[tuple[SeriesKey, list[Period]]], first: date
    ) -> dict[tuple[int, str, str], float]:
        """Tickets created minus closed before `first`, per source and member."""
        members = sorted(
            {(k.scope.dim, k.scope.value) for k, _ in items if k.kpi.key == "open_backlog"}
        )
        if not members:
            return {}
        rows = self.session.execute(
            select(
                table.source_id,
                table.dim,
                table.dim_value,
                func.sum(table.tickets_created),
                func.sum(table.tickets_closed),
            )
            .where(tuple_(table.dim, table.dim_value).in_(members), table.day < first)
            .group_by(table.source_id, table.dim, table.dim_value)
        ).all()
        return {(r[0], r[1], r[2]): (r[3] or 0.0) - (r[4] or 0.0) for r in rows}

    def _technicians(
        self, items: list[tuple[SeriesKey, list[Period]]]
    ) -> dict[ScopeFilter, TechnicianRow]:
        """The technician of each one-technician team KPI, if included in utilisation."""
        ids = {
            k.scope.technician_id
            for k, _ in items
            if k.kpi.key in TEAM_KPIS and k.scope.technician_id is not None
        }
        if not ids:
            return {}
        found = {
            row.id: row
            for row in self.session.scalars(
                select(TechnicianRow).where(
                    TechnicianRow.id.in_(ids), TechnicianRow.included_in_utilization
                )
            )
        }
        return {
            k.scope: found[k.scope.technician_id]
            for k, _ in items
            if k.scope.technician_id in found
        }

    def reading(self, key: SeriesKey, period: Period) -> KpiValue | None:
        """The KPI over `period` (one of the periods wanted), with its sample size."""
        return self._needs[key].values.get(period.start)

    def value(self, key: SeriesKey, period: Period) -> float | None:
        """The KPI over `period` (one of the periods wanted), None when it has no value."""
        found = self.reading(key, period)
        return None if found is None else found.value


def _technician_value(
    key: SeriesKey, period: Period, sums: dict[str, float], technician: TechnicianRow | None
) -> KpiValue:
    """A team KPI of one technician, as `app.kpis.compute.team_values` defines it: counted
    when included in utilisation and active, or inactive with time logged in the period."""
    counted = technician is not None and (technician.active or sums["hours"] > 0)
    capacity = 0.0
    if counted:
        assert technician is not None
        hours = [getattr(technician, column) for column in WEEKDAY_COLUMNS]
        capacity = sum(c * h for c, h in zip(weekday_counts(period), hours, strict=True))
    n_counted = 1 if counted else 0
    if key.kpi.key == "tickets_closed_per_technician":
        n = sums["tickets_closed"]
        value = n / n_counted if n_counted else None
        return KpiValue(period.start, period.end, value, n, float(n_counted), n_counted)
    column = "utilization_hours" if key.kpi.key == "utilization_pct" else "billable_hours"
    n = sums[column]
    value = 100.0 * n / capacity if counted and capacity else None
    return KpiValue(period.start, period.end, value, n, capacity, n_counted)
