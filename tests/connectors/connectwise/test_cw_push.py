"""ConnectWise push: callbacks registered, deliveries parsed, records read again (the
simulator's side of callbacks is in `test_cw_sim_callbacks`)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import httpx
import pytest
from cw_support import (
    CLIENT_ID,
    COMPANY,
    PRIVATE_KEY,
    PUBLIC_KEY,
    ConnectorFactory,
    SleepRecorder,
    hand_world,
    simulator_for,
)

from connectors.connectwise import ConnectWiseConfig, ConnectWiseConnector
from connectors.connectwise.reference import ENRICHMENT_KEY
from connectors.connectwise.simulator import ConnectWiseSimulator
from connectors.connectwise.simulator_paging import error_response
from connectors.sandbox.model import SandboxWorld
from connectors.sandbox.world import build_world
from connectors.sdk import (
    ConnectorContext,
    FactOrDeletion,
    FactType,
    Page,
    Pushable,
    PushAction,
    PushNotice,
    RetryPolicy,
    SourceHttpLimits,
)

RECEIVER = "https://northstar.example/push/connectwise/tok-3b9f1c"
CALLBACK_URL = RECEIVER + "?recordId="


async def collect(pages: Any) -> list[Page]:
    return [page async for page in pages]


def facts_by_id(
    connector: ConnectWiseConnector, stream: str, pages: list[Page]
) -> dict[str, list[FactOrDeletion]]:
    return {
        str(record["id"]): connector.normalize(stream, record)
        for page in pages
        for record in page.records
    }


# -- subscribe / unsubscribe ---------------------------------------------------------------


@pytest.mark.anyio
async def test_the_connector_is_pushable_for_tickets_companies_and_agreements(
    connector_for: ConnectorFactory,
) -> None:
    connector = connector_for(simulator_for(hand_world()))
    assert isinstance(connector, Pushable)
    assert connector.push_streams == {
        "tickets": FactType.TICKET,
        "companies": FactType.CLIENT,
        "agreements": FactType.RECURRING_REVENUE,
    }
    for stream, fact_type in connector.push_streams.items():
        assert connector.streams[stream].produces == (fact_type,)


@pytest.mark.anyio
async def test_subscribe_registers_three_callbacks_and_reuses_them_next_time(
    connector_for: ConnectorFactory,
) -> None:
    simulator = simulator_for(hand_world())
    connector = connector_for(simulator)
    first = await connector.subscribe(RECEIVER, "push-secret")
    assert sorted(s.entity for s in first) == ["agreement", "company", "ticket"]
    entries = list(simulator.callbacks.entries.values())
    assert len(entries) == 3
    for entry in entries:
        assert entry["url"] == CALLBACK_URL
        assert (entry["level"], entry["objectId"]) == ("owner", 1)
        assert "Northstar" in entry["description"] and len(entry["description"]) <= 100
    assert {str(e["id"]): e["type"] for e in entries} == {s.remote_id: s.entity for s in first}

    again = await connector.subscribe(RECEIVER, "push-secret")
    assert sorted(again, key=str) == sorted(first, key=str)
    assert len(simulator.callbacks.entries) == 3
    assert simulator.requests["POST /system/callbacks"] == 3
    listed = [r for r in simulator.log if r.resource == "/system/callbacks" and r.method == "GET"]
    assert all(CALLBACK_URL in r.params["conditions"] for r in listed)


@pytest.mark.anyio
async def test_a_receiver_with_a_query_gets_the_record_id_appended_with_an_ampersand(
    connector_for: ConnectorFactory,
) -> None:
    simulator = simulator_for(hand_world())
    connector = connector_for(simulator)
    await connector.subscribe(RECEIVER, "s")
    other = await connector.subscribe(RECEIVER + "?source=7", "s")
    urls = sorted({entry["url"] for entry in simulator.callbacks.entries.values()})
    assert urls == [CALLBACK_URL, RECEIVER + "?source=7&recordId="]
    assert len(simulator.callbacks.entries) == 6  # another URL's callbacks are not reused
    assert {s.remote_id for s in other}.isdisjoint(
        str(e["id"]) for e in simulator.callbacks.entries.values() if e["url"] == CALLBACK_URL
    )


@pytest.mark.anyio
async def test_subscribe_lists_every_callback_where_url_conditions_are_refused(
    connector_for: ConnectorFactory,
) -> None:
    simulator = simulator_for(hand_world())
    answer = simulator.handle

    def no_url_filter(method: str, path: str, query: str, headers: dict[str, str], body: bytes):  # type: ignore[no-untyped-def]
        if path.endswith("/system/callbacks") and "url = " in unquote_plus(query):
            return error_response(400, "InvalidObject", "url is not a filterable field.")
        return answer(method, path, query, headers, body)

    simulator.handle = no_url_filter  # type: ignore[method-assign]
    connector = connector_for(simulator)
    first = await connector.subscribe(RECEIVER, "s")
    await connector.subscribe(RECEIVER + "?source=2", "s")
    assert await connector.subscribe(RECEIVER, "s") == first
    assert len(simulator.callbacks.entries) == 6


@pytest.mark.anyio
async def test_unsubscribe_removes_exactly_those_and_skips_one_already_gone(
    connector_for: ConnectorFactory,
) -> None:
    simulator = simulator_for(hand_world())
    connector = connector_for(simulator)
    kept = await connector.subscribe(RECEIVER + "?source=other", "s")
    subscriptions = await connector.subscribe(RECEIVER, "s")
    await connector.unsubscribe(subscriptions[:1])  # gone before the next call
    await connector.unsubscribe(subscriptions)
    remaining = {str(entry_id) for entry_id in simulator.callbacks.entries}
    assert remaining == {s.remote_id for s in kept}
    assert simulator.requests["DELETE /system/callbacks/{id}"] == 4


# -- parse_delivery --------------------------------------------------------------------------


def callback_body(**fields: Any) -> bytes:
    payload = {
        "Action": "updated",
        "CompanyId": COMPANY,
        "Entity": json.dumps({"id": 184233, "summary": "ignored"}),
        "FromUrl": "api-na.myconnectwise.net",
        "ID": 184233,
        "MemberId": 143,
        "Metadata": {"key_url": "https://api-na.myconnectwise.net/v4_6_release/callback/key"},
        "Type": "ticket",
    }
    payload.update(fields)
    return json.dumps({k: v for k, v in payload.items() if v is not None}).encode()


@pytest.mark.parametrize(
    ("type_", "action", "expected"),
    [
        ("ticket", "added", PushNotice("tickets", "184233", PushAction.ADDED)),
        ("Company", "updated", PushNotice("companies", "184233", PushAction.UPDATED)),
        ("AGREEMENT", "deleted", PushNotice("agreements", "184233", PushAction.DELETED)),
        ("agreements", "restored", PushNotice("agreements", "184233", PushAction.UPDATED)),
    ],
)
def test_parse_delivery_maps_type_and_action(
    connector_for: ConnectorFactory, type_: str, action: str, expected: PushNotice
) -> None:
    connector = connector_for(simulator_for(hand_world()))
    delivery = connector.parse_delivery(callback_body(Type=type_, Action=action), {}, {}, "s")
    assert delivery.notices == (expected,)


def test_parse_delivery_keys_replays_and_ignores_unknown_types(
    connector_for: ConnectorFactory,
) -> None:
    connector = connector_for(simulator_for(hand_world()))
    body = callback_body()
    key = connector.parse_delivery(body, {}, {}, "s").key
    assert key == "cw:" + hashlib.sha256(body).hexdigest()
    assert connector.parse_delivery(body, {}, {"recordId": "184233"}, "s").key == key
    assert connector.parse_delivery(callback_body(ID=184234), {}, {}, "s").key != key
    unknown = connector.parse_delivery(callback_body(Type="opportunity"), {}, {}, "s")
    assert unknown.notices == ()


def test_parse_delivery_takes_the_id_from_the_url_when_the_body_has_none(
    connector_for: ConnectorFactory,
) -> None:
    connector = connector_for(simulator_for(hand_world()))
    delivery = connector.parse_delivery(callback_body(ID=None), {}, {"recordId": "77"}, "s")
    assert delivery.notices == (PushNotice("tickets", "77", PushAction.UPDATED),)


@pytest.mark.parametrize(
    ("body", "query"),
    [
        (b"<html>not json</html>", {}),
        (b"[1, 2]", {}),
        (callback_body(ID=None), {}),
        (callback_body(ID="abc"), {"recordId": "12"}),
        (callback_body(ID=True), {}),
    ],
)
def test_parse_delivery_refuses_what_is_not_a_callback(
    connector_for: ConnectorFactory, body: bytes, query: dict[str, str]
) -> None:
    connector = connector_for(simulator_for(hand_world()))
    with pytest.raises(ValueError, match="ConnectWise callback"):
        connector.parse_delivery(body, {}, query, "s")


# -- read_records ----------------------------------------------------------------------------


@pytest.fixture
def world() -> SandboxWorld:
    return build_world(seed=5, tickets=600, time_entries_per_ticket=1.0)  # some without time


@pytest.mark.anyio
@pytest.mark.parametrize("stream", ["tickets", "companies", "agreements"])
async def test_read_records_normalize_to_the_facts_the_stream_stores(
    connector_for: ConnectorFactory, world: SandboxWorld, stream: str
) -> None:
    simulator = simulator_for(world)
    streamed = facts_by_id(
        connector_for(simulator), stream, await collect(connector_for(simulator).read(stream, None))
    )
    wanted = sorted(streamed, key=int)[::3][:40]
    if stream == "tickets":
        gone = next(t.id for t in world.tickets if t.deleted)
        wanted.append(str(gone))
    connector = connector_for(simulator)
    pages = await collect(connector.read_records(stream, wanted))
    assert all(page.cursor == {} for page in pages)
    seen = [found for page in pages for found in page.seen_ids]
    assert sorted(seen, key=int) == sorted(set(wanted) & set(streamed), key=int)
    assert facts_by_id(connector, stream, pages) == {i: streamed[i] for i in seen}
    if stream == "agreements":  # the additions came along, as in the stream's pages
        assert any(r[ENRICHMENT_KEY]["additions"] for page in pages for r in page.records)


@dataclass
class UrlRecorder:
    """An ASGI wrapper noting each request's full URL length."""

    app: ConnectWiseSimulator
    lengths: list[int]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            query = scope.get("query_string", b"")
            self.lengths.append(len("http://cw.test") + len(scope["path"]) + 1 + len(query))
        await self.app(scope, receive, send)


@pytest.mark.anyio
async def test_read_records_batches_ids_under_2000_characters(world: SandboxWorld) -> None:
    simulator = simulator_for(world)
    lengths: list[int] = []
    connector = ConnectWiseConnector(
        ConnectWiseConfig(
            base_url="http://cw.test",
            company_id=COMPANY,
            public_key=PUBLIC_KEY,
            private_key=PRIVATE_KEY,
            client_id=CLIENT_ID,
        ),
        ConnectorContext(
            transport=httpx.ASGITransport(app=UrlRecorder(simulator, lengths)),
            limits=SourceHttpLimits(retry=RetryPolicy(base_delay=0.0)),
        ),
        sleep=SleepRecorder(),
    )
    live = [str(t.id) for t in world.tickets if not t.deleted and t.merged_into is None]
    pages = await collect(connector.read_records("tickets", live))
    assert sorted(found for page in pages for found in page.seen_ids) == sorted(live)
    ticket_reads = [r for r in simulator.log if r.resource == "/service/tickets"]
    assert len(ticket_reads) > 1
    assert all("id in (" in r.params["conditions"] for r in ticket_reads)
    assert max(lengths) < 2000


@pytest.mark.anyio
async def test_read_records_refuses_a_stream_without_single_records(
    connector_for: ConnectorFactory,
) -> None:
    connector = connector_for(simulator_for(hand_world()))
    for stream in ("nonsense", "tickets_sweep", "survey_results"):
        with pytest.raises(ValueError, match=stream):
            connector.read_records(stream, ["1"])
