"""`/kpis` and `/kpis/{key}`: every catalogue and manual KPI, and one KPI's series over a
chosen range, with links to the CSV and the OData feed of the same numbers.

The series is `/api/v1/kpis/{key}/values`' own answer (`SeriesOut`); the query parameters
are checked here first, so a bad one is a 422 page that says what to write, never a 500."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from html import escape
from urllib.parse import quote, urlencode

from app.errors import InvalidInput
from app.inputs import ID_MAX, date_problem
from app.kpis.catalogue import Grain, KpiDefinition
from app.kpis.compute import COUNTS, RATIOS, measures_of
from app.kpis.schemas import SeriesOut
from app.people.principal import Person
from app.web.chart_scale import day_label
from app.web.charts import LARGE, ChartSpec, Point, render_chart
from app.web.render import header, moment_words, page

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# The OData feed's ratio columns (app.bi.odata.entities), named as a BI person reads them.
ODATA_RATIOS = {
    "sla_response_pct": "SlaResponsePct",
    "sla_resolution_pct": "SlaResolutionPct",
    "avg_response_hours": "AvgResponseHours",
    "avg_resolution_hours": "AvgResolutionHours",
    "csat_pct": "CsatPct",
    "csat_avg": "CsatAvg",
}


@dataclass(frozen=True, slots=True)
class KpiQuery:
    grain: Grain
    start: date | None
    end: date | None
    source: int | None


def day_param(params: Mapping[str, str], name: str) -> date | None:
    """The day `name` written YYYY-MM-DD within Northstar's dates, None when absent;
    InvalidInput otherwise."""
    text = params.get(name, "").strip()
    if not text:
        return None
    problem = None
    day = None
    if _ISO_DAY.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            problem = f"`{name}` {text!r} is not a real day."
    else:
        problem = f"`{name}` must be a day written YYYY-MM-DD, such as 2026-01-01; got {text!r}."
    if day is not None:
        problem = date_problem(day)
    if problem or day is None:
        raise InvalidInput(problem or f"`{name}` is not a day.", code="invalid_date")
    return day


def parse_kpi_query(params: Mapping[str, str], kpi: KpiDefinition) -> KpiQuery:
    """The page's `grain`, `from`, `to` and `source`, checked; InvalidInput names the one
    that is wrong and what it may be."""
    grain_text = params.get("grain", "month").strip() or "month"
    allowed = ", ".join(g.value for g in kpi.grains)
    if grain_text not in {g.value for g in kpi.grains}:
        raise InvalidInput(
            f"`grain` {grain_text!r} is not one {kpi.name} is measured by: use one of {allowed}.",
            code="invalid_grain",
        )
    start, end = day_param(params, "from"), day_param(params, "to")
    if start is not None and end is not None and end <= start:
        raise InvalidInput(f"`to` ({end}) must be after `from` ({start}).", code="invalid_range")
    source_text = params.get("source", "").strip()
    source = None
    if source_text:
        if not source_text.isdigit() or not 1 <= int(source_text) <= ID_MAX:
            raise InvalidInput(
                f"`source` must be a source's id, a whole number from 1 to {ID_MAX}; got "
                f"{source_text!r}.",
                code="invalid_source",
            )
        source = int(source_text)
    return KpiQuery(Grain(grain_text), start, end, source)


def _origin(kpi: KpiDefinition) -> str:
    if kpi.manual:
        return "Manual: values recorded with POST /api/v1/kpis/{key}/observations.".replace(
            "{key}", kpi.key
        )
    return "Measured from your PSA data (every connected PSA unless a source is chosen)."


def kpi_list_page(
    kpis: list[KpiDefinition], last_quarter: str, person: Person | None = None
) -> str:
    rows = "".join(
        f"<tr><td><a href='/kpis/{quote(k.key)}'>{escape(k.name)}</a>"
        f"<div class='muted'><code>{escape(k.key)}</code></div></td>"
        f"<td>{escape(k.category)}</td><td>{'manual' if k.manual else 'PSA'}</td>"
        f"<td>{escape(k.unit)}</td><td>{escape(k.definition)}</td></tr>"
        for k in kpis
    )
    body = (
        "<section aria-labelledby='kpis-title'><h2 id='kpis-title'>Every KPI</h2>"
        "<p>Open one to see its values over time, with the CSV and OData feed of the same "
        "numbers.</p><div class='scroll' tabindex='0' role='region' aria-label='KPIs'>"
        "<table class='kpis'><thead><tr>"
        "<th scope='col'>KPI</th><th scope='col'>Category</th><th scope='col'>Source</th>"
        "<th scope='col'>Unit</th><th scope='col'>Definition</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></div></section>"
    )
    return page(
        "KPIs: Northstar",
        header("Northstar scorecard", context="KPIs", last_quarter=last_quarter, person=person)
        + f"<main>{body}</main>",
    )


def _query_string(series: SeriesOut, extra: Mapping[str, str]) -> str:
    values = series.values
    params: dict[str, str] = {"grain": series.grain}
    if values:
        params["from"] = values[0].period_start.isoformat()
        params["to"] = values[-1].period_end.isoformat()
    if series.scope.source is not None:
        params["source"] = str(series.scope.source)
    return urlencode({**params, **extra})


def odata_url(kpi: KpiDefinition, series: SeriesOut) -> str | None:
    """The OData rows the series adds up: daily or monthly rollups, company-wide, between
    the same days (None for KPIs the rollups do not carry: revenue, utilisation, manual)."""
    if kpi.manual or (kpi.key not in RATIOS and kpi.key not in COUNTS):
        return None
    entity = "KpiDaily" if series.grain in ("day", "week") else "KpiMonthly"
    columns = ["SourceId", "Date"] + [
        "".join(part.capitalize() for part in m.split("_")) for m in measures_of(kpi.key)
    ]
    if kpi.key in ODATA_RATIOS:
        columns.append(ODATA_RATIOS[kpi.key])
    condition = "Dimension eq 'all' and BeforeHistory eq false"
    if series.values:
        first, end = series.values[0].period_start, series.values[-1].period_end
        condition += f" and Date ge {first.isoformat()} and Date lt {end.isoformat()}"
    if series.scope.source is not None:
        condition += f" and SourceId eq {series.scope.source}"
    query = urlencode(
        {"$filter": condition, "$select": ",".join(columns), "$orderby": "Date,SourceId"},
        quote_via=quote,
    )
    return f"/odata/{entity}?{query}"


def _chart(kpi: KpiDefinition, series: SeriesOut) -> str:
    points = tuple(
        Point(v.period_start, v.period_end, v.value, v.partial, v.sample_size, v.reason)
        for v in series.values
    )
    shown = [v for v in series.values if v.value is not None]
    summary = (
        f"{kpi.name} per {series.grain}, from {shown[0].period_start} "
        f"({shown[0].value}) to {shown[-1].period_start} ({shown[-1].value})."
        if shown
        else f"{kpi.name}: no values in this range."
    )
    spec = ChartSpec(
        title=f"{kpi.name} per {series.grain}",
        unit=kpi.unit,
        grain=series.grain,
        points=points,
        summary=summary,
        floor=series.kpi.min,
        ceiling=series.kpi.max,
    )
    return render_chart(spec, LARGE, chart_id=f"kpi-{kpi.key}-chart")


def _form(kpi: KpiDefinition, series: SeriesOut, sources: list[tuple[int, str]]) -> str:
    grains = "".join(
        f"<option value='{g.value}'{' selected' if g.value == series.grain else ''}>"
        f"{g.value}</option>"
        for g in kpi.grains
    )
    first = series.values[0].period_start.isoformat() if series.values else ""
    end = series.values[-1].period_end.isoformat() if series.values else ""
    source_options = "<option value=''>every PSA</option>" + "".join(
        f"<option value='{sid}'{' selected' if sid == series.scope.source else ''}>"
        f"{escape(name)}</option>"
        for sid, name in sources
    )
    source_field = (
        "<label>PSA <select name='source'>" + source_options + "</select></label>"
        if not kpi.manual and sources
        else ""
    )
    return (
        f"<form class='range' method='get' action='/kpis/{quote(kpi.key)}'>"
        f"<label>Per <select name='grain'>{grains}</select></label>"
        f"<label>From <input type='date' name='from' value='{first}'></label>"
        f"<label>To (day after) <input type='date' name='to' value='{end}'></label>"
        f"{source_field}<button type='submit'>Show</button></form>"
    )


def kpi_page(
    kpi: KpiDefinition,
    series: SeriesOut,
    sources: list[tuple[int, str]],
    last_quarter: str,
    person: Person | None = None,
) -> str:
    scope = (
        next((name for sid, name in sources if sid == series.scope.source), None)
        if series.scope.source is not None
        else None
    )
    coverage = ""
    if series.coverage is not None:
        coverage = (
            f"<dt>Data held</dt><dd>from {series.coverage.history_from or 'not yet complete'}"
            f", synced until {moment_words(series.coverage.synced_until)}</dd>"
        )
    csv = f"/api/v1/kpis/{quote(kpi.key)}/values?{_query_string(series, {'format': 'csv'})}"
    odata = odata_url(kpi, series)
    odata_link = (
        f"<li><a href='{escape(odata)}'>The OData feed of these rows</a> (for Power BI or "
        "Excel: they send your key; see docs/bi.md)</li>"
        if odata
        else "<li>OData: the feed's service document is <a href='/odata/'>/odata/</a> (this "
        "KPI is not one of its rollup columns; use the CSV or the REST API)</li>"
    )
    first = series.values[0].period_start if series.values else None
    label = day_label(first, series.grain, with_year=True) if first else ""
    body = (
        f"<section aria-labelledby='kpi-title'><h2 id='kpi-title'>{escape(kpi.name)}</h2>"
        "<dl class='facts'>"
        f"<dt>Definition</dt><dd>{escape(kpi.definition)}</dd>"
        f"<dt>Unit</dt><dd>{escape(kpi.unit)} (better when {escape(kpi.direction.value)})</dd>"
        f"<dt>Source</dt><dd>{escape(_origin(kpi))}</dd>"
        f"<dt>Scope</dt><dd>{escape(scope or 'every PSA connected, the whole company')}</dd>"
        f"{coverage}<dt>Periods</dt><dd>{len(series.values)} {escape(series.grain)}s from "
        f"{escape(label)} ({escape(series.timezone)})</dd></dl>"
        f"{_form(kpi, series, sources)}{_chart(kpi, series)}"
        f"<ul class='links'><li><a href='{escape(csv)}'>These numbers as CSV</a></li>"
        f"{odata_link}</ul></section>"
    )
    return page(
        f"{kpi.name}: Northstar",
        header("Northstar scorecard", context="KPI", last_quarter=last_quarter, person=person)
        + f"<main>{body}</main>",
    )
