"""The feed read by a real OData client library: SAP's `pyodata`.

No maintained Python client speaks OData v4 end to end (`pyodata` reads v2 payloads,
`odata`/python-odata is not installable), so `pyodata` does what it can do for a v4
service: it downloads and builds the schema from our `$metadata` (CSDL v4, read with the
v4 XML namespaces), and its request builder composes `$filter`, `$select`, `$orderby`,
`$top` and `$count`. The v4 JSON pages, and `@odata.nextLink`, are then read by hand.
"""

from __future__ import annotations

from typing import Any

import pyodata  # type: ignore[import-untyped]
import pyodata.v2.model as pyodata_model  # type: ignore[import-untyped]
import pytest

import app.bi.odata.router as odata_router

V4_NAMESPACES = {
    "edmx": "http://docs.oasis-open.org/odata/ns/edmx",
    "edm": "http://docs.oasis-open.org/odata/ns/edm",
}


def client_for(api: Any) -> Any:
    """A pyodata service over the app's TestClient (pyodata takes any requests-like session)."""
    api.client.headers.update(api.read)
    config = pyodata_model.Config(
        xml_namespaces=V4_NAMESPACES,
        # Edm.Date is a v4 type pyodata's v2 type system does not know; keep reading.
        default_error_policy=pyodata_model.PolicyIgnore(),
    )
    return pyodata.Client("http://testserver/odata/", api.client, config=config)


def test_pyodata_reads_the_metadata(api: Any) -> None:
    service = client_for(api)
    sets = {s.name: s for s in service.schema.entity_sets}
    assert {"KpiMonthly", "KpiDaily", "Tickets", "TimeEntries", "Clients", "Technicians"} <= set(
        sets
    )
    monthly = sets["KpiMonthly"].entity_type
    assert [p.name for p in monthly.key_proprties] == ["Id"]
    types = {p.name: p.typ.name for p in monthly.proprties()}
    assert types["Date"] == "Edm.Date"
    assert types["SlaResponsePct"] == "Edm.Double"
    assert types["SourceId"] == "Edm.Int64"
    ticket = {p.name: p for p in sets["Tickets"].entity_type.proprties()}
    assert ticket["CreatedAt"].typ.name == "Edm.DateTimeOffset"
    assert ticket["IsClosed"].typ.name == "Edm.Boolean" and not ticket["IsClosed"].nullable


def test_pyodata_queries_and_next_links(kpi_source: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    api = kpi_source
    service = client_for(api)
    request = (
        service.entity_sets.KpiDaily.get_entities()
        .filter("Dimension eq 'all' and Date ge 2025-01-01")
        .select("Date,TicketsCreated,Hours")
        .order_by("Date desc")
        .count(inline=True)
    )
    params = request.get_query_params()
    assert set(params) >= {"$filter", "$select", "$orderby"}
    url = f"http://testserver/odata/{request.get_path()}"
    params = {k: v for k, v in params.items() if k != "$inlinecount"} | {"$count": "true"}
    whole = api.client.get(url, params=params).json()
    assert len(whole["value"]) > 3 and "@odata.nextLink" not in whole

    monkeypatch.setattr(odata_router, "PAGE_SIZE", 3)
    page = api.client.get(url, params=params).json()
    rows: list[dict[str, Any]] = []
    pages = 0
    while True:
        assert page["@odata.count"] == len(whole["value"])
        rows += page["value"]
        pages += 1
        if "@odata.nextLink" not in page:
            break
        page = api.client.get(page["@odata.nextLink"]).json()
    assert pages > 1
    assert rows == whole["value"]
    assert [r["Date"] for r in rows] == sorted((r["Date"] for r in rows), reverse=True)
    assert set(rows[0]) == {"Date", "TicketsCreated", "Hours"}
    entity_type = service.schema.entity_set("KpiDaily").entity_type
    assert all(entity_type.proprty(name) for name in rows[0])
