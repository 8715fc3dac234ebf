"""The simulator speaks ConnectWise over HTTP: auth, codebase path, paging, links, counts."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cw_support import CLIENT_ID, COMPANY, PRIVATE_KEY, PUBLIC_KEY, hand_world, simulator_for

from connectors.connectwise.simulator import (
    ConnectWiseSimulator,
    SimulatorBehaviour,
    SimulatorFaults,
)
from connectors.sandbox.world import build_world

API = "/v4_6_release/apis/3.0"
TOKEN = base64.b64encode(f"{COMPANY}+{PUBLIC_KEY}:{PRIVATE_KEY}".encode()).decode()
AUTH = {"Authorization": f"Basic {TOKEN}", "clientId": CLIENT_ID}
WORLD = build_world(seed=2, tickets=1200)


@pytest.fixture
def simulator() -> ConnectWiseSimulator:
    return simulator_for(WORLD)


@pytest.fixture
async def http(simulator: ConnectWiseSimulator) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=simulator)
    async with httpx.AsyncClient(transport=transport, base_url="https://cw.test") as client:
        yield client


def links(response: httpx.Response) -> dict[str, dict[str, list[str]]]:
    found = {}
    for part in response.headers.get("Link", "").split(","):
        if not part.strip():
            continue
        url, rel = part.split(";")
        found[rel.split('"')[1]] = parse_qs(urlsplit(url.strip()[1:-1]).query)
    return found


@pytest.mark.anyio
async def test_requests_without_credentials_get_cw_401(http: httpx.AsyncClient) -> None:
    response = await http.get(f"{API}/service/tickets")
    assert response.status_code == 401
    assert response.json()["code"] == "ConnectWiseApi"
    assert response.json()["message"] == "UserNotAuthenticated"
    no_client_id = await http.get(
        f"{API}/service/tickets", headers={"Authorization": AUTH["Authorization"]}
    )
    assert no_client_id.status_code == 401


@pytest.mark.anyio
async def test_companyinfo_needs_no_auth(http: httpx.AsyncClient) -> None:
    known = await http.get(f"/login/companyinfo/{COMPANY}")
    assert known.json()["Codebase"] == "v4_6_release/"
    unknown = await http.get("/login/companyinfo/someoneelse")
    assert unknown.status_code == 200 and unknown.json() is None


@pytest.mark.anyio
async def test_lists_are_bare_arrays_of_25_with_navigable_links(http: httpx.AsyncClient) -> None:
    conditions = "closedFlag = true"
    first = await http.get(
        f"{API}/service/tickets", params={"conditions": conditions}, headers=AUTH
    )
    assert isinstance(first.json(), list) and len(first.json()) == 25
    rels = links(first)
    assert set(rels) == {"first", "next", "last"}
    assert rels["next"]["page"] == ["2"] and rels["next"]["conditions"] == [conditions]
    last_page = int(rels["last"]["page"][0])
    last = await http.get(
        f"{API}/service/tickets", params={"conditions": conditions, "page": last_page}, headers=AUTH
    )
    assert set(links(last)) == {"first", "prev", "last"}
    beyond = await http.get(
        f"{API}/service/tickets",
        params={"conditions": conditions, "page": last_page + 1},
        headers=AUTH,
    )
    assert beyond.json() == []
    count = await http.get(
        f"{API}/service/tickets/count", params={"conditions": conditions}, headers=AUTH
    )
    assert count.json()["count"] == 25 * (last_page - 1) + len(last.json())


@pytest.mark.anyio
async def test_page_size_is_capped_at_1000_or_rejected() -> None:
    for behaviour, expected in (
        (SimulatorBehaviour(), 200),
        (SimulatorBehaviour(oversize_page="reject"), 400),
    ):
        transport = httpx.ASGITransport(app=simulator_for(WORLD, behaviour=behaviour))
        async with httpx.AsyncClient(transport=transport, base_url="https://cw.test") as client:
            response = await client.get(
                f"{API}/time/entries", params={"pageSize": 5000}, headers=AUTH
            )
        assert response.status_code == expected
        if expected == 200:
            assert len(response.json()) == 1000


@pytest.mark.anyio
async def test_forward_only_paging_follows_page_id(http: httpx.AsyncClient) -> None:
    headers = AUTH | {"pagination-type": "forward-only"}
    ids: list[int] = []
    params: dict[str, str | int] = {"pageSize": 400, "fields": "id"}
    while True:
        response = await http.get(f"{API}/service/tickets", params=params, headers=headers)
        ids += [row["id"] for row in response.json()]
        rels = links(response)
        if "next" not in rels:
            assert response.headers["Link"] == ""
            break
        assert rels["next"]["pageId"] == [str(ids[-1])]
        params["pageId"] = rels["next"]["pageId"][0]
    assert ids == sorted(t.id for t in WORLD.tickets if not t.deleted)
    refused = await http.get(
        f"{API}/service/tickets", params={"orderBy": "id desc"}, headers=headers
    )
    assert refused.status_code == 400


@pytest.mark.anyio
async def test_fields_order_by_and_search(http: httpx.AsyncClient) -> None:
    response = await http.get(
        f"{API}/service/tickets",
        params={"fields": "id,board/name", "orderBy": "id desc", "pageSize": 2},
        headers=AUTH,
    )
    rows = response.json()
    assert rows[0]["id"] > rows[1]["id"] and set(rows[0]) == {"id", "board"}
    searched = await http.post(
        f"{API}/service/tickets/search",
        params={"pageSize": 1000, "fields": "id"},
        json={"conditions": "id <= 3 or id = 10", "orderBy": "id asc"},
        headers=AUTH,
    )
    assert [row["id"] for row in searched.json()] == [1, 2, 3, 10]


@pytest.mark.anyio
async def test_bad_conditions_get_a_400_in_cw_style(http: httpx.AsyncClient) -> None:
    response = await http.get(
        f"{API}/service/tickets", params={"conditions": "summary = x"}, headers=AUTH
    )
    assert response.status_code == 400
    assert "enclosed with double or single quotes" in response.json()["message"]


@pytest.mark.anyio
async def test_records_omit_nulls_and_use_cw_shapes(http: httpx.AsyncClient) -> None:
    response = await http.get(
        f"{API}/service/tickets",
        params={"conditions": "closedFlag = false", "pageSize": 1},
        headers=AUTH,
    )
    (ticket,) = response.json()
    assert "closedDate" not in ticket and None not in ticket.values()
    assert ticket["priority"]["name"].startswith("Priority ")
    assert ticket["_info"]["lastUpdated"].endswith("Z") and "resPlanMinutes" in ticket
    entry = (await http.get(f"{API}/time/entries/1", headers=AUTH)).json()
    assert entry["timeStart"].endswith("Z") and "workType" in entry
    missing = await http.get(f"{API}/time/entries/99999999", headers=AUTH)
    assert missing.status_code == 404


@pytest.mark.anyio
async def test_faults_and_request_counting() -> None:
    faults = SimulatorFaults(rate_limit_every=2, retry_after_seconds=30)
    simulator = simulator_for(hand_world(), fail=faults)
    transport = httpx.ASGITransport(app=simulator)
    async with httpx.AsyncClient(transport=transport, base_url="https://cw.test") as client:
        ok = await client.get(f"{API}/service/tickets", headers=AUTH)
        limited = await client.get(f"{API}/service/tickets", headers=AUTH)
        faults.rate_limit_every = None
        faults.timeout_above_page_size = 100
        timeout = await client.get(f"{API}/service/tickets", params={"pageSize": 101}, headers=AUTH)
    assert ok.status_code == 200
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "30"
    assert json.loads(limited.text)["message"].startswith("Too many requests")
    assert timeout.status_code == 500 and "Timeout" in timeout.text
    assert simulator.requests["GET /service/tickets"] == 3
    assert simulator.requests_to("/service/tickets") == 3


@pytest.mark.anyio
async def test_custom_field_conditions(http: httpx.AsyncClient) -> None:
    response = await http.get(
        f"{API}/service/tickets",
        params={"customFieldConditions": 'caption = "Escalated" and value = true', "pageSize": 1000,
                "fields": "id,priority/name"},
        headers=AUTH,
    )  # fmt: skip
    names = {row["priority"]["name"] for row in response.json()}
    assert names == {"Priority 1 - Emergency Response"}


@pytest.mark.anyio
async def test_a_psa_clock_offset_moves_stamps_conditions_and_the_date_header() -> None:
    behind = timedelta(hours=-2)
    simulator = simulator_for(WORLD, behaviour=SimulatorBehaviour(clock_offset=behind))
    ticket = next(t for t in WORLD.tickets if not t.deleted)
    truth = ticket.updated_at.replace(microsecond=0)
    shifted = (truth + behind).strftime("%Y-%m-%dT%H:%M:%SZ")
    transport = httpx.ASGITransport(app=simulator)
    async with httpx.AsyncClient(transport=transport, base_url="https://cw.test") as client:
        one = await client.get(
            f"{API}/service/tickets",
            params={"conditions": f"id = {ticket.id}", "fields": "id,_info/lastUpdated"},
            headers=AUTH,
        )
        since_shifted = await client.get(
            f"{API}/service/tickets",
            params={"conditions": f"id = {ticket.id} and lastUpdated >= [{shifted}]"},
            headers=AUTH,
        )
        after_it = await client.get(
            f"{API}/service/tickets",
            params={"conditions": f"id = {ticket.id} and lastUpdated > [{shifted}]"},
            headers=AUTH,
        )
    assert one.json() == [{"id": ticket.id, "_info": {"lastUpdated": shifted}}]
    assert parsedate_to_datetime(one.headers["Date"]) == WORLD.generated_at + behind
    assert [row["id"] for row in since_shifted.json()] == [ticket.id]
    assert after_it.json() == []


@pytest.mark.anyio
async def test_knobs_for_missing_resources_refused_paging_and_broken_records() -> None:
    ticket = next(t for t in WORLD.tickets if not t.deleted)
    faults = SimulatorFaults(
        unavailable={"/company/companies/statuses": 404},
        broken_records={"/service/tickets": {ticket.id: {"_info": None, "summary": 7}}},
        timeouts={"/service/priorities": {1}},
    )
    refusing = SimulatorBehaviour(forward_only="refused")
    simulator = simulator_for(WORLD, fail=faults, behaviour=refusing)
    transport = httpx.ASGITransport(app=simulator)
    async with httpx.AsyncClient(transport=transport, base_url="https://cw.test") as client:
        missing = await client.get(f"{API}/company/companies/statuses", headers=AUTH)
        forward = await client.get(
            f"{API}/service/tickets", headers=AUTH | {"pagination-type": "forward-only"}
        )
        record = await client.get(f"{API}/service/tickets/{ticket.id}", headers=AUTH)
        timed_out = await client.get(f"{API}/service/priorities", headers=AUTH)
        then_fine = await client.get(f"{API}/service/priorities", headers=AUTH)
    assert missing.status_code == 404
    assert forward.status_code == 400
    assert "_info" not in record.json() and record.json()["summary"] == 7
    assert timed_out.status_code == 500 and "Timeout" in timed_out.text
    assert then_fine.status_code == 200
    assert [entry.resource for entry in simulator.log][-2:] == ["/service/priorities"] * 2


@pytest.mark.anyio
async def test_ignored_forward_only_pages_the_navigable_way() -> None:
    simulator = simulator_for(WORLD, behaviour=SimulatorBehaviour(forward_only="ignored"))
    transport = httpx.ASGITransport(app=simulator)
    async with httpx.AsyncClient(transport=transport, base_url="https://cw.test") as client:
        response = await client.get(
            f"{API}/service/tickets",
            params={"pageSize": 100, "pageId": 50, "fields": "id"},
            headers=AUTH | {"pagination-type": "forward-only"},
        )
    rels = links(response)
    assert rels["next"]["page"] == ["2"] and "last" in rels
    assert response.json()[0]["id"] == min(t.id for t in WORLD.tickets if not t.deleted)
