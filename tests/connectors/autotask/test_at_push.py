"""Push through Autotask webhooks: registration, signed deliveries, re-reading by id, and
the simulator's deliveries of a world mutation to a real receiver on loopback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from at_support import connector_for, simulator_for
from live_server import serve_on_loopback

from connectors.autotask import AutotaskConnector
from connectors.autotask.push import signature_of
from connectors.autotask.simulator import AutotaskSimulator
from connectors.sandbox.model import SandboxWorld
from connectors.sandbox.mutate import mutate_world
from connectors.sdk import (
    ConfigError,
    Delivery,
    DeliveryRefused,
    FactType,
    Page,
    Pushable,
    PushAction,
    PushNotice,
    PushSubscription,
    TicketFact,
)

pytestmark = pytest.mark.anyio
RECEIVER = "https://northstar.msp.example/push/autotask/7"
SECRET = "push-secret-3f9a1c"


@pytest.fixture
def simulator(world: SandboxWorld) -> AutotaskSimulator:
    return simulator_for(world)


@pytest.fixture
async def connector(simulator: AutotaskSimulator) -> AsyncIterator[AutotaskConnector]:
    connector = connector_for(simulator)
    yield connector
    await connector.aclose()


def _delivery(**fields: Any) -> bytes:
    payload = {
        "Action": "Update",
        "Guid": "6c1f0a52-2f7e-4d53-9d0e-6c1b8a1e9f01",
        "EntityType": "Ticket",
        "Id": 13,
        "Fields": {"status": 8},
        "EventTime": "2025-03-03T12:00:00.000Z",
        "SequenceNumber": 4,
        "PersonID": 2,
    }
    return json.dumps(payload | fields).encode()


def _signed(body: bytes, secret: str = SECRET, prefix: str = "") -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Hook-Signature": prefix + signature_of(body, secret),
    }


async def _pages(connector: AutotaskConnector, stream: str, ids: list[str]) -> list[Page]:
    return [page async for page in connector.read_records(stream, ids)]


async def test_the_connector_is_pushable(connector: AutotaskConnector) -> None:
    assert isinstance(connector, Pushable)
    assert connector.push_streams == {"tickets": FactType.TICKET, "companies": FactType.CLIENT}


async def test_subscribe_registers_both_webhooks_with_fields_and_reuses_them(
    connector: AutotaskConnector, simulator: AutotaskSimulator
) -> None:
    first = await connector.subscribe(RECEIVER, SECRET)
    assert [s.entity for s in first] == ["TicketWebhooks", "CompanyWebhooks"]
    hooks = simulator.webhooks.rows
    ticket_hook = next(iter(hooks["TicketWebhooks"].values()))
    assert ticket_hook["webhookUrl"] == RECEIVER
    assert ticket_hook["deactivationUrl"] == RECEIVER + "?deactivated=1"
    assert ticket_hook["secretKey"] == SECRET
    assert ticket_hook["isActive"] and ticket_hook["isReady"]
    assert ticket_hook["sendThresholdExceededNotification"] is False
    assert all(ticket_hook[f"isSubscribedTo{e}Events"] for e in ("Create", "Update", "Delete"))
    assert first[0].remote_id == f"TicketWebhooks:{ticket_hook['id']}"

    def watched(webhook_id: int) -> set[int]:
        rows = simulator.webhooks.field_rows.values()
        return {
            r["fieldID"] for r in rows if r["webhookID"] == webhook_id and r["isSubscribedField"]
        }

    # Resolved by label from the FieldID picklist: "Status", "Primary Resource", "Account"...
    assert watched(ticket_hook["id"]) == {6, 9, 10, 13, 14, 15, 17, 21, 22, 30, 31}
    company_hook = next(iter(hooks["CompanyWebhooks"].values()))
    assert watched(company_hook["id"]) == {101, 102}  # not "phone": nothing reads it

    second = await connector.subscribe(RECEIVER, "a-new-secret")
    assert second == first
    assert len(hooks["TicketWebhooks"]) == len(hooks["CompanyWebhooks"]) == 1
    assert ticket_hook is not hooks["TicketWebhooks"][ticket_hook["id"]]  # patched in place
    assert hooks["TicketWebhooks"][ticket_hook["id"]]["secretKey"] == "a-new-secret"
    assert len(simulator.webhooks.field_rows) == 13  # no field subscribed twice


async def test_a_receiver_url_with_a_query_keeps_it_in_the_deactivation_url(
    connector: AutotaskConnector, simulator: AutotaskSimulator
) -> None:
    await connector.subscribe(RECEIVER + "?source=7", SECRET)
    hook = next(iter(simulator.webhooks.rows["TicketWebhooks"].values()))
    assert hook["deactivationUrl"] == RECEIVER + "?source=7&deactivated=1"


async def test_configured_field_ids_stand_in_when_the_field_info_is_withheld(
    simulator: AutotaskSimulator,
) -> None:
    simulator.withhold("TicketWebhookFields/entityInformation/fields")
    simulator.withhold("CompanyWebhookFields/entityInformation/fields")
    connector = connector_for(
        simulator, webhook_field_ids={"TicketWebhooks": {9}, "CompanyWebhooks": {101}}
    )
    try:
        await connector.subscribe(RECEIVER, SECRET)
        assert sorted(r["fieldID"] for r in simulator.webhooks.field_rows.values()) == [9, 101]
    finally:
        await connector.aclose()
    simulator.webhooks.rows["TicketWebhooks"].clear()
    bare = connector_for(simulator)
    try:
        with pytest.raises(ConfigError, match="polling"):
            await bare.subscribe(RECEIVER, SECRET)
        assert not simulator.webhooks.rows["TicketWebhooks"]  # nothing left without fields
    finally:
        await bare.aclose()


async def test_unsubscribe_removes_them_and_skips_those_already_gone(
    connector: AutotaskConnector, simulator: AutotaskSimulator
) -> None:
    subscriptions = await connector.subscribe(RECEIVER, SECRET)
    ticket_id = int(subscriptions[0].remote_id.split(":")[1])
    # Removed in Autotask by someone else meanwhile.
    removed = simulator.webhooks.answer("DELETE", "TicketWebhooks", [str(ticket_id)], {}, b"")
    assert removed[0] == 200
    await connector.unsubscribe(subscriptions)
    assert simulator.webhooks.rows == {"TicketWebhooks": {}, "CompanyWebhooks": {}}
    assert not simulator.webhooks.field_rows
    await connector.unsubscribe([PushSubscription("CompanyWebhooks:999999", "CompanyWebhooks")])


async def test_the_simulator_validates_a_webhook_like_autotask(
    simulator: AutotaskSimulator,
) -> None:
    config = simulator.connector_config()
    headers = {
        "ApiIntegrationCode": config.integration_code.get_secret_value(),
        "UserName": config.api_username.get_secret_value(),
        "Secret": config.secret.get_secret_value(),
    }
    url = "https://webservices5.autotask.net/ATServicesRest/V1.0/TicketWebhooks"
    async with httpx.AsyncClient(transport=simulator.transport()) as client:
        answer = await client.post(
            url, headers=headers, json={"Name": "x" * 51, "WebhookUrl": RECEIVER, "IsActive": True}
        )
        assert answer.status_code == 500
        errors = answer.json()["errors"]
        assert "deactivationUrl is required." in errors
        assert "name exceeds the maximum length of 50 characters." in errors
        assert not simulator.webhooks.rows["TicketWebhooks"]


async def test_parse_delivery_accepts_a_signed_body_and_maps_its_action(
    connector: AutotaskConnector,
) -> None:
    body = _delivery()
    for prefix in ("", "sha1="):
        delivery = connector.parse_delivery(body, _signed(body, prefix=prefix), {}, SECRET)
        assert delivery == Delivery(
            "at:6c1f0a52-2f7e-4d53-9d0e-6c1b8a1e9f01:4",
            (PushNotice("tickets", "13", PushAction.UPDATED),),
        )
    expected = {"Create": PushAction.ADDED, "Update": PushAction.UPDATED}
    expected["Delete"] = PushAction.DELETED
    for action, pushed in expected.items():
        body = _delivery(Action=action, EntityType="Account", Id=2)
        (notice,) = connector.parse_delivery(body, _signed(body), {}, SECRET).notices
        assert notice == PushNotice("companies", "2", pushed)


async def test_parse_delivery_refuses_a_forged_or_unsigned_body(
    connector: AutotaskConnector,
) -> None:
    body = _delivery()
    forged = _delivery(Id=14)
    with pytest.raises(DeliveryRefused) as refused:
        connector.parse_delivery(forged, _signed(body), {}, SECRET)
    assert SECRET not in str(refused.value)
    with pytest.raises(DeliveryRefused):
        connector.parse_delivery(body, _signed(body, secret="someone-else"), {}, SECRET)
    with pytest.raises(DeliveryRefused):
        connector.parse_delivery(body, {"Content-Type": "application/json"}, {}, SECRET)


async def test_parse_delivery_keys_replays_alike_and_reads_odd_deliveries(
    connector: AutotaskConnector,
) -> None:
    body = _delivery()
    first = connector.parse_delivery(body, _signed(body), {}, SECRET)
    assert connector.parse_delivery(body, _signed(body), {}, SECRET).key == first.key
    unnumbered = _delivery(SequenceNumber=None)
    key = connector.parse_delivery(unnumbered, _signed(unnumbered), {}, SECRET).key
    assert key.startswith("at:") and len(key) == 3 + 64
    contact = _delivery(EntityType="Contact")
    assert connector.parse_delivery(contact, _signed(contact), {}, SECRET).notices == ()
    deactivated = _delivery()
    call = connector.parse_delivery(deactivated, _signed(deactivated), {"deactivated": "1"}, SECRET)
    assert call.notices == ()
    for bad in (_delivery(Id=None), _delivery(Id="T2025"), b"not json"):
        with pytest.raises(ValueError):
            connector.parse_delivery(bad, _signed(bad), {}, SECRET)


async def test_read_records_reads_current_tickets_like_the_stream(
    connector: AutotaskConnector,
) -> None:
    streamed = {
        fact.external_id: fact
        async for page in connector.read("tickets", None)
        for record in page.records
        for fact in connector.normalize("tickets", record)
    }
    pages = await _pages(connector, "tickets", ["20", "10", "14", "999"])  # 14: deleted
    assert [(p.cursor, sorted(p.seen_ids)) for p in pages] == [({}, ["10", "20"])]
    pushed = [f for r in pages[0].records for f in connector.normalize("tickets", r)]
    assert all(isinstance(f, TicketFact) for f in pushed)
    assert {f.external_id: f for f in pushed} == {k: streamed[k] for k in ("10", "20")}
    # With its SLA result (ticket 10's winning row says the first response was met).
    assert any(r["_northstar"]["sla"] is not None for r in pages[0].records)
    (gone,) = await _pages(connector, "tickets", ["14"])
    assert (list(gone.records), list(gone.seen_ids), gone.cursor) == ([], [], {})
    with pytest.raises(ValueError):
        await _pages(connector, "time_entries", ["1"])


async def test_read_records_batches_ids_within_autotask_limits(
    connector: AutotaskConnector, simulator: AutotaskSimulator
) -> None:
    pages = await _pages(connector, "companies", [str(i) for i in range(1, 1202)])
    assert len(pages) == simulator.stats.requests["Companies"] == 3  # 500, 500, 201 ids
    assert sorted(int(i) for p in pages for i in p.seen_ids) == [1, 2, 3]


async def test_announce_delivers_signed_deliveries_to_a_real_receiver(world: SandboxWorld) -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    async def receiver(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        received.append(({k.decode(): v.decode() for k, v in scope["headers"]}, body))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    simulator = simulator_for(world, id_offsets={"Tickets": 500_000})
    connector = connector_for(simulator)
    try:
        with serve_on_loopback(receiver) as base_url:
            await connector.subscribe(f"{base_url}/push", SECRET)
            summary = mutate_world(world, seed=3)
            answered = await simulator.announce(summary)
        changed = len(summary.tickets_changed)
        assert changed and answered == changed == len(received)
        assert all(status == 204 for status in (d.status for d in simulator.webhooks.deliveries))
        notices = []
        for headers, body in received:
            delivery = connector.parse_delivery(body, headers, {}, SECRET)
            notices.extend(delivery.notices)
        assert {n.record_id for n in notices} == {str(i + 500_000) for i in summary.tickets_changed}
        by_id = {n.record_id: n.action for n in notices}
        for ticket_id in summary.tickets_deleted:
            assert by_id[str(ticket_id + 500_000)] is PushAction.DELETED
        for ticket_id in summary.tickets_added:
            assert by_id[str(ticket_id + 500_000)] is PushAction.ADDED
        sequences = [json.loads(body)["SequenceNumber"] for _, body in received]
        assert sequences == list(range(1, len(received) + 1))
        # What a deletion announced is gone; what an addition announced reads as current.
        deleted = [str(i + 500_000) for i in summary.tickets_deleted]
        added = [str(i + 500_000) for i in summary.tickets_added]
        pages = await _pages(connector, "tickets", deleted + added)
        assert sorted(i for p in pages for i in p.seen_ids) == sorted(added)
    finally:
        await connector.aclose()
