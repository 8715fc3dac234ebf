"""The feed read by a real OData v4 client library, `python-odata`, over real HTTP.

The library brings its own HTTP stack (requests), so the app is served on a loopback port.
It reads `$metadata` and builds entity classes from it, composes `$filter` / `$select` /
`$orderby` from those classes, follows `@odata.nextLink` on its own, and turns the feed's
OData error bodies into its `ODataError`. Pages are kept small with the standard
`Prefer: odata.maxpagesize` header, so every result below spans several pages.

The library has no Python type for Edm.Date or Edm.Double (it reads them as plain JSON
values), so dates are compared on the DateTimeOffset columns, which is also the case Power
BI's incremental refresh depends on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from live_server import serve_on_loopback
from odata import ODataService  # type: ignore[import-untyped]
from odata.exceptions import ODataError  # type: ignore[import-untyped]

from app.main import create_app

PAGE = 1  # rows per page asked of the feed, so that every result spans several pages


@dataclass
class Feed:
    service: Any
    base: str
    api: Any
    urls: list[str] = field(default_factory=list)

    def rest(self, path: str, **params: str) -> Any:
        """The same question asked without the library, for comparison."""
        response = self.api.client.get(f"/odata/{path}", headers=self.api.read, params=params)
        assert response.status_code == 200, response.text
        return response.json()["value"]


@pytest.fixture
def feed(kpi_source: Any) -> Iterator[Feed]:
    app = create_app(context=kpi_source.setup.context, run_scheduler=False)
    with serve_on_loopback(app) as base, requests.Session() as session:
        session.headers.update(kpi_source.read)
        session.headers["Prefer"] = f"odata.maxpagesize={PAGE}"
        result = Feed(service=None, base=base, api=kpi_source)
        session.hooks["response"].append(lambda response, **_: result.urls.append(response.url))
        result.service = ODataService(
            f"{base}/odata/", session=session, reflect_entities=True, quiet_progress=True
        )
        yield result


def test_the_library_builds_every_entity_set_from_the_metadata(feed: Feed) -> None:
    assert feed.urls == [f"{feed.base}/odata/$metadata"]
    assert {
        "KpiDaily",
        "KpiMonthly",
        "Goals",
        "Objectives",
        "AlignmentSnapshots",
        "Clients",
        "Technicians",
        "Tickets",
        "TimeEntries",
    } <= set(feed.service.entities)
    tickets = feed.service.entities["Tickets"]
    assert {"Id", "CreatedAt", "ClosedAt", "IsClosed", "ClientExternalId"} <= set(dir(tickets))
    assert type(tickets.CreatedAt).__name__ == "DatetimeProperty"
    assert type(tickets.IsClosed).__name__ == "BooleanProperty"
    assert type(tickets.Id).__name__ == "IntegerProperty"


def test_a_datetime_filter_with_select_and_orderby_over_several_pages(feed: Feed) -> None:
    tickets = feed.service.entities["Tickets"]
    since, until = datetime(2025, 1, 7, tzinfo=UTC), datetime(2025, 2, 3, tzinfo=UTC)
    query = (
        feed.service.query(tickets)
        .filter(tickets.CreatedAt >= since)
        .filter(tickets.CreatedAt < until)
        .select(tickets.Id, tickets.CreatedAt, tickets.IsClosed)
        .order_by(tickets.CreatedAt.desc())
    )
    rows = query.all()

    every = feed.rest("Tickets", **{"$orderby": "CreatedAt desc"})
    expected = [
        {"Id": t["Id"], "CreatedAt": t["CreatedAt"], "IsClosed": t["IsClosed"]}
        for t in every
        if since <= datetime.fromisoformat(t["CreatedAt"]) < until
    ]
    assert len(expected) > PAGE and rows == expected
    assert len(expected) < len(every), "the filter must leave some tickets out"
    pages = [url for url in feed.urls if "/odata/Tickets" in url]
    assert len(pages) == -(-len(expected) // PAGE)  # every nextLink followed, none past the end


def test_a_filter_in_another_offset_is_the_same_instant(feed: Feed) -> None:
    tickets = feed.service.entities["Tickets"]
    utc = datetime(2025, 2, 1, 12, 0, tzinfo=UTC)
    new_york = utc.astimezone(timezone(timedelta(hours=-5)))
    ids = [
        [row["Id"] for row in feed.service.query(tickets).filter(condition).select(tickets.Id)]
        for condition in (tickets.CreatedAt >= utc, tickets.CreatedAt >= new_york)
    ]
    assert ids[0] == ids[1] and ids[0]


def test_kpi_rows_through_the_library_match_the_feed(feed: Feed) -> None:
    daily = feed.service.entities["KpiDaily"]
    query = (
        feed.service.query(daily)
        .filter(daily.Dimension == "all")
        .filter("TicketsCreated ge 1")  # a Double column: the library has no type for it
        .select(daily.Date, daily.TicketsCreated, daily.Hours, daily.SlaResponsePct)
        .order_by(daily.Date.asc())
    )
    rows = query.all()
    expected = feed.rest(
        "KpiDaily",
        **{
            "$filter": "Dimension eq 'all' and TicketsCreated ge 1",
            "$select": "Date,TicketsCreated,Hours,SlaResponsePct",
            "$orderby": "Date asc",
        },
    )
    assert len(rows) > PAGE and rows == expected


def test_whole_entities_come_back_typed(feed: Feed) -> None:
    tickets = feed.service.entities["Tickets"]
    first = feed.service.query(tickets).order_by(tickets.Id.asc()).first()
    assert isinstance(first.CreatedAt, datetime) and first.CreatedAt.tzinfo is not None
    assert isinstance(first.IsClosed, bool)


def test_a_malformed_option_reaches_the_library_as_an_odata_error(feed: Feed) -> None:
    tickets = feed.service.entities["Tickets"]
    bad = feed.service.query(tickets).filter("CreatedAt gt 'not a date'")
    with pytest.raises(ODataError) as raised:
        bad.all()
    assert "CreatedAt" in str(raised.value) or "date" in str(raised.value).lower()
    unknown = feed.service.query(tickets).filter("NoSuchColumn eq 1")
    with pytest.raises(ODataError) as raised:
        unknown.all()
    assert "NoSuchColumn" in str(raised.value)


def test_every_set_is_read_and_every_navigation_property_followed(feed: Feed) -> None:
    from app.bi.odata.entities import ENTITY_SETS

    followed = 0
    for name, declared in ENTITY_SETS.items():
        entity = feed.service.entities[name]
        first = feed.service.query(entity).first()
        if first is None:
            continue
        for nav in declared.navs:
            reached = getattr(first, nav.name)  # the library GETs Set(key)/Nav itself
            if nav.collection:
                assert isinstance(reached, list)
            elif reached is not None:
                target = ENTITY_SETS[nav.target]
                assert getattr(reached, nav.remote) == getattr(first, nav.local)
                assert type(reached).__name__ == target.type_name
            followed += 1
    assert followed >= 20
    assert any("/Tickets(" in url and url.endswith("/Client") for url in feed.urls)


def test_kpi_values_agree_with_the_rest_api_for_every_catalogue_kpi(feed: Feed) -> None:
    from app.kpis.catalogue import CATALOGUE

    values = feed.service.entities["KpiMonthlyValues"]
    rows = (
        feed.service.query(values)
        .filter("Scope eq 'all' and SourceId eq null")
        .select(values.KpiKey, values.Date, values.Value, values.SampleSize, values.Partial)
        .all()
    )
    feed_values = {(r["KpiKey"], r["Date"]): r for r in rows}
    compared = 0
    for kpi in CATALOGUE:
        response = feed.api.client.get(
            f"/api/v1/kpis/{kpi.key}/values",
            params={"grain": "month", "from": "2025-01-01", "to": "2025-04-01"},
            headers=feed.api.read,
        )
        assert response.status_code == 200, response.text
        for value in response.json()["values"]:
            row = feed_values.get((kpi.key, value["period_start"]))
            if row is None:  # no activity that month: no row
                continue
            assert row["Value"] == pytest.approx(value["value"], abs=1e-6), (kpi.key, value)
            assert row["SampleSize"] == value["sample_size"], (kpi.key, value)
            assert row["Partial"] == value["partial"]
            compared += 1
    assert {key for key, _ in feed_values} >= {kpi.key for kpi in CATALOGUE}
    assert compared >= 17


def test_priority_is_p1_to_p4_with_the_psas_label_beside_it(feed: Feed) -> None:
    tickets = feed.rest("Tickets")
    levelled = [t for t in tickets if t["PriorityLevel"] in (1, 2, 3, 4)]
    assert levelled and all(t["Priority"] == f"P{t['PriorityLevel']}" for t in levelled)
    p1 = feed.rest("Tickets", **{"$filter": "Priority eq 'P1'"})
    assert [t["Id"] for t in p1] == [t["Id"] for t in tickets if t["PriorityLevel"] == 1]
