"""The simulator's webhooks: `TicketWebhooks`/`CompanyWebhooks`, their `Fields` child, and
the signed deliveries a world mutation makes (`WebhookRegistry.announce`).

As Autotask's help describes them: a create is validated (required fields, length limits;
a refusal is HTTP 500 `{"errors": [...]}` like the API's other client mistakes) and answers
`{"itemId": id}`; a query never shows `secretKey`; `PATCH` updates, `DELETE /{id}` removes
(404 for one that is gone); `POST /{id}/Fields` subscribes a field by its `FieldID`, a
picklist of `<Entity>WebhookFields` (`entityInformation/fields`). A webhook fires only once
it is active and watches a field; each delivery is a JSON POST signed with
`X-Hook-Signature: base64(HMAC-SHA1(SecretKey, body))`, numbered per webhook.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import httpx

from connectors.autotask.simulator.query import EntityTable, QueryError
from connectors.autotask.simulator.responses import Answer, QueryRoute
from connectors.sandbox.mutate import MutationSummary

WEBHOOK_FIELDS = {
    "id": "long",
    "name": "string",
    "webhookUrl": "string",
    "deactivationUrl": "string",
    "secretKey": "string",
    "isActive": "boolean",
    "isReady": "boolean",
    "isSubscribedToCreateEvents": "boolean",
    "isSubscribedToUpdateEvents": "boolean",
    "isSubscribedToDeleteEvents": "boolean",
    "notificationEmailAddress": "string",
    "sendThresholdExceededNotification": "boolean",
    "ownerResourceID": "integer",
    "webhookGUID": "string",
}
FIELD_ROW_FIELDS = {
    "id": "long",
    "webhookID": "integer",
    "fieldID": "integer",
    "isSubscribedField": "boolean",
    "isDisplayAlwaysField": "boolean",
}
_REQUIRED = ("name", "webhookUrl", "deactivationUrl", "secretKey", "isActive")
_LENGTHS = {
    "name": 50,
    "webhookUrl": 500,
    "deactivationUrl": 500,
    "secretKey": 64,
    "notificationEmailAddress": 150,
}
_READ_ONLY = ("id", "isReady", "webhookGUID")
_HIDDEN = ("secretKey",)
# The fields a webhook can watch, by FieldID (Autotask's ids are its own; these are the
# simulated tenant's). Ticket fields carry interface labels, Company fields REST names,
# as the help describes for Account webhook fields.
WATCHABLE: Mapping[str, Mapping[int, str]] = {
    "TicketWebhooks": {
        4: "Ticket Number",
        6: "Title",
        9: "Status",
        10: "Priority",
        13: "Queue",
        14: "Account",
        15: "Primary Resource",
        17: "Source",
        21: "Create Date",
        22: "Complete Date",
        30: "First Response Date Time",
        31: "Resolved Date Time",
    },
    "CompanyWebhooks": {101: "companyName", 102: "isActive", 103: "phone"},
}
FIELD_ENTITIES = {
    "TicketWebhookFields": "TicketWebhooks",
    "CompanyWebhookFields": "CompanyWebhooks",
}
ENTITY_TYPES = {"TicketWebhooks": "Ticket", "CompanyWebhooks": "Company"}
# What a ticket delivery's `Fields` carries (a few fields of the changed record).
_DELIVERED_TICKET_FIELDS = ("status", "priority", "assignedResourceID", "queueID", "companyID")


def _error(message: str, status: int = 500) -> Answer:
    return status, {"errors": [message]}, {}


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha1).digest()).decode()


@dataclass
class Delivered:
    url: str
    status: int | None  # None: no answer (refused connection, timeout)
    body: bytes
    headers: dict[str, str]


@dataclass
class WebhookRegistry:
    """The tenant's webhooks. `query_route` answers their queries like any entity's;
    `transport` carries deliveries (None: the real network)."""

    query_route: QueryRoute
    transport: httpx.AsyncBaseTransport | None = None
    timeout: float = 5.0
    rows: dict[str, dict[int, dict[str, Any]]] = field(
        default_factory=lambda: {name: {} for name in ENTITY_TYPES}
    )
    field_rows: dict[int, dict[str, Any]] = field(default_factory=dict)
    deliveries: list[Delivered] = field(default_factory=list)
    _sequence: dict[int, int] = field(default_factory=dict)
    _next_id: int = 7001

    def entities(self) -> tuple[str, ...]:
        return (*ENTITY_TYPES, *FIELD_ENTITIES)

    # -- routes --------------------------------------------------------------------------

    def answer(
        self, method: str, entity: str, route: list[str], params: dict[str, str], body: bytes
    ) -> Answer:
        if route == ["entityinformation", "fields"] and method == "GET":
            return 200, {"fields": self._describe(entity)}, {}
        if route[:1] == ["query"]:
            return self.query_route.answer(method, self._table(entity), route[1:], params, body)
        if entity in FIELD_ENTITIES:
            return 404, {"Message": "No HTTP resource was found."}, {}
        if not route and method in ("POST", "PATCH"):
            return self._write(method, entity, _json_object(body))
        if route and route[0].isdigit():
            webhook_id = int(route[0])
            if webhook_id not in self.rows[entity]:
                return _error(f"No {entity} entity with id {webhook_id} was found.", 404)
            if len(route) == 1 and method == "GET":
                return 200, {"item": self._shown(entity, self.rows[entity][webhook_id])}, {}
            if len(route) == 1 and method == "DELETE":
                del self.rows[entity][webhook_id]
                for row_id in [
                    i for i, r in self.field_rows.items() if r["webhookID"] == webhook_id
                ]:
                    del self.field_rows[row_id]
                return 200, {"itemId": webhook_id}, {}
            if route[1:] == ["fields"] and method == "POST":
                return self._add_field(entity, webhook_id, _json_object(body))
        return 404, {"Message": "No HTTP resource was found."}, {}

    def _canonical(self, fields: Mapping[str, str], body: Mapping[str, Any]) -> dict[str, Any]:
        names = {name.lower(): name for name in fields}
        out = {}
        for key, value in body.items():
            name = names.get(str(key).lower())
            if name is None:
                raise QueryError(f"Unable to find {key} in the entity.")
            out[name] = value
        return out

    def _write(self, method: str, entity: str, body: dict[str, Any]) -> Answer:
        values = self._canonical(WEBHOOK_FIELDS, body)
        if method == "PATCH":
            webhook_id = values.pop("id", None)
            current = self.rows[entity].get(webhook_id) if isinstance(webhook_id, int) else None
            if current is None:
                return _error(f"No {entity} entity with id {webhook_id} was found.", 404)
            merged = {**current, **{k: v for k, v in values.items() if k not in _READ_ONLY}}
        else:
            merged = {name: None for name in WEBHOOK_FIELDS} | {
                k: v for k, v in values.items() if k not in _READ_ONLY
            }
        problems = [f"{name} is required." for name in _REQUIRED if merged.get(name) in (None, "")]
        problems += [
            f"{name} exceeds the maximum length of {limit} characters."
            for name, limit in _LENGTHS.items()
            if isinstance(merged.get(name), str) and len(merged[name]) > limit
        ]
        if problems:
            return 500, {"errors": problems}, {}
        if method == "PATCH":
            self.rows[entity][merged["id"]] = merged
            return 200, {"itemId": merged["id"]}, {}
        merged["id"], self._next_id = self._next_id, self._next_id + 1
        merged["webhookGUID"] = str(uuid.uuid4())
        merged["isReady"] = False
        for flag in ("Create", "Update", "Delete"):
            merged[f"isSubscribedTo{flag}Events"] = bool(merged[f"isSubscribedTo{flag}Events"])
        self.rows[entity][merged["id"]] = merged
        return 200, {"itemId": merged["id"]}, {}

    def _add_field(self, entity: str, webhook_id: int, body: dict[str, Any]) -> Answer:
        values = self._canonical(FIELD_ROW_FIELDS, body)
        field_id = values.get("fieldID")
        if values.get("webhookID", webhook_id) != webhook_id:
            return _error("WebhookID does not match the parent webhook.")
        if field_id not in WATCHABLE[entity]:
            return _error(f"FieldID {field_id!r} is not a field this webhook can watch.")
        if any(
            r["webhookID"] == webhook_id and r["fieldID"] == field_id
            for r in self.field_rows.values()
        ):
            return _error(f"FieldID {field_id} is already on this webhook.")
        row_id, self._next_id = self._next_id, self._next_id + 1
        self.field_rows[row_id] = {
            "id": row_id,
            "webhookID": webhook_id,
            "fieldID": field_id,
            "isSubscribedField": bool(values.get("isSubscribedField")),
            "isDisplayAlwaysField": bool(values.get("isDisplayAlwaysField")),
        }
        if values.get("isSubscribedField"):
            self.rows[entity][webhook_id]["isReady"] = True
        return 200, {"itemId": row_id}, {}

    def _shown(self, entity: str, row: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in row.items() if k not in _HIDDEN}

    def _table(self, entity: str) -> EntityTable:
        if entity in FIELD_ENTITIES:
            fields, rows = FIELD_ROW_FIELDS, list(self.field_rows.values())
        else:
            fields = {k: v for k, v in WEBHOOK_FIELDS.items() if k not in _HIDDEN}
            rows = [self._shown(entity, r) for r in self.rows[entity].values()]
        packed = sorted(
            (tuple(r.get(n) for n in fields) for r in rows), key=lambda r: int(r[0] or 0)
        )
        return EntityTable(entity, fields, packed)

    def _describe(self, entity: str) -> list[dict[str, Any]]:
        parent = FIELD_ENTITIES.get(entity)
        fields = FIELD_ROW_FIELDS if parent else WEBHOOK_FIELDS
        out = []
        for name, kind in fields.items():
            choices = WATCHABLE[parent] if parent and name == "fieldID" else None
            out.append(
                {
                    "name": name,
                    "dataType": kind,
                    "length": _LENGTHS.get(name, 0),
                    "isRequired": name in _REQUIRED,
                    "isReadOnly": name in _READ_ONLY,
                    "isQueryable": name not in _HIDDEN,
                    "isPickList": choices is not None,
                    "picklistValues": None
                    if choices is None
                    else [
                        {"value": str(v), "label": label, "isActive": True, "sortOrder": i}
                        for i, (v, label) in enumerate(choices.items(), 1)
                    ],
                    "isSupportedWebhookField": False,
                }
            )
        return out

    # -- deliveries ----------------------------------------------------------------------

    async def announce(
        self,
        summary: MutationSummary,
        tickets: Callable[[], EntityTable],
        id_offsets: Mapping[str, int],
    ) -> int:
        """Deliver every ticket change of `summary` to each active ticket webhook that
        watches a field and that event kind; how many deliveries were answered 2xx.
        `tickets`: the Tickets table after the mutation (ids shifted by `id_offsets`)."""
        events = [
            *(("Update", i) for i in summary.tickets_updated),
            *(("Create", i) for i in summary.tickets_added),
            *(("Delete", i) for i in (*summary.tickets_deleted, *summary.tickets_merged)),
        ]
        hooks = [
            h
            for h in self.rows["TicketWebhooks"].values()
            if h["isActive"] and h["isReady"] and h["webhookUrl"]
        ]
        if not events or not hooks:
            return 0
        table = tickets()
        answered = 0
        async with httpx.AsyncClient(transport=self.transport, timeout=self.timeout) as client:
            for action, world_id in events:
                ticket_id = world_id + id_offsets.get("Tickets", 0)
                fields = {"id": ticket_id}
                if action != "Delete":
                    row = table.get(ticket_id)
                    if row is not None:
                        fields |= table.as_dict(row, list(_DELIVERED_TICKET_FIELDS))
                for hook in hooks:
                    if hook[f"isSubscribedTo{action}Events"]:
                        answered += await self._deliver(
                            client, hook, action, ticket_id, fields, summary
                        )
        return answered

    async def _deliver(
        self,
        client: httpx.AsyncClient,
        hook: dict[str, Any],
        action: str,
        ticket_id: int,
        fields: dict[str, Any],
        summary: MutationSummary,
    ) -> int:
        sequence = self._sequence.get(hook["id"], 0) + 1
        self._sequence[hook["id"]] = sequence
        payload = {
            "Action": action,
            "Guid": hook["webhookGUID"],
            "EntityType": "Ticket",
            "Id": ticket_id,
            "Fields": fields,
            "EventTime": summary.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "SequenceNumber": sequence,
            "PersonID": None,
        }
        body = json.dumps(payload, default=str).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Hook-Signature": sign(body, hook["secretKey"] or ""),
        }
        url = hook["webhookUrl"]
        try:
            response = await client.post(url, content=body, headers=headers)
        except httpx.HTTPError:
            self.deliveries.append(Delivered(url, None, body, headers))
            return 0
        self.deliveries.append(Delivered(url, response.status_code, body, headers))
        return int(200 <= response.status_code < 300)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError as exc:
        raise QueryError("The request body is not valid JSON.") from exc
    if not isinstance(value, dict):
        raise QueryError("The request body must be a JSON object.")
    return value
