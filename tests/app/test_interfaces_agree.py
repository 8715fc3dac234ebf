"""REST (JSON and CSV), the OData feed, the SQL views and the Prometheus metrics give the same
numbers for the demo world: both sandbox PSAs, synced as `make demo` does."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from db_targets import ON_POSTGRES
from leak_guard import CheckedClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from app.api.context import ServiceContext
from app.db import Database
from app.demo import ensure_demo_sources, sync_demo_sources
from app.kpis.catalogue import CATALOGUE
from app.kpis.periods import Grain, period_containing
from app.main import create_app
from app.security.apikeys import create_api_key
from app.security.models import KeyScope
from app.settings import Settings

# KPI key -> (OData property, SQL view column) of the monthly rollups.
ROLLUP_KPIS = {
    "tickets_created": ("TicketsCreated", "tickets_created"),
    "tickets_closed": ("TicketsClosed", "tickets_closed"),
    "hours_logged": ("Hours", "hours"),
    "sla_response_pct": ("SlaResponsePct", "sla_response_pct"),
    "sla_resolution_pct": ("SlaResolutionPct", "sla_resolution_pct"),
    "avg_response_hours": ("AvgResponseHours", "avg_response_hours"),
    "avg_resolution_hours": ("AvgResolutionHours", "avg_resolution_hours"),
    "csat_pct": ("CsatPct", "csat_pct"),
    "csat_avg": ("CsatAvg", "csat_avg"),
}
COUNTS = {"tickets_created", "tickets_closed", "hours_logged"}


def same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    # The REST API rounds to 6 decimals; the other interfaces give the stored value.
    return a == pytest.approx(b, rel=1e-6, abs=1e-6)


@pytest.fixture(scope="module")
def demo(
    module_settings: Settings,
) -> Iterator[tuple[CheckedClient, dict[str, str], list[int], Database]]:
    """Synced once for the module (the tests only read it): the demo sync takes many seconds."""
    db = Database(module_settings.database_url)
    context = ServiceContext.build(module_settings, db=db)
    source_ids = ensure_demo_sources(context)
    sync_demo_sources(context, source_ids)
    with db.session() as session:
        key = create_api_key(session, name="read", scope=KeyScope.READ).key
    with CheckedClient(create_app(context=context, run_scheduler=False)) as client:
        yield client, {"X-API-Key": key}, source_ids, db
    db.dispose()


def months(today: date) -> tuple[date, date]:
    end = period_containing(today, Grain.MONTH).start
    start = date(end.year - 1, end.month, 1)
    return start, end


def test_rest_csv_odata_and_sql_views_agree_on_every_month(
    demo: tuple[CheckedClient, dict[str, str], list[int], Database],
) -> None:
    client, headers, source_ids, db = demo
    start, end = months(date.today())
    compared = 0
    for source_id in source_ids:
        odata_rows = client.get(
            "/odata/KpiMonthly",
            params={"$filter": f"SourceId eq {source_id} and Dimension eq 'all'"},
            headers=headers,
        ).json()["value"]
        odata = {row["Date"]: row for row in odata_rows}
        view: dict[str, Any] = {}
        if ON_POSTGRES:
            with db.engine.connect() as connection:
                for row in connection.execute(
                    text("SELECT * FROM bi_kpi_monthly WHERE source_id = :s AND dimension = 'all'"),
                    {"s": source_id},
                ).mappings():
                    view[row["month"].isoformat()] = row
        for key, (odata_name, view_column) in ROLLUP_KPIS.items():
            params = {
                "grain": "month",
                "from": start.isoformat(),
                "to": end.isoformat(),
                "source": str(source_id),
            }
            rest = client.get(f"/api/v1/kpis/{key}/values", params=params, headers=headers)
            as_csv = client.get(
                f"/api/v1/kpis/{key}/values", params={**params, "format": "csv"}, headers=headers
            )
            csv_rows = list(csv.DictReader(io.StringIO(as_csv.text)))
            for row, csv_row in zip(rest.json()["values"], csv_rows, strict=True):
                month, value = row["period_start"], row["value"]
                assert csv_row["period_start"] == month
                assert same(float(csv_row["value"]) if csv_row["value"] else None, value), key
                assert csv_row["reason"] == (row["reason"] or ""), (key, month)
                if row["reason"] is not None:
                    # The month starts before the PSA's history is held in full: the API
                    # says why it has no value; the rollups hold the part that was read.
                    assert value is None, (key, month)
                    compared += 1
                    continue
                empty = 0.0 if key in COUNTS else None
                assert same(odata[month][odata_name] if month in odata else empty, value), (
                    key,
                    month,
                    "odata",
                )
                if ON_POSTGRES:
                    stored = view[month][view_column] if month in view else empty
                    assert same(None if stored is None else float(stored), value), (
                        key,
                        month,
                        "sql view",
                    )
                compared += 1
    assert compared == len(source_ids) * len(ROLLUP_KPIS) * 12


def test_metrics_agree_with_rest_for_the_last_complete_month(
    demo: tuple[CheckedClient, dict[str, str], list[int], Database],
) -> None:
    client, headers, _, _ = demo
    start = period_containing(months(date.today())[1] - timedelta(days=1), Grain.MONTH)
    metrics = client.get("/metrics", headers=headers).text
    exported = {
        sample.labels["kpi"]: sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name == "northstar_kpi_value"
    }
    checked = 0
    for kpi in CATALOGUE:
        response = client.get(
            f"/api/v1/kpis/{kpi.key}/values",
            params={"grain": "month", "from": start.start.isoformat(), "to": start.end.isoformat()},
            headers=headers,
        )
        (row,) = response.json()["values"]
        if row["value"] is None:
            assert kpi.key not in exported
            continue
        assert exported[kpi.key] == pytest.approx(row["value"], rel=1e-6), kpi.key
        checked += 1
    assert checked >= 12


def test_odata_kpi_values_agree_with_rest_for_all_17_kpis_every_month(
    demo: tuple[CheckedClient, dict[str, str], list[int], Database],
) -> None:
    """Issue 21 part 4: KpiMonthlyValues gives every catalogue KPI as the REST API does, for
    the company and for each source, every month of the demo (reasons and partial too)."""
    client, headers, source_ids, _ = demo
    start, end = months(date.today())
    end = period_containing(date.today(), Grain.MONTH).end  # the month so far too
    compared = 0
    for source_id in (None, *source_ids):
        where = "SourceId eq null" if source_id is None else f"SourceId eq {source_id}"
        rows: list[dict[str, Any]] = []
        url: str | None = "/odata/KpiMonthlyValues"
        params: dict[str, str] | None = {"$filter": f"Scope eq 'all' and {where}"}
        while url:
            body = client.get(url, params=params, headers=headers).json()
            rows += body["value"]
            url, params = body.get("@odata.nextLink"), None
        odata = {(r["KpiKey"], r["Date"]): r for r in rows}
        for kpi in CATALOGUE:
            query = {"grain": "month", "from": start.isoformat(), "to": end.isoformat()}
            if source_id is not None:
                query["source"] = str(source_id)
            rest = client.get(f"/api/v1/kpis/{kpi.key}/values", params=query, headers=headers)
            assert rest.status_code == 200, rest.text
            for value in rest.json()["values"]:
                row = odata.get((kpi.key, value["period_start"]))
                assert row is not None, (kpi.key, source_id, value)
                assert same(row["Value"], value["value"]), (kpi.key, source_id, value, row)
                assert same(row["Numerator"], value["numerator"]), (kpi.key, value, row)
                assert same(row["Denominator"], value["denominator"]), (kpi.key, value, row)
                assert row["SampleSize"] == value["sample_size"], (kpi.key, value, row)
                assert (row["Partial"], row["Reason"]) == (value["partial"], value["reason"])
                compared += 1
    assert compared == (1 + len(source_ids)) * len(CATALOGUE) * 13
