"""The simulator behaves like Autotask (as its documentation and production clients describe it)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from at_support import SIM_CODE, SIM_SECRET, SIM_USER, simulator_for

from connectors.autotask.simulator import ABSENT, AutotaskSimulator
from connectors.autotask.simulator.query import EntityTable, QueryError
from connectors.sandbox.model import SandboxWorld

pytestmark = pytest.mark.anyio
HEADERS = {"ApiIntegrationCode": SIM_CODE, "UserName": SIM_USER, "Secret": SIM_SECRET}

JAN, JUN = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC)
ROWS = [
    {"id": 1, "name": "Acme Dental", "n": 5, "flag": True, "at": JAN},
    {"id": 2, "name": "Harbor", "n": 7, "flag": False, "at": None},
    {"id": 3, "name": "Summit Dental", "n": None, "flag": True, "at": JUN},
]
FIELDS = {"id": "long", "name": "string", "n": "integer", "flag": "boolean", "at": "datetime"}
TABLE = EntityTable("Things", FIELDS, [tuple(row[name] for name in FIELDS) for row in ROWS])


@pytest.mark.parametrize(
    ("item", "ids"),
    [
        ({"op": "eq", "field": "name", "value": "harbor"}, [2]),
        ({"op": "noteq", "field": "n", "value": 5}, [2, 3]),
        ({"op": "gt", "field": "n", "value": 5}, [2]),
        ({"op": "gte", "field": "n", "value": 5}, [1, 2]),
        ({"op": "lt", "field": "at", "value": "2025-03-01T00:00:00Z"}, [1]),
        ({"op": "lte", "field": "id", "value": 2}, [1, 2]),
        ({"op": "beginsWith", "field": "name", "value": "acme"}, [1]),
        ({"op": "endsWith", "field": "name", "value": "DENTAL"}, [1, 3]),
        ({"op": "contains", "field": "name", "value": "arb"}, [2]),
        ({"op": "exist", "field": "at"}, [1, 3]),
        ({"op": "notExist", "field": "n"}, [3]),
        ({"op": "in", "field": "id", "value": [3, 1, 99]}, [1, 3]),
        ({"op": "notIn", "field": "n", "value": [5]}, [2, 3]),
        ({"op": "eq", "field": "flag", "value": False}, [2]),
        ({"op": "eq", "field": "ID", "value": "2"}, []),  # a string against a long: nothing
    ],
)
def test_every_operator(item: dict[str, Any], ids: list[int]) -> None:
    assert [row[0] for row in TABLE.select([item], limit=None)] == ids


def test_nested_and_or_groups() -> None:
    items: list[dict[str, Any]] = [
        {
            "op": "or",
            "items": [
                {"op": "eq", "field": "id", "value": 2},
                {
                    "op": "and",
                    "items": [
                        {"op": "contains", "field": "name", "value": "dental"},
                        {"op": "gt", "field": "at", "value": "2025-02-01T00:00:00.000000Z"},
                    ],
                },
            ],
        },
        {"op": "gt", "field": "id", "value": 1},
    ]
    assert [row[0] for row in TABLE.select(items, limit=None)] == [2, 3]


def test_parent_id_ranges_use_an_index_and_match_a_scan() -> None:
    fields = {"id": "long", "ticketID": "integer", "flag": "boolean"}
    rows = [(i, (i * 7) % 50 or None, i % 2 == 0) for i in range(1, 301)]
    table = EntityTable("Results", fields, rows)
    items = [
        {"op": "gt", "field": "ticketID", "value": 10},
        {"op": "lte", "field": "ticketid", "value": 20},
        {"op": "eq", "field": "flag", "value": True},
    ]
    expected = [r for r in rows if r[1] is not None and 10 < r[1] <= 20 and r[2]]
    assert table.select(items, limit=None) == expected
    assert table.select(items, limit=3, after_id=expected[2][0]) == expected[3:6]


def test_unknown_field_is_refused() -> None:
    with pytest.raises(QueryError, match="Unable to find nmae in the Things Entity"):
        TABLE.select([{"op": "eq", "field": "nmae", "value": "x"}], limit=None)


@pytest.fixture
async def client(world: SandboxWorld) -> AsyncIterator[tuple[httpx.AsyncClient, AutotaskSimulator]]:
    simulator = simulator_for(world)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=simulator), base_url=simulator.zone_url, headers=HEADERS
    ) as http:
        yield http, simulator


async def test_paths_and_body_keys_are_case_insensitive(client: Any) -> None:
    http, _ = client
    upper = await http.post("V1.0/TICKETS/Query", json={"maxRecords": 1, "includeFields": ["ID"]})
    lower = await http.post(
        "/atservicesrest/v1.0/tickets/query",
        json={"MaxRecords": 1, "Filter": [{"op": "gte", "field": "id", "value": 0}]},
    )
    assert upper.status_code == lower.status_code == 200
    assert upper.json()["items"] == [{"id": 10, "userDefinedFields": []}]
    assert lower.json()["items"][0]["id"] == 10


async def test_next_page_url_must_be_posted_with_the_same_body(client: Any) -> None:
    http, simulator = client
    body = {"MaxRecords": 2, "IncludeFields": ["id"], "filter": [{"op": "exist", "field": "id"}]}
    first = (await http.post("v1.0/Tickets/query", json=body)).json()
    assert first["pageDetails"]["count"] == 2
    assert first["pageDetails"]["requestCount"] == 2
    assert first["pageDetails"]["prevPageUrl"] is None
    next_url = first["pageDetails"]["nextPageUrl"]
    assert next_url.startswith(simulator.zone_url) and "/query/next?paging=" in next_url
    refused = await http.get(next_url)
    assert refused.status_code == 405
    assert refused.json() == {
        "Message": "The requested resource does not support http method 'GET'."
    }
    second = (await http.post(next_url, json=body)).json()
    assert [item["id"] for item in second["items"]] == [20]
    assert second["pageDetails"]["nextPageUrl"] is None
    assert second["pageDetails"]["prevPageUrl"] is not None


async def test_max_records_outside_1_to_500_is_a_500(client: Any) -> None:
    http, _ = client
    response = await http.post("v1.0/Tickets/query", json={"MaxRecords": 501})
    assert response.status_code == 500
    assert response.json() == {"errors": ["maxCountOfRecordsToReturn must be between 1 and 500"]}


async def test_picklists_have_string_values_and_keep_inactive_ones(client: Any) -> None:
    http, _ = client
    fields = (await http.get("v1.0/Tickets/entityInformation/fields")).json()["fields"]
    status = next(f for f in fields if f["name"] == "status")
    values = {v["value"]: (v["label"], v["isActive"]) for v in status["picklistValues"]}
    assert values["5"] == ("Complete", True)
    assert values["12"] == ("Waiting Vendor", False)
    created = next(f for f in fields if f["name"] == "createDate")
    assert (created["isPickList"], created["picklistValues"]) == (False, None)


async def test_get_by_id_count_and_threshold(client: Any) -> None:
    http, simulator = client
    assert (await http.get("v1.0/Tickets/99")).json() == {"item": None}
    assert (await http.get("v1.0/Tickets/10")).json()["item"]["ticketNumber"] == "T20250303.0001"
    count = await http.post(
        "v1.0/Tickets/query/count", json={"filter": [{"op": "exist", "field": "id"}]}
    )
    assert count.json() == {"queryCount": 3}
    threshold = (await http.get("v1.0/ThresholdInformation")).json()
    assert threshold == {
        "externalRequestThreshold": 10_000,
        "requestThresholdTimeframe": 60,
        "currentTimeframeRequestCount": 4,  # the threshold call counts too
    }
    assert simulator.stats.requests["ThresholdInformation"] == 1


async def test_datetimes_vary_in_precision_and_end_with_z(client: Any) -> None:
    http, _ = client
    items = (
        await http.post(
            "v1.0/TimeEntries/query", json={"IncludeFields": ["startDateTime", "dateWorked"]}
        )
    ).json()["items"]
    starts = {item["startDateTime"] for item in items}
    assert all(text.endswith("Z") for text in starts)
    assert len({len(text) for text in starts}) > 1
    assert all(item["dateWorked"].startswith("2025-03-03T00:00:00") for item in items)


async def test_world_changes_are_noticed(client: Any, world: SandboxWorld) -> None:
    http, simulator = client
    body = {"filter": [{"op": "exist", "field": "id"}]}
    assert len((await http.post("v1.0/Companies/query", json=body)).json()["items"]) == 3
    world.generated_at = world.generated_at.replace(hour=5)  # what mutate_world moves
    world.clients[2].name = "Harbor Freight"
    names = [
        c["companyName"]
        for c in (await http.post("v1.0/Companies/query", json=body)).json()["items"]
    ]
    assert names[-1] == "Harbor Freight"
    assert simulator.stats.renders == 2


@pytest.mark.parametrize("status", [429, 500])
async def test_a_request_beyond_the_thread_limit_is_refused(
    world: SandboxWorld, status: int
) -> None:
    simulator = simulator_for(world, thread_limit=1, latency=0.01, thread_limit_status=status)
    async with httpx.AsyncClient(
        transport=simulator.transport(), base_url=simulator.zone_url, headers=HEADERS
    ) as http:
        first, second = await asyncio.gather(
            http.post("v1.0/Tickets/query", json={}), http.post("v1.0/Tickets/query", json={})
        )
    assert sorted([first.status_code, second.status_code]) == sorted([200, status])
    refused = first if first.status_code == status else second
    assert "Itgenatr005" in refused.json()["errors"][0]
    assert simulator.stats.thread_limit_rejections["Tickets"] == 1
    assert simulator.stats.max_in_flight["Tickets"] == 1


async def test_tampered_records_and_withheld_routes(client: Any) -> None:
    http, simulator = client
    simulator.tamper("Tickets", 13, id=ABSENT, title=12345, notAField="x")
    simulator.withhold("tickets/entityInformation/fields", status=404)
    items = (await http.post("v1.0/Tickets/query", json={"IncludeFields": ["title"]})).json()
    assert items["items"][1] == {"title": 12345, "userDefinedFields": []}  # no id, no new key
    withheld = await http.get("v1.0/Tickets/entityInformation/fields")
    assert withheld.status_code == 404 and "Message" in withheld.json()
    moved = simulator_for(simulator.world, id_offsets={"Tickets": 559_000})
    assert moved.table("Tickets").ids[0] == 559_010
    assert {int(r[1]) for r in moved.table("ServiceLevelAgreementResults").rows} == {559_010}


async def test_get_queries_with_search_page_by_get(client: Any) -> None:
    http, _ = client
    search = json.dumps({"MaxRecords": 2, "filter": [{"op": "exist", "field": "id"}]})
    first = (await http.get("v1.0/Tickets/query", params={"search": search})).json()
    next_url = first["pageDetails"]["nextPageUrl"]
    assert "search=" in next_url
    second = await http.get(next_url)
    assert second.status_code == 200
    assert [item["id"] for item in second.json()["items"]] == [20]
