"""Push for Autotask: REST webhooks on Tickets and Companies (`connectors.sdk.Pushable`).

`subscribe` registers one `TicketWebhooks` and one `CompanyWebhooks` webhook for the
receiver URL (reusing those already registered for it, brought up to date), each watching
the fields normalisation reads (`webhook_fields.py`). Autotask signs every delivery:
`X-Hook-Signature` is the base64 HMAC-SHA1 of the raw body keyed with the webhook's
`SecretKey`. `read_records` reads the announced records by id through the stream's own
fields and enrichment. Every request goes through the connector's `AutotaskApi` (budget,
retries, zone, thread and tenant limits), like its reads.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from connectors.autotask.api import AutotaskApi
from connectors.autotask.config import AutotaskConfig
from connectors.autotask.enrich import PageEnricher
from connectors.autotask.fields import id_of, int_or_none
from connectors.autotask.query import MAX_RECORDS, condition, query_body
from connectors.autotask.related import distinct_ids
from connectors.autotask.streams import COMPANIES, QUERIES, TICKETS
from connectors.autotask.webhook_fields import (
    COMPANY_WEBHOOKS,
    TICKET_WEBHOOKS,
    fields_entity,
    resolve_field_ids,
)
from connectors.sdk import ConfigError, FactType, FatalError, Page
from connectors.sdk.push import Delivery, DeliveryRefused, PushAction, PushNotice, PushSubscription

WEBHOOK_ENTITIES = {TICKETS: TICKET_WEBHOOKS, COMPANIES: COMPANY_WEBHOOKS}
WEBHOOK_NAMES = {TICKET_WEBHOOKS: "Northstar tickets", COMPANY_WEBHOOKS: "Northstar companies"}
# Autotask's limits on the webhook's fields.
MAX_URL, MAX_SECRET = 500, 64
SIGNATURE_HEADER = "x-hook-signature"
# Added to the receiver URL to make the DeactivationUrl: Autotask calls it when it turns the
# webhook off (after repeated failed deliveries), a call that names no record.
DEACTIVATED_MARK = "deactivated"
# `EntityType` as deliveries name it; Companies were "Account" in Autotask's older API and
# third-party guides show both, so both are read.
_STREAM_OF_ENTITY = {"ticket": TICKETS, "tickets": TICKETS, "company": COMPANIES}
_STREAM_OF_ENTITY |= {"companies": COMPANIES, "account": COMPANIES}
_ACTIONS = {"create": PushAction.ADDED, "update": PushAction.UPDATED, "delete": PushAction.DELETED}
# How Autotask answers a DELETE of a webhook it no longer has is undocumented: a 404, or a
# 500 whose text says the record is not there.
_GONE_MARKERS = ("not found", "does not exist", "no longer exists", "unable to find")


def deactivation_url(receiver_url: str) -> str:
    """`receiver_url` with `deactivated=1` added to its query (kept if it has one)."""
    parts = urlsplit(receiver_url)
    query = f"{parts.query}&{DEACTIVATED_MARK}=1" if parts.query else f"{DEACTIVATED_MARK}=1"
    return urlunsplit(parts._replace(query=query))


def signature_of(body: bytes, secret: str) -> str:
    """Autotask's `X-Hook-Signature` for `body`: base64(HMAC-SHA1(secret, body))."""
    digest = hmac.new(secret.encode(), body, hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _field(row: Mapping[str, Any], name: str) -> Any:
    """A field of an Autotask answer or delivery, whatever the case of its key (REST
    answers are camelCase, deliveries and the help's examples PascalCase)."""
    if name in row:
        return row[name]
    lowered = name.lower()
    return next((v for k, v in row.items() if str(k).lower() == lowered), None)


def _verify(body: bytes, headers: Mapping[str, str], secret: str) -> None:
    given = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER), None)
    if not given or not given.strip():
        raise DeliveryRefused("The Autotask delivery carries no X-Hook-Signature.")
    text = given.strip()
    # Some integration guides show the signature as "sha1=<signature>": both are read.
    if text[:5].lower() == "sha1=":
        text = text[5:]
    digest = hmac.new(secret.encode(), body, hashlib.sha1).digest()
    # Base64 is what Autotask's help describes; a hex digest (what other PSAs send) is
    # accepted too: it proves the same key.
    if not (
        hmac.compare_digest(text.encode(), base64.b64encode(digest))
        or hmac.compare_digest(text.lower().encode(), digest.hex().encode())
    ):
        raise DeliveryRefused("The Autotask delivery's X-Hook-Signature does not match.")


def _delivery_key(payload: Mapping[str, Any], body: bytes) -> str:
    guid, sequence = _field(payload, "Guid"), _field(payload, "SequenceNumber")
    if guid not in (None, "") and sequence not in (None, ""):
        return f"at:{guid}:{sequence}"
    return "at:" + hashlib.sha256(body).hexdigest()


def _is_gone(exc: FatalError) -> bool:
    return exc.code == "psa_http_404" or (
        exc.code == "psa_http_500" and any(m in exc.message.lower() for m in _GONE_MARKERS)
    )


class AutotaskPush:
    """The `Pushable` half of `AutotaskConnector` (a mixin: it uses the connector's `api`,
    `config` and `enricher`)."""

    push_streams: ClassVar[Mapping[str, FactType]] = MappingProxyType(
        {TICKETS: FactType.TICKET, COMPANIES: FactType.CLIENT}
    )
    api: AutotaskApi
    config: AutotaskConfig
    enricher: PageEnricher

    async def subscribe(self, receiver_url: str, secret: str) -> list[PushSubscription]:
        """One webhook per entity for `receiver_url`, signing with `secret` (see module)."""
        deactivation = deactivation_url(receiver_url)
        if len(deactivation) > MAX_URL:
            raise ConfigError(
                f"Northstar's address for Autotask webhooks is longer than the {MAX_URL} "
                "characters Autotask allows: use a shorter public address."
            )
        if len(secret) > MAX_SECRET:
            raise ConfigError(
                f"Autotask takes a webhook secret of at most {MAX_SECRET} characters."
            )
        settings = {
            "WebhookUrl": receiver_url,
            "DeactivationUrl": deactivation,
            "SecretKey": secret,
            "IsActive": True,
            "IsSubscribedToCreateEvents": True,
            "IsSubscribedToUpdateEvents": True,
            "IsSubscribedToDeleteEvents": True,
            "SendThresholdExceededNotification": False,
        }
        subscriptions = []
        for entity in (TICKET_WEBHOOKS, COMPANY_WEBHOOKS):
            # The fields first: no webhook is left registered without any.
            field_ids = await self._field_ids(entity)
            mine = [
                w for w in await self._webhooks(entity) if _field(w, "webhookUrl") == receiver_url
            ]
            if mine:  # reused, with this secret and these settings (the secret may be new)
                webhook_id = min(i for i in (id_of(w) for w in mine) if i is not None)
                await self.api.call_json(
                    "PATCH", entity, entity=entity, json={"id": webhook_id, **settings}
                )
            else:
                body = {"Name": WEBHOOK_NAMES[entity], **settings}
                created = await self.api.call_json("POST", entity, entity=entity, json=body)
                webhook_id = _created_id(entity, created)
            await self._ensure_fields(entity, webhook_id, field_ids)
            subscriptions.append(PushSubscription(f"{entity}:{webhook_id}", entity))
        return subscriptions

    async def unsubscribe(self, subscriptions: Sequence[PushSubscription]) -> None:
        """Delete each webhook; one Autotask no longer has is skipped."""
        for subscription in subscriptions:
            webhook_id = int_or_none(subscription.remote_id.rpartition(":")[2])
            if webhook_id is None:
                raise ValueError(f"not an Autotask webhook subscription: {subscription!r}")
            entity = subscription.entity
            try:
                await self.api.call_json("DELETE", f"{entity}/{webhook_id}", entity=entity)
            except FatalError as exc:
                if not _is_gone(exc):
                    raise

    def parse_delivery(
        self,
        body: bytes,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        secret: str,
    ) -> Delivery:
        """Authenticate one webhook call, then read its entity, action and id.

        Every call must be signed, the deactivation call included: it is answered with no
        notices, and nothing unauthenticated is acted on (whether Autotask signs it is
        undocumented; refusing an unsigned one only costs Autotask a 401)."""
        _verify(body, headers, secret)
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise ValueError("The Autotask delivery is not JSON.") from exc
        if not isinstance(payload, dict):
            raise ValueError("The Autotask delivery is not a JSON object.")
        key = _delivery_key(payload, body)
        if any(k.lower() == DEACTIVATED_MARK for k in query):
            return Delivery(key, (), deactivated=True)
        stream = _STREAM_OF_ENTITY.get(str(_field(payload, "EntityType") or "").lower())
        if stream is None:
            return Delivery(key, ())
        action_text = _field(payload, "Action")
        if not action_text:
            raise ValueError("The Autotask delivery names no Action.")
        # An action not documented is read as an update: the record is read again either
        # way, and only an announced deletion deletes a fact.
        action = _ACTIONS.get(str(action_text).lower(), PushAction.UPDATED)
        record_id = int_or_none(_field(payload, "Id"))
        if record_id is None or record_id <= 0:
            raise ValueError("The Autotask delivery names no record id.")
        return Delivery(key, (PushNotice(stream, str(record_id), action),))

    async def read_records(self, stream: str, record_ids: Sequence[str]) -> AsyncIterator[Page]:
        """The records of `record_ids` by `id in [...]`, 500 ids a query (the most values
        Autotask ORs, and its page size: one page a batch), enriched like the stream's
        pages. Ids that are not whole numbers cannot exist in Autotask: never asked."""
        if stream not in self.push_streams:
            raise ValueError(f"Autotask pushes no stream named {stream!r}.")
        query = QUERIES[stream]
        wanted = distinct_ids(record_ids)
        if not wanted:
            return
        await self.api.note_tenant_usage()
        for start in range(0, len(wanted), MAX_RECORDS):
            batch = wanted[start : start + MAX_RECORDS]
            filters = [*query.fixed_filters, condition("in", "id", batch)]
            body = query_body(filters, include_fields=query.include_fields, after_id=None)
            records = await self.api.query(query.entity, body)
            enriched = await self.enricher.enrich(stream, records)
            yield Page(
                records=enriched.records,
                cursor={},
                seen_ids=[str(i) for i in (id_of(r) for r in records) if i is not None],
                warnings=enriched.warnings,
            )

    async def _webhooks(self, entity: str) -> list[dict[str, Any]]:
        """Every webhook of `entity` (few: walked by id). Matched by URL here, not in the
        filter: whether `WebhookUrl` is queryable is undocumented."""
        rows: list[dict[str, Any]] = []
        after: int | None = None
        while True:
            body = query_body([], include_fields=("webhookUrl", "isActive"), after_id=after)
            page = await self.api.query(entity, body)
            rows.extend(page)
            last = max((i for i in (id_of(r) for r in page) if i is not None), default=None)
            if len(page) < MAX_RECORDS or last is None or (after is not None and last <= after):
                return rows
            after = last

    async def _field_ids(self, entity: str) -> list[int]:
        configured = self.config.webhook_field_ids.get(entity, frozenset())
        child = fields_entity(entity)
        refused: Exception | None = None
        try:
            info = await self.api.entity_fields(child)
        except (FatalError, ConfigError) as exc:  # an API user or tenant without webhooks
            info, refused = [], exc
        ids = resolve_field_ids(entity, info, configured)
        if not ids:
            raise ConfigError(
                f"Autotask did not name any field its {entity} can watch that Northstar "
                "reads, so it cannot be told of changes: syncing goes on by polling. The "
                "field ids can be listed in the source's settings (webhook_field_ids)."
            ) from refused
        return ids

    async def _ensure_fields(self, entity: str, webhook_id: int, field_ids: Sequence[int]) -> None:
        """Subscribe the webhook to each field it does not watch yet."""
        child = fields_entity(entity)
        body = query_body(
            [condition("eq", "webhookID", webhook_id)],
            include_fields=("fieldID", "isSubscribedField"),
            after_id=None,
        )
        try:
            rows = await self.api.query(child, body)
        except FatalError as exc:
            if not _is_gone(exc):
                raise
            rows = []
        watched = {
            int_or_none(_field(r, "fieldID")) for r in rows if _field(r, "isSubscribedField")
        }
        for field_id in field_ids:
            if field_id in watched:
                continue
            row = {
                "WebhookID": webhook_id,
                "FieldID": field_id,
                "IsSubscribedField": True,
                "IsDisplayAlwaysField": False,
            }
            await self.api.call_json(
                "POST", f"{entity}/{webhook_id}/Fields", entity=child, json=row
            )


def _created_id(entity: str, answer: Any) -> int:
    """The id a create answers: `{"itemId": n}` (Autotask's REST shape), or an `item`."""
    if isinstance(answer, dict):
        item = _field(answer, "item")
        found = int_or_none(_field(answer, "itemId"))
        if found is None and isinstance(item, dict):
            found = id_of(item)
        if found is not None:
            return found
    raise FatalError(
        f"Autotask answered the creation of a {entity} webhook without its id.",
        code="autotask_unexpected_response",
    )
