"""The OData v4 feed through HTTP: metadata, auth, query options, paging, errors, and
agreement of the KPI entity sets with the REST API (hand-made world, New York)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any
from xml.etree import ElementTree

import pytest
from sqlalchemy import event

import app.bi.odata.router as odata_router
from app.bi.odata.entities import RATIO_NAMES
from app.kpis.catalogue import CATALOGUE
from app.logging import secrets_registry

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


def get(api: Any, path: str, **params: str) -> Any:
    response = api.client.get(f"/odata{path}", headers=api.read, params=params)
    assert response.headers["OData-Version"] == "4.0"
    return response


def assert_odata_error(response: Any, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    assert response.headers["OData-Version"] == "4.0"
    error: dict[str, str] = response.json()["error"]
    assert set(error) == {"code", "message"} and error["code"] and error["message"]
    return error


def test_the_key_can_come_as_header_bearer_or_query_parameter(api: Any) -> None:
    assert_odata_error(api.client.get("/odata/"), 401)
    assert_odata_error(api.client.get("/odata/Tickets", params={"api_key": "ns_nope"}), 401)
    key = api.read["X-API-Key"]
    assert api.client.get("/odata/Tickets", headers=api.read).status_code == 200
    assert api.client.get("/odata/Tickets", headers=api.admin).status_code == 200
    response = api.client.get("/odata/$metadata", params={"api_key": key})
    assert response.status_code == 200
    assert response.headers["OData-Version"] == "4.0"
    # The access log prints the query string; the key in it is masked once it has been seen.
    access_line = f'127.0.0.1 - "GET /odata/$metadata?api_key={key} HTTP/1.1" 200'
    assert key not in secrets_registry.scrub(access_line)


def test_service_document_and_metadata(api: Any) -> None:
    document = get(api, "/").json()
    assert document["@odata.context"].endswith("/odata/$metadata")
    names = {entry["name"] for entry in document["value"]}
    assert {
        "KpiMonthly",
        "KpiDaily",
        "Tickets",
        "TimeEntries",
        "Clients",
        "Technicians",
        "Goals",
        "Objectives",
        "AlignmentSnapshots",
        "SourceCoverage",
        "Sources",
        "Kpis",
        "KpiMonthlyValues",
        "KpiDailyValues",
        "LinkedEntities",
    } == names

    response = get(api, "/$metadata")
    assert response.headers["content-type"].startswith("application/xml")
    root = ElementTree.fromstring(response.content)  # noqa: S314 (our own response)
    assert root.get("Version") == "4.0"
    types = {t.get("Name"): t for t in root.iter(f"{EDM}EntityType")}

    def prop_type(entity: str, prop: str) -> str | None:
        found = types[entity].find(f"{EDM}Property[@Name='{prop}']")
        assert found is not None, (entity, prop)
        return found.get("Type")

    assert prop_type("KpiMonthly", "Date") == "Edm.Date"
    assert prop_type("KpiMonthly", "SlaResponsePct") == "Edm.Double"
    assert prop_type("Ticket", "CreatedAt") == "Edm.DateTimeOffset"
    assert prop_type("Ticket", "IsClosed") == "Edm.Boolean"
    assert prop_type("Ticket", "PriorityLevel") == "Edm.Int64"
    assert prop_type("TimeEntry", "WorkDate") == "Edm.Date"
    for entity in types.values():
        keys = [ref.get("Name") for ref in entity.iter(f"{EDM}PropertyRef")]
        assert keys == (["Key"] if entity.get("Name") == "Kpi" else ["Id"])
    sets = {s.get("Name"): s.get("EntityType") for s in root.iter(f"{EDM}EntitySet")}
    assert sets["TimeEntries"] == "Northstar.TimeEntry"


def test_kpi_monthly_ratios_agree_with_the_rest_api(kpi_source: Any) -> None:
    api = kpi_source
    rows = get(api, "/KpiMonthly", **{"$filter": "Dimension eq 'all'", "$orderby": "Date"}).json()[
        "value"
    ]
    assert rows, "the hand-made world has monthly rollups"
    by_month: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_month.setdefault(row["Date"], []).append(row)
    keys = {kpi.key for kpi in CATALOGUE} & set(RATIO_NAMES)
    assert "sla_response_pct" in keys
    checked = 0
    for key in sorted(keys):
        response = api.client.get(
            f"/api/v1/kpis/{key}/values",
            params={"grain": "month", "from": rows[0]["Date"], "to": "2025-04-01"},
            headers=api.read,
        )
        assert response.status_code == 200, response.text
        for value in response.json()["values"]:
            month = by_month.get(value["period_start"])
            if month is None:  # no activity that month: no rollup row, no ratio
                assert value["value"] is None, (key, value)
                continue
            (row,) = month  # one source: its row is the company-wide sum
            assert row[RATIO_NAMES[key]] == pytest.approx(value["value"]), (key, value)
            checked += 1
    assert checked >= 6
    february = by_month["2025-02-01"][0]
    assert february["SlaResponsePct"] == 50.0  # T2 missed, T4 met
    assert february["ResponseMet"] == 1.0 and february["ResponseDecided"] == 2.0
    # The world counts as backfilled from 1 January 2024: every row is inside its history.
    assert {(r["HistoryFrom"], r["BeforeHistory"]) for r in rows} == {("2024-01-01", False)}


def test_rows_before_a_sources_history_say_so_and_coverage_is_a_set(kpi_source: Any) -> None:
    api = kpi_source
    from sqlalchemy import update

    from app.sources.models import Source

    with api.setup.context.db.session() as session:
        session.execute(update(Source).values(history_from=date(2025, 2, 1)))

    rows = get(
        api,
        "/KpiMonthly",
        **{"$filter": "Dimension eq 'all' and BeforeHistory", "$orderby": "Date"},
    ).json()["value"]
    coverage = get(api, "/SourceCoverage").json()["value"]

    assert rows and all(r["Date"] < "2025-02-01" for r in rows)
    (source,) = coverage
    assert (source["Id"], source["HistoryFrom"]) == (api.setup.source_id, "2025-02-01")
    assert source["SyncedUntil"] is not None


def test_filter_select_orderby_top_skip_count(kpi_source: Any) -> None:
    api = kpi_source
    everything = get(api, "/KpiDaily").json()["value"]
    body = get(
        api,
        "/KpiDaily",
        **{
            "$filter": "(Dimension eq 'all' or Dimension eq 'client') and "
            "Date ge 2025-02-01 and not (TicketsCreated eq 0 and Hours eq 0)",
            "$select": "Date,Dimension,Member,TicketsCreated",
            "$orderby": "Date desc,Member asc",
            "$count": "true",
        },
    ).json()
    expected = sorted(
        (
            r
            for r in everything
            if r["Dimension"] in ("all", "client")
            and r["Date"] >= "2025-02-01"
            and not (r["TicketsCreated"] == 0 and r["Hours"] == 0)
        ),
        key=lambda r: (r["Member"], r["Id"]),
    )
    expected.sort(key=lambda r: r["Date"], reverse=True)
    assert body["@odata.count"] == len(expected) > 0
    assert body["@odata.context"].endswith(
        "$metadata#KpiDaily(Date,Dimension,Member,TicketsCreated)"
    )
    assert body["value"] == [
        {k: r[k] for k in ("Date", "Dimension", "Member", "TicketsCreated")} for r in expected
    ]
    count = get(api, "/KpiDaily/$count", **{"$filter": "Dimension eq 'all'"})
    assert count.text == str(sum(r["Dimension"] == "all" for r in everything))
    window = get(api, "/KpiDaily", **{"$orderby": "Id", "$top": "2", "$skip": "1"}).json()
    assert [r["Id"] for r in window["value"]] == sorted(r["Id"] for r in everything)[1:3]
    assert "@odata.nextLink" not in window

    feb = get(api, "/KpiDaily", **{"$filter": "month(Date) eq 2 and year(Date) eq 2025"})
    assert feb.json()["value"] and all(r["Date"][:7] == "2025-02" for r in feb.json()["value"])
    assert get(api, "/KpiDaily", **{"$filter": "day(Date) eq 31"}).json()["value"]


def test_text_functions_nulls_and_booleans(kpi_source: Any) -> None:
    api = kpi_source
    tickets = get(api, "/Tickets").json()["value"]
    assert tickets
    some = tickets[0]["ExternalId"]
    assert [
        t["ExternalId"]
        for t in get(
            api,
            "/Tickets",
            **{"$filter": f"startswith(ExternalId,'{some}') and contains(ExternalId,'{some[1:]}')"},
        ).json()["value"]
    ] == [some]
    open_ = get(api, "/Tickets", **{"$filter": "ClosedAt eq null"}).json()["value"]
    assert {t["ExternalId"] for t in open_} == {
        t["ExternalId"] for t in tickets if t["ClosedAt"] is None
    }
    closed = get(api, "/Tickets", **{"$filter": "IsClosed"}).json()["value"]
    assert {t["ExternalId"] for t in closed} == {t["ExternalId"] for t in tickets if t["IsClosed"]}
    not_met = get(api, "/Tickets", **{"$filter": "ResponseMet ne true"}).json()["value"]
    assert {t["ExternalId"] for t in not_met} == {
        t["ExternalId"] for t in tickets if t["ResponseMet"] is not True
    }
    pct = get(api, "/Tickets", **{"$filter": "contains(ExternalId,'%')"}).json()["value"]
    assert pct == []


@pytest.fixture
def statements(kpi_source: Any) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = kpi_source.setup.context.db.engine

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_a_datetime_filter_reaches_the_database(kpi_source: Any, statements: list[str]) -> None:
    api = kpi_source
    tickets = get(api, "/Tickets").json()["value"]
    statements.clear()
    since = "2025-02-01T05:00:00Z"  # midnight in New York
    rows = get(
        api,
        "/Tickets",
        **{"$filter": f"CreatedAt ge {since} and CreatedAt lt 2025-03-01T05:00:00Z"},
    ).json()["value"]
    assert {r["ExternalId"] for r in rows} == {
        t["ExternalId"]
        for t in tickets
        if "2025-02-01T05:00:00Z" <= t["CreatedAt"] < "2025-03-01T05:00:00Z"
    }
    assert any("FROM tickets" in s and "WHERE" in s and "created_at >=" in s for s in statements), (
        statements
    )
    assert all(r["CreatedAt"].endswith("Z") for r in rows)


def test_paging_follows_next_links(kpi_source: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    api = kpi_source
    everything = get(api, "/KpiDaily", **{"$orderby": "Date desc"}).json()["value"]
    assert len(everything) > 7
    monkeypatch.setattr(odata_router, "PAGE_SIZE", 3)
    url = "/odata/KpiDaily?$orderby=Date desc&$select=Id,Date&$count=true"
    seen: list[dict[str, Any]] = []
    pages = 0
    while url:
        body = api.client.get(url, headers=api.read).json()
        assert body["@odata.count"] == len(everything)
        assert len(body["value"]) <= 3
        seen += body["value"]
        pages += 1
        url = body.get("@odata.nextLink", "")
        assert "%24select=Id%2CDate" in url or "$select=Id,Date" in url or not url
    assert pages == -(-len(everything) // 3)
    assert seen == [{"Id": r["Id"], "Date": r["Date"]} for r in everything]

    limited = api.client.get(
        "/odata/KpiDaily?$top=5", headers={**api.read, "Prefer": "odata.maxpagesize=2"}
    )
    assert limited.headers["Preference-Applied"] == "odata.maxpagesize=2"
    collected = limited.json()["value"]
    url = limited.json()["@odata.nextLink"]
    while url:
        body = api.client.get(url, headers=api.read).json()
        collected += body["value"]
        url = body.get("@odata.nextLink", "")
    assert [r["Id"] for r in collected] == [
        r["Id"] for r in sorted(everything, key=lambda r: r["Id"])
    ][:5]


def test_next_link_never_carries_the_key(kpi_source: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that sends the key as a query parameter adds it to each page itself (Power
    BI does): a link that carried it would hand it to wherever the link points."""
    monkeypatch.setattr(odata_router, "PAGE_SIZE", 2)
    key = kpi_source.read["X-API-Key"]
    body = kpi_source.client.get("/odata/KpiDaily", params={"api_key": key}).json()
    link = body["@odata.nextLink"]
    assert key not in link and "api_key" not in link
    nxt = kpi_source.client.get(f"{link}&api_key={key}")
    assert nxt.status_code == 200, nxt.text


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"$filter": "foo eq"}, None),
        ({"$filter": "Nope eq 1"}, "unknown_property"),
        ({"$filter": "Date ge 2025-01-01T00:00:00Z"}, "type_mismatch"),
        ({"$filter": "Dimension gt 3"}, "type_mismatch"),
        ({"$filter": "Hours lt null"}, None),
        ({"$filter": "Hours"}, None),
        ({"$filter": "year(Dimension) eq 1"}, None),
        ({"$filter": "contains(Dimension, 3)"}, None),
        ({"$top": "-1"}, None),
        ({"$top": "ten"}, None),
        ({"$skip": "-5"}, None),
        ({"$orderby": "nope"}, "unknown_property"),
        ({"$orderby": "Date sideways"}, None),
        ({"$select": "Date,Nope"}, "unknown_property"),
        ({"$count": "yes"}, None),
        ({"$expand": "Source"}, "unsupported_query_option"),
        ({"$format": "xml"}, None),
    ],
)
def test_malformed_options_are_odata_400s(
    api: Any, params: dict[str, str], code: str | None
) -> None:
    error = assert_odata_error(get(api, "/KpiDaily", **params), 400)
    if code:
        assert error["code"] == code


def test_unknown_sets_paths_and_writes(api: Any) -> None:
    assert assert_odata_error(get(api, "/Nope"), 404)["code"] == "unknown_entity_set"
    assert_odata_error(get(api, "/Tickets(1)/Title"), 404)
    response = api.client.post("/odata/Tickets", headers=api.read, json={})
    assert_odata_error(response, 405)
