"""ConnectWise callbacks in the simulator (reference §6.9): `/system/callbacks` and the
deliveries ConnectWise makes to them.

Registrations: `GET /system/callbacks` (conditions, paging and `fields` as every collection),
`/count`, `POST` (`url`, `type`, `level` and `objectId` required: 400 in ConnectWise's
`{code, message, errors}` shape otherwise), `GET`/`DELETE /system/callbacks/{id}` (404 for an
unknown id, 204 once deleted).

Deliveries (`CallbackRegistry.announce`): for each changed record, a POST to every active
`owner`-level callback of its type, as ConnectWise makes them: the registered URL with the
record id appended, `{Action, CompanyId, Entity, FromUrl, ID, MemberId, Metadata, Type}`
with `Entity` the record as the simulator serves it, JSON-encoded (`{"id": N}` for a deleted
one), and `x-content-signature: base64(HMAC_SHA256(key=SHA256(signing_key), body))`. Each
attempt has 5 s; a 404/409/419/429 is tried again after `retry_delays` (2 s, then 4 s).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from connectors.connectwise.simulator_collections import Json, StaticCollection
from connectors.connectwise.simulator_paging import Pager, Response, error_response
from connectors.connectwise.simulator_shapes import compact, stamp
from connectors.sandbox.mutate import MutationSummary

CALLBACKS = "/system/callbacks"
DEFAULT_SIGNING_KEY = "sim-callback-signing-key"
API_MEMBER_ID = 143  # the API member the callbacks are registered as
REQUIRED = ("url", "type", "level", "objectId")
RETRY_STATUSES = frozenset({404, 409, 419, 429})
# Record kinds a mutation changes -> (the callback types that hear of them, the collection).
# The agreement type string is unconfirmed (reference §10): both spellings are accepted.
KINDS: dict[str, tuple[frozenset[str], str]] = {
    "ticket": (frozenset({"ticket", "tickets"}), "/service/tickets"),
    "agreement": (frozenset({"agreement", "agreements"}), "/finance/agreements"),
}

# Renders one record of a collection as the API serves it (None: no such record).
RenderRecord = Callable[[str, int], Json | None]


@dataclass(frozen=True, slots=True)
class CallbackDelivery:
    """One delivery attempt: where it went, what it announced, the receiver's status (None:
    no answer within the timeout, or no connection)."""

    url: str
    status: int | None
    type: str
    action: str
    record_id: int


@dataclass(frozen=True, slots=True)
class Change:
    kind: str  # a key of KINDS
    record_id: int
    action: str  # added, updated, deleted


def changes_of(summary: MutationSummary) -> list[Change]:
    """The record changes a mutation makes that ConnectWise would call back about."""
    tickets = (
        [(ticket_id, "updated") for ticket_id in summary.tickets_updated]
        + [(ticket_id, "added") for ticket_id in summary.tickets_added]
        + [(ticket_id, "deleted") for ticket_id in summary.tickets_deleted]
        + [(ticket_id, "updated") for ticket_id in summary.tickets_merged]
    )
    changes = [Change("ticket", ticket_id, action) for ticket_id, action in tickets]
    changes += [
        Change("agreement", agreement_id, "updated")
        for agreement_id in summary.agreements_cancelled
    ]
    return changes


def signature_of(body: bytes, signing_key: str) -> str:
    key = hashlib.sha256(signing_key.encode()).digest()
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


def _invalid(errors: list[Json]) -> Response:
    body = {"code": "InvalidObject", "message": "callbackEntry object is invalid", "errors": errors}
    return Response(400, body)


def _field_error(code: str, field: str, message: str) -> Json:
    return {"code": code, "message": message, "resource": "callbackEntry", "field": field}


class CallbackRegistry:
    """The tenant's callbacks. `deliveries` lists every delivery attempt, in order."""

    def __init__(
        self,
        *,
        now: Callable[[], datetime],
        transport: httpx.AsyncBaseTransport | None = None,
        signing_key: str = DEFAULT_SIGNING_KEY,
    ) -> None:
        self._now = now
        self.transport = transport  # None: the real network
        self.signing_key = signing_key
        self.retry_delays: tuple[float, ...] = (2.0, 4.0)
        self.attempt_timeout = 5.0
        self.entries: dict[int, Json] = {}
        self._next_id = 1
        self.deliveries: list[CallbackDelivery] = []

    # -- the API ------------------------------------------------------------------------

    def route(
        self,
        method: str,
        resource: str,
        params: dict[str, str],
        body: bytes,
        pager: Pager,
        list_page: Callable[[StaticCollection], Response],
    ) -> Response | None:
        """The answer for a lower-cased API resource under `/system/callbacks`; None for
        any other resource."""
        if resource != CALLBACKS and not resource.startswith(CALLBACKS + "/"):
            return None
        rest = resource[len(CALLBACKS) :]
        if rest == "":
            if method == "POST":
                return self._create(body)
            if method == "GET":
                return list_page(self._collection())
        elif rest == "/count" and method == "GET":
            return Response(200, {"count": pager.count(self._collection(), params, -1)})
        elif rest[1:].isdigit():
            entry_id = int(rest[1:])
            if entry_id not in self.entries:
                return error_response(404, "NotFound", f"Callback {entry_id} was not found.")
            if method == "GET":
                return Response(200, self.entries[entry_id])
            if method == "DELETE":
                del self.entries[entry_id]
                return Response(204, None, raw=b"")
        else:
            return error_response(404, "NotFound", f"{CALLBACKS}{rest} was not found.")
        return error_response(405, "MethodNotAllowed", f"{method} is not allowed here.")

    def _collection(self) -> StaticCollection:
        return StaticCollection([self.entries[key] for key in sorted(self.entries)])

    def _create(self, body: bytes) -> Response:
        try:
            entry = json.loads(body or b"null")
        except ValueError:
            return error_response(400, "InvalidObject", "The request body is not valid JSON.")
        if not isinstance(entry, dict):
            return error_response(400, "InvalidObject", "callbackEntry object is required.")
        errors = [
            _field_error("NullValue", field, f"{field} is required.")
            for field in REQUIRED
            if entry.get(field) in (None, "")
        ]
        object_id = entry.get("objectId")
        if object_id is not None and (
            not isinstance(object_id, int) or isinstance(object_id, bool)
        ):
            errors.append(_field_error("InvalidField", "objectId", "objectId must be a number."))
        for field in ("url", "type", "level", "description"):
            if entry.get(field) is not None and not isinstance(entry[field], str):
                errors.append(_field_error("InvalidField", field, f"{field} must be text."))
        description = entry.get("description")
        if isinstance(description, str) and len(description) > 100:
            message = "description cannot be longer than 100 characters."
            errors.append(_field_error("InvalidField", "description", message))
        if errors:
            return _invalid(errors)
        entry_id, self._next_id = self._next_id, self._next_id + 1
        stored = compact(
            {
                "id": entry_id,
                "description": description,
                "url": entry["url"],
                "objectId": object_id,
                "type": entry["type"],
                "level": entry["level"],
                "memberId": API_MEMBER_ID,
                "payloadVersion": entry.get("payloadVersion"),
                "inactiveFlag": bool(entry.get("inactiveFlag", False)),
                "isSoapCallbackFlag": False,
                "isSelfSuppressedFlag": bool(entry.get("isSelfSuppressedFlag", False)),
                "_info": {"lastUpdated": stamp(self._now()), "updatedBy": "api-member"},
            }
        )
        self.entries[entry_id] = stored
        return Response(201, stored)

    # -- deliveries ---------------------------------------------------------------------

    def _listening(self, kind: str) -> Iterator[Json]:
        types, _ = KINDS[kind]
        for entry_id in sorted(self.entries):
            entry = self.entries[entry_id]
            if (
                str(entry.get("type", "")).lower() in types
                and str(entry.get("level", "")).lower() == "owner"
                and not entry.get("inactiveFlag")
            ):
                yield entry

    async def announce(
        self,
        changes: list[Change],
        render: RenderRecord,
        company_id: str,
        origin: str,
        codebase: str,
    ) -> int:
        """Deliver `changes` to the registered callbacks; how many were answered 2xx.
        `origin` and `codebase` make the payload's `FromUrl` and `Metadata.key_url`."""
        host = httpx.URL(origin).host
        answered = 0
        async with httpx.AsyncClient(
            transport=self.transport, timeout=self.attempt_timeout
        ) as client:
            for change in changes:
                listeners = list(self._listening(change.kind))
                if not listeners:
                    continue
                record = render(KINDS[change.kind][1], change.record_id)
                entity = (
                    {"id": change.record_id}
                    if change.action == "deleted" or record is None
                    else record
                )
                for entry in listeners:
                    payload = {
                        "Action": change.action,
                        "CompanyId": company_id,
                        "Entity": json.dumps(entity),
                        "FromUrl": host,
                        "ID": change.record_id,
                        "MemberId": entry.get("memberId", API_MEMBER_ID),
                        "Metadata": {
                            "key_url": f"{origin}/{codebase}/callback/key?id={entry['id']}"
                        },
                        "Type": entry["type"],
                    }
                    url = str(entry["url"]) + str(change.record_id)
                    if await self._deliver(
                        client, url, json.dumps(payload).encode(), change, entry
                    ):
                        answered += 1
        return answered

    async def _deliver(
        self, client: httpx.AsyncClient, url: str, body: bytes, change: Change, entry: Json
    ) -> bool:
        headers = {
            "content-type": "application/json",
            "x-content-signature": signature_of(body, self.signing_key),
        }
        delays = iter(self.retry_delays)
        while True:
            status: int | None
            try:
                status = (await client.post(url, content=body, headers=headers)).status_code
            except httpx.HTTPError:
                status = None
            self.deliveries.append(
                CallbackDelivery(url, status, str(entry["type"]), change.action, change.record_id)
            )
            if status is not None and 200 <= status < 300:
                return True
            delay = next(delays, None) if status in RETRY_STATUSES else None
            if delay is None:
                return False
            await asyncio.sleep(delay)

    def key_answer(self) -> Any:
        """What `Metadata.key_url` answers: the key the signatures are made with."""
        return {"signing_key": self.signing_key}
