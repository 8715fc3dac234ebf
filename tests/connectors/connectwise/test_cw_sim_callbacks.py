"""The simulator's ConnectWise callbacks: `/system/callbacks` as a tenant serves it, and
deliveries made as ConnectWise makes them, to a receiver over loopback and in-process."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from cw_support import (
    CLIENT_ID,
    COMPANY,
    PRIVATE_KEY,
    PUBLIC_KEY,
    hand_world,
    make_connector,
    simulator_for,
)
from live_server import serve_on_loopback

from connectors.connectwise.simulator import ConnectWiseSimulator
from connectors.sandbox.model import SandboxWorld
from connectors.sandbox.world import build_world, mutate_world
from connectors.sdk import Page, PushAction

AUTH = base64.b64encode(f"{COMPANY}+{PUBLIC_KEY}:{PRIVATE_KEY}".encode()).decode()


def api_client(simulator: ConnectWiseSimulator) -> httpx.AsyncClient:
    """A raw client on the simulator's API tree, authenticated like an integration."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=simulator),
        base_url="http://cw.test/v4_6_release/apis/3.0",
        headers={"Authorization": f"Basic {AUTH}", "clientId": CLIENT_ID},
    )


async def collect(pages: Any) -> list[Page]:
    return [page async for page in pages]


@pytest.fixture
def world() -> SandboxWorld:
    return build_world(seed=5, tickets=600, time_entries_per_ticket=1.0)  # some without time


# -- the simulator's /system/callbacks -------------------------------------------------------


@pytest.mark.anyio
async def test_simulator_refuses_an_incomplete_callback_in_connectwise_shape() -> None:
    simulator = simulator_for(hand_world())
    async with api_client(simulator) as client:
        refused = await client.post("/system/callbacks", json={"description": "x" * 101})
        assert refused.status_code == 400
        body = refused.json()
        assert body["code"] == "InvalidObject"
        fields = {error["field"] for error in body["errors"]}
        assert fields == {"url", "type", "level", "objectId", "description"}
        created = await client.post(
            "/system/callbacks",
            json={
                "url": "https://a.example/cb?id=",
                "type": "ticket",
                "level": "owner",
                "objectId": 1,
            },
        )
        assert created.status_code == 201
        entry_id = created.json()["id"]
        assert (await client.get(f"/system/callbacks/{entry_id}")).json()["type"] == "ticket"
        listed = await client.get("/system/callbacks", params={"conditions": 'type = "company"'})
        assert listed.json() == []
        assert (await client.delete(f"/system/callbacks/{entry_id}")).status_code == 204
        missing = await client.get(f"/system/callbacks/{entry_id}")
        assert missing.status_code == 404 and missing.json()["code"] == "NotFound"
        assert (await client.delete(f"/system/callbacks/{entry_id}")).status_code == 404


# -- the simulator calls back ----------------------------------------------------------------


@dataclass
class Received:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


class Receiver:
    """A webhook receiver: records every POST, answers 429 to the first `busy` of them."""

    def __init__(self, busy: int = 0) -> None:
        self.received: list[Received] = []
        self.busy = busy

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
        self.received.append(Received(scope["path"], query, headers, body))
        status = 429 if len(self.received) <= self.busy else 204
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def expected_signature(body: bytes, signing_key: str) -> str:
    # Reference §6.9: base64(HMAC_SHA256(key=SHA256(signing_key), msg=raw body)).
    key = hashlib.sha256(signing_key.encode()).digest()
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


@pytest.mark.anyio
async def test_announce_calls_back_signed_over_loopback_and_retries_after_a_429(
    world: SandboxWorld,
) -> None:
    simulator = simulator_for(world)
    simulator.callbacks.retry_delays = (0.0, 0.0)
    connector = make_connector(simulator)
    receiver = Receiver(busy=1)
    with serve_on_loopback(receiver) as base:
        await connector.subscribe(f"{base}/push/connectwise/tok-1", "s")
        summary = mutate_world(world, seed=3)
        answered = await simulator.announce(summary)
    changed = summary.tickets_changed | set(summary.agreements_cancelled)
    assert summary.agreements_cancelled and summary.tickets_deleted
    assert answered == len(summary.tickets_changed) + len(summary.agreements_cancelled)
    first, retried = simulator.callbacks.deliveries[:2]
    assert (first.status, retried.status, first.url) == (429, 204, retried.url)
    assert len(receiver.received) == answered + 1
    signing_key = simulator.callbacks.key_answer()["signing_key"]
    notices = []
    for request in receiver.received:
        assert request.path == "/push/connectwise/tok-1"
        assert request.headers["content-type"] == "application/json"
        assert request.headers["x-content-signature"] == expected_signature(
            request.body, signing_key
        )
        payload = json.loads(request.body)
        assert request.query["recordId"] == str(payload["ID"])
        assert json.loads(payload["Entity"])["id"] == payload["ID"]
        notices += connector.parse_delivery(
            request.body, request.headers, request.query, "s"
        ).notices
    assert {int(n.record_id) for n in notices} == changed
    deleted = {int(n.record_id) for n in notices if n.action is PushAction.DELETED}
    assert deleted == set(summary.tickets_deleted)
    added = {int(n.record_id) for n in notices if n.action is PushAction.ADDED}
    assert added == set(summary.tickets_added)
    assert {n.stream for n in notices if int(n.record_id) in summary.agreements_cancelled} == {
        "agreements"
    }


@pytest.mark.anyio
async def test_announced_changes_read_back_current_and_deleted_ones_are_absent(
    world: SandboxWorld,
) -> None:
    receiver = Receiver()
    simulator = simulator_for(world, delivery_transport=httpx.ASGITransport(app=receiver))
    connector = make_connector(simulator)
    await connector.subscribe("http://northstar.test/push/cw/tok-2", "s")
    summary = mutate_world(world, seed=4)
    await simulator.announce(summary)
    notices = [
        notice
        for request in receiver.received
        for notice in connector.parse_delivery(request.body, {}, request.query, "s").notices
    ]
    ticket_ids = sorted({n.record_id for n in notices if n.stream == "tickets"}, key=int)
    pages = await collect(connector.read_records("tickets", ticket_ids))
    records = {str(r["id"]): r for page in pages for r in page.records}
    assert set(records) == set(ticket_ids) - {str(i) for i in summary.tickets_deleted}
    stamp = summary.at.isoformat()[:19] + "Z"
    assert all(record["_info"]["lastUpdated"] == stamp for record in records.values())
    deleted_bodies = [
        json.loads(r.body) for r in receiver.received if json.loads(r.body)["Action"] == "deleted"
    ]
    assert all(json.loads(b["Entity"]) == {"id": b["ID"]} for b in deleted_bodies)
