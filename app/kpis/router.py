"""`/api/v1/kpis`: the catalogue, values by period and scope, breakdowns, manual KPIs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from app.api.deps import AdminKey, ContextDep, ReadKey, SessionDep
from app.api.params import DayParam, check_period_year, day_query, id_query
from app.api.tabular import CSV_RESPONSES, CsvFormat, csv_response, wants_csv
from app.errors import Unsupported
from app.kpis import manual
from app.kpis.breakdown import kpi_breakdown
from app.kpis.catalogue import Grain, Scope
from app.kpis.compute import kpi_values
from app.kpis.coverage import Coverage, ScopeCoverage, period_in_progress
from app.kpis.periods import Period, parse_period, period_containing, periods_between
from app.kpis.schemas import (
    BreakdownOut,
    BreakdownRowOut,
    CoverageOut,
    KpiOut,
    ManualKpiIn,
    ObservationBatch,
    ObservationOut,
    ObservationsResult,
    SeriesOut,
    SourceCoverageOut,
    ValueOut,
)
from app.kpis.scope import resolve_scope
from app.kpis.scope_query import (
    BoardParam,
    ClientParam,
    PriorityParam,
    ScopeQuery,
    SourceParam,
    TechnicianParam,
)

router = APIRouter(prefix="/kpis", tags=["kpis"])

VALUE_COLUMNS = ["period_start", "period_end", "value", "numerator", "denominator", "sample_size"]
COVERAGE_COLUMNS = ["partial", "reason"]


CATALOGUE_COLUMNS = ["key", "name", "unit", "direction", "category", "manual", "definition"]


@router.get(
    "",
    response_model=list[KpiOut],
    summary="The KPI catalogue",
    responses=CSV_RESPONSES,
)
def list_kpis(
    request: Request,
    session: SessionDep,
    _key: ReadKey,
    format: CsvFormat = None,
) -> Any:
    """Every KPI with its unit, direction and exact definition, manual ones included."""
    kpis = [KpiOut.of(k) for k in manual.all_kpis(session)]
    if wants_csv(request, format):
        return csv_response((k.model_dump() for k in kpis), CATALOGUE_COLUMNS, "kpis.csv")
    return kpis


@router.post("", response_model=KpiOut, status_code=201, summary="Declare a manual KPI")
def declare_kpi(body: ManualKpiIn, session: SessionDep, _key: AdminKey) -> Any:
    """For what no PSA measures: a team-confidence pulse, NPS... Feed it with observations.
    Give it a scale (`min`, `max`: 1 to 10 for a pulse) and values outside it are refused."""
    return KpiOut.of(
        manual.declare_manual_kpi(
            session,
            key=body.key,
            name=body.name,
            unit=body.unit,
            direction=body.direction,
            aggregation=body.aggregation,
            description=body.description,
            scale_min=body.min,
            scale_max=body.max,
        )
    )


@router.get("/{key}", response_model=KpiOut, summary="One KPI's definition")
def get_kpi(key: str, session: SessionDep, _key: ReadKey) -> Any:
    return KpiOut.of(manual.get_kpi(session, key))


def _default_range(today: date, grain: Grain) -> tuple[date, date]:
    end = period_containing(today, grain).end
    start = end
    for _ in range(12):
        start = period_containing(start.fromordinal(start.toordinal() - 1), grain).start
    return start, end


@router.get(
    "/{key}/values",
    response_model=SeriesOut,
    summary="A KPI over time",
    responses=CSV_RESPONSES,
)
def kpi_series(
    key: str,
    request: Request,
    session: SessionDep,
    context: ContextDep,
    _key: ReadKey,
    grain: Annotated[Grain, Query(description="day, week (ISO), month, quarter or year")] = (
        Grain.MONTH
    ),
    from_: Annotated[
        DayParam, day_query("First day (default: 12 periods ago).", alias="from")
    ] = None,
    to: Annotated[DayParam, day_query("Day after the last day (exclusive).")] = None,
    source: SourceParam = None,
    client: ClientParam = None,
    technician: TechnicianParam = None,
    board: BoardParam = None,
    priority: PriorityParam = None,
    format: CsvFormat = None,
) -> Any:
    """One row per period: the value, with its numerator, denominator and sample size.
    Periods are calendar periods in the reporting time zone; `value` is null when there was
    nothing to measure.

    Only periods the PSA data covers have a value: a period that starts before the first day
    from which a PSA's history is held in full (`coverage.history_from`), or that Northstar
    has not synced yet, has a null value with its `reason` (never a 0). The period still in
    progress, or synced only part of the way, is `partial`: its value is the period so far.
    Without `source` every PSA must cover the period.

    Two scope filters combine where the KPI supports both (client and priority, technician
    and board...; see docs/kpis.md): the series then counts what has both, read from the
    KPI store's pair rollups. A combination the KPI cannot be split by is a 400 that lists
    the ones it can."""
    kpi = manual.get_kpi(session, key)
    if grain not in kpi.grains:
        allowed = ", ".join(g.value for g in kpi.grains)
        raise Unsupported(
            f"{kpi.name} ({kpi.key}) is not defined by {grain.value}. Use one of: {allowed}.",
            code="grain_not_supported",
        )
    scope_given = ScopeQuery(source, client, technician, board, priority)
    scope = scope_given.resolve(session, kpi)
    today = datetime.now(context.settings.tz).date()
    if from_ is None or to is None:
        default_from, default_to = _default_range(today, grain)
        from_, to = from_ or default_from, to or default_to
    periods = periods_between(from_, to, grain)
    # A client or technician belongs to one source: its values cover what that source does.
    coverage = (
        None
        if kpi.manual
        else Coverage.load(session, context.settings.tz).for_source(scope.source_id)
    )
    values = []
    for v in kpi_values(session, kpi, scope, periods):
        partial, reason = _coverage_of(coverage, Period(v.start, v.end), today)
        values.append(
            ValueOut(
                period_start=v.start,
                period_end=v.end,
                value=None if reason else _round(v.value),
                numerator=None if reason else _round(v.numerator),
                denominator=None if reason else _round(v.denominator),
                sample_size=0 if reason else v.sample_size,
                partial=partial,
                reason=reason,
            )
        )
    if wants_csv(request, format):
        return csv_response(
            (v.model_dump() for v in values),
            [*VALUE_COLUMNS, *COVERAGE_COLUMNS],
            f"{kpi.key}-{grain.value}.csv",
        )
    return SeriesOut(
        kpi=KpiOut.of(kpi),
        grain=grain.value,
        timezone=context.settings.reporting_timezone,
        scope=scope_given.out(),
        coverage=_coverage_out(coverage),
        values=values,
    )


def _coverage_of(coverage: ScopeCoverage | None, period: Period, today: date) -> tuple[bool, Any]:
    """(partial, reason) of a period: a manual KPI (no coverage) has no reason and is
    partial until the period ends."""
    if coverage is None:
        return period_in_progress(period, today), None
    return coverage.partial(period, today), coverage.reason(period, today)


def _coverage_out(coverage: ScopeCoverage | None) -> CoverageOut | None:
    if coverage is None:
        return None
    return CoverageOut(
        history_from=coverage.history_from,
        synced_until=coverage.synced_until,
        sources=[
            SourceCoverageOut(
                id=s.source_id,
                name=s.name,
                history_from=s.history_from,
                synced_until=s.synced_until,
            )
            for s in coverage.sources
        ],
    )


@router.get(
    "/{key}/breakdown",
    response_model=BreakdownOut,
    summary="A KPI per client, technician, board or priority",
    responses=CSV_RESPONSES,
)
def kpi_breakdown_route(
    key: str,
    request: Request,
    session: SessionDep,
    context: ContextDep,
    _key: ReadKey,
    by: Annotated[Literal["client", "technician", "board", "priority"], Query()],
    period: Annotated[
        str, Query(description="2025-11-03, 2025-W45, 2025-11, 2025-Q4 or 2025 (2000 to 2100)")
    ],
    source: Annotated[int | None, id_query("Only this source (PSA).")] = None,
    order: Annotated[Literal["desc", "asc"], Query(description="Highest first, or lowest.")] = (
        "desc"
    ),
    unlinked: Annotated[
        bool,
        Query(
            description="true: every PSA's client or technician on its own row, even when "
            "it is linked with others (by default a linked one is one row)."
        ),
    ] = False,
    format: CsvFormat = None,
) -> Any:
    """The KPI for one period, one row per member, sorted by value (members with no value
    last): which clients miss SLA, who is over-utilised.

    By client or technician, a client (technician) linked across PSAs is one row, keyed
    `linked:<id>`, with `members` listing the ids it joins: its counts are the members'
    added up, its percentages and averages made from the added-up numerators and
    denominators. Utilisation by technician always lists each PSA's technician apart.

    When the PSA data does not cover the period (it starts before the first day held in
    full, or is not synced yet) every row's value is null and `reason` says why; the period
    still in progress is `partial`. In CSV, `partial` and `reason` are on every row."""
    kpi = manual.get_kpi(session, key)
    check_period_year(period, "query.period")
    window, grain = parse_period(period)
    if grain not in kpi.grains:
        raise Unsupported(
            f"{kpi.name} ({kpi.key}) is not defined by {grain.value}.",
            code="grain_not_supported",
        )
    if source is not None:
        resolve_scope(session, kpi, source=source)
    today = datetime.now(context.settings.tz).date()
    coverage = (
        None if kpi.manual else Coverage.load(session, context.settings.tz).for_source(source)
    )
    partial, reason = _coverage_of(coverage, window, today)
    rows = [
        BreakdownRowOut(
            key=r.key,
            name=r.name,
            source=r.source_id,
            external_id=r.external_id,
            value=None if reason else _round(r.value),
            numerator=None if reason else _round(r.numerator),
            denominator=None if reason else _round(r.denominator),
            sample_size=0 if reason else r.sample_size,
            members=list(r.members),
        )
        for r in kpi_breakdown(
            session,
            kpi,
            Scope(by),
            window,
            source_id=source,
            descending=order == "desc",
            pool_links=not unlinked,
        )
    ]
    if wants_csv(request, format):
        columns = [
            "key",
            "name",
            "source",
            "external_id",
            "members",
            *VALUE_COLUMNS[2:],
            *COVERAGE_COLUMNS,
        ]
        return csv_response(
            (
                {
                    **r.model_dump(),
                    "members": " ".join(str(m) for m in r.members),
                    "partial": partial,
                    "reason": reason,
                }
                for r in rows
            ),
            columns,
            f"{kpi.key}-by-{by}-{period}.csv",
        )
    return BreakdownOut(
        kpi=KpiOut.of(kpi),
        by=by,
        period_start=window.start,
        period_end=window.end,
        timezone=context.settings.reporting_timezone,
        partial=partial,
        reason=reason,
        rows=rows,
    )


@router.post(
    "/{key}/observations",
    response_model=ObservationsResult,
    summary="Record values of a manual KPI",
)
def post_observations(
    key: str,
    body: ObservationBatch,
    session: SessionDep,
    api_key: AdminKey,
) -> Any:
    """One observation or a list. One value per day: posting a day again replaces its value,
    so re-sending a batch is safe. A value outside the KPI's scale refuses the whole batch."""
    kpi = manual.get_kpi(session, key)
    if not kpi.manual:
        raise Unsupported(
            f"{kpi.name} is measured from your PSA; only manual KPIs take observations.",
            code="kpi_not_manual",
        )
    items = body.items
    manual.check_observations(kpi, [(o.date, o.value) for o in items], listed=body.listed)
    by_day = {o.date: (o.date, o.value, o.note) for o in items}  # the last of a day wins
    created, updated = manual.record_observations(
        session, kpi, list(by_day.values()), by=f"API key {api_key.name}"
    )
    return ObservationsResult(created=created, updated=updated)


@router.get(
    "/{key}/observations",
    response_model=list[ObservationOut],
    summary="A manual KPI's values",
    responses=CSV_RESPONSES,
)
def get_observations(
    key: str, request: Request, session: SessionDep, _key: ReadKey, format: CsvFormat = None
) -> Any:
    kpi = manual.get_kpi(session, key)
    rows = [
        ObservationOut(date=o.observed_on, value=o.value, note=o.note, recorded_by=o.recorded_by)
        for o in manual.list_observations(session, kpi)
    ]
    if wants_csv(request, format):
        return csv_response(
            (r.model_dump() for r in rows),
            ["date", "value", "note", "recorded_by"],
            f"{kpi.key}-observations.csv",
        )
    return rows


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)
