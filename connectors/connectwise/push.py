"""Push for ConnectWise: callbacks (reference §6.9) registered on `/system/callbacks`.

ConnectWise POSTs `{Action, CompanyId, Entity, FromUrl, ID, MemberId, Metadata, Type}` to a
callback's `url` with the record id appended. Its `x-content-signature` is checked against a
key fetched from the payload's own `Metadata.key_url`, which proves nothing about who sent
it, so Northstar does not rely on it: the app gives `subscribe` a receiver URL carrying an
unguessable per-source token and checks that token before `parse_delivery` runs. Nothing
in a payload is trusted beyond the record's id, its type and what happened to it:
`read_records` reads the record again through the stream's own requests and enrichment.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from connectors.connectwise.api import API_ROOT, MAX_CONDITIONS_IN_URL, ConnectWiseApi, RecordGone
from connectors.connectwise.config import ConnectWiseConfig
from connectors.connectwise.enrich import Enricher
from connectors.connectwise.queries import condition_string
from connectors.connectwise.reference import ReferenceData, read_collection
from connectors.connectwise.streams import READS, STREAMS, CollectionRead
from connectors.connectwise.window_pages import PageSizer, PagingModes, fetch_window_page, record_id
from connectors.sdk import (
    Delivery,
    FactType,
    FatalError,
    Page,
    PushAction,
    PushNotice,
    PushSubscription,
    StreamMode,
)

CALLBACKS = "/system/callbacks"
# ConnectWise recommends URLs under 2,000 characters (reference §7).
MAX_URL_LENGTH = 2000
CALLBACK_FIELDS = "id,url,type,level,objectId,inactiveFlag"


@dataclass(frozen=True, slots=True)
class CallbackEntity:
    """One callback type Northstar registers: the `type` string sent to ConnectWise, the
    stream that reads its records, and other spellings a delivery's `Type` may use."""

    type: str
    stream: str
    fact_type: FactType
    also_named: tuple[str, ...] = ()

    def names(self) -> tuple[str, ...]:
        return (self.type, *self.also_named)


# The callback types, as data. "ticket" and "company" are the strings seen in practice
# (reference §6.9); "agreement" is unconfirmed (by analogy), so plural spellings are also
# accepted on deliveries.
CALLBACK_ENTITIES: tuple[CallbackEntity, ...] = (
    CallbackEntity("ticket", "tickets", FactType.TICKET, ("tickets",)),
    CallbackEntity("company", "companies", FactType.CLIENT, ("companies",)),
    CallbackEntity("agreement", "agreements", FactType.RECURRING_REVENUE, ("agreements",)),
)
# What the app deletes when a record of a stream is confirmed gone (`Pushable.push_streams`).
PUSH_STREAMS: dict[str, FactType] = {
    entity.stream: entity.fact_type for entity in CALLBACK_ENTITIES
}
_STREAM_OF_TYPE = {
    name.lower(): entity.stream for entity in CALLBACK_ENTITIES for name in entity.names()
}
_ACTIONS = {action.value: action for action in PushAction}
CALLBACK_LEVEL = "owner"
CALLBACK_OBJECT_ID = 1  # with level "owner": every record of the type (reference §6.9)


def callback_url(receiver_url: str) -> str:
    """The URL registered with ConnectWise, which appends the record id to it."""
    if receiver_url.endswith(("?", "&")):
        return receiver_url + "recordId="
    return receiver_url + ("&" if "?" in receiver_url else "?") + "recordId="


def description_of(entity: CallbackEntity) -> str:
    return f"Northstar KPI sync: {entity.type} changes"[:100]


def parse_callback(body: bytes, query: Mapping[str, str]) -> Delivery:
    """What one ConnectWise callback announces (the app has checked its URL token).

    ValueError when it is not a callback: not a JSON object, or no valid record id (taken
    from `ID`, or from the `recordId` ConnectWise appended to the URL when `ID` is absent).
    An unknown `Type` announces nothing; an unknown `Action` counts as an update.
    """
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ValueError("This is not a ConnectWise callback: its body is not JSON.") from None
    if not isinstance(payload, dict):
        raise ValueError("This is not a ConnectWise callback: its body is not a JSON object.")
    fields = {str(key).lower(): value for key, value in payload.items()}
    if "id" in fields:
        found = _valid_id(fields["id"])
    else:
        found = _valid_id(next((v for k, v in query.items() if k.lower() == "recordid"), None))
    if found is None:
        raise ValueError("This ConnectWise callback does not name a valid record id.")
    key = "cw:" + hashlib.sha256(body).hexdigest()  # no delivery id: the same body is a replay
    kind = fields.get("type")
    stream = _STREAM_OF_TYPE.get(kind.strip().lower()) if isinstance(kind, str) else None
    if stream is None:
        return Delivery(key, ())
    said = fields.get("action")
    action = _ACTIONS.get(said.strip().lower()) if isinstance(said, str) else None
    return Delivery(key, (PushNotice(stream, found, action or PushAction.UPDATED),))


def _valid_id(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value) if value > 0 else None
    if isinstance(value, str) and value.strip().isdigit() and int(value) > 0:
        return str(int(value))
    return None


class CallbackPush:
    """Callback registration and record re-reads for one tenant (see the module docstring)."""

    def __init__(
        self, api: ConnectWiseApi, reference: ReferenceData, config: ConnectWiseConfig
    ) -> None:
        self._api = api
        self._enricher = Enricher(api, reference)
        self._config = config

    async def subscribe(self, receiver_url: str) -> list[PushSubscription]:
        """One callback per entity for `receiver_url`; those already registered are reused."""
        url = callback_url(receiver_url)
        try:
            existing = await read_collection(
                self._api,
                CALLBACKS,
                fields=CALLBACK_FIELDS,
                conditions=f"url = {condition_string(url)}",
            )
        except FatalError as error:
            if error.code != "psa_http_400":
                raise
            # Whether every version filters callbacks on `url` is unconfirmed: list them all
            # (the url is compared below either way).
            existing = await read_collection(self._api, CALLBACKS, fields=CALLBACK_FIELDS)
        subscriptions: list[PushSubscription] = []
        for entity in CALLBACK_ENTITIES:
            names = {name.lower() for name in entity.names()}
            reused = next(
                (
                    row
                    for row in existing
                    if row.get("url") == url
                    and str(row.get("type", "")).lower() in names
                    # A callback ConnectWise disabled (3 days of failures) delivers nothing.
                    and row.get("inactiveFlag") is not True
                    and record_id(row) is not None
                ),
                None,
            )
            if reused is None:
                reused = await self._register(url, entity)
            subscriptions.append(PushSubscription(remote_id=str(reused["id"]), entity=entity.type))
        return subscriptions

    async def _register(self, url: str, entity: CallbackEntity) -> dict[str, Any]:
        created = await self._api.send(
            "POST",
            CALLBACKS,
            {
                "url": url,
                "type": entity.type,
                "level": CALLBACK_LEVEL,
                "objectId": CALLBACK_OBJECT_ID,
                "description": description_of(entity),
                "inactiveFlag": False,
            },
        )
        if not isinstance(created, dict) or record_id(created) is None:
            raise FatalError("ConnectWise did not say which callback it registered.")
        return created

    async def unsubscribe(self, subscriptions: Sequence[PushSubscription]) -> None:
        for subscription in subscriptions:
            remote_id = subscription.remote_id.strip()
            if not remote_id.isdigit():
                continue  # not a ConnectWise id: no such callback can exist
            try:
                await self._api.send("DELETE", f"{CALLBACKS}/{int(remote_id)}")
            except RecordGone:
                continue  # already gone

    def read_records(self, stream: str, record_ids: Sequence[str]) -> AsyncIterator[Page]:
        """The current records of `record_ids` in `stream`, read and enriched like the
        stream's own pages (ValueError for a stream that has no single records)."""
        spec = STREAMS.get(stream)
        plan = READS.get(stream)
        if (
            spec is None
            or plan is None
            or spec.mode is StreamMode.ID_SWEEP
            or plan.parent_resource is not None
        ):
            raise ValueError(f"ConnectWise cannot read single records of '{stream}'.")
        wanted = sorted({int(value) for value in record_ids if value.strip().isdigit()})
        return self._read(plan, wanted)

    async def _read(self, plan: CollectionRead, wanted: list[int]) -> AsyncIterator[Page]:
        if not wanted:
            return
        fields = ",".join(plan.fields)
        sizer = PageSizer(self._config.page_size)
        modes = PagingModes(enabled=False)  # page 1 and a moving `id >`: a handful of pages
        wanted_set = set(wanted)
        try:
            overhead = await self._url_overhead(plan.resource, fields, sizer.limit)
            for batch in id_batches(wanted, overhead, sizer.limit):
                condition = in_condition(batch)
                after = 0
                while True:
                    page = await fetch_window_page(
                        self._api,
                        plan.resource,
                        fields=fields,
                        conditions=condition,
                        after_id=after,
                        upto_id=batch[-1],
                        sizer=sizer,
                        modes=modes,
                    )
                    records = [r for r in page.records if record_id(r) in wanted_set]
                    short = await self._enricher.enrich(plan.enrichment, records)
                    if records:
                        yield Page(
                            records=records,
                            cursor={},
                            seen_ids=[str(record_id(r)) for r in records],
                            warnings=tuple(short.warnings),
                        )
                    following = page.next_after
                    if page.exhausted or following is None or following <= after:
                        break
                    after = following
        except RecordGone as gone:
            raise FatalError(str(gone), code="psa_http_404") from gone

    async def _url_overhead(self, resource: str, fields: str, page_size: int) -> int:
        """The length of a batch's URL without its `conditions` value."""
        codebase = await self._api.codebase()
        base = f"{self._config.root_url}/{codebase}/{API_ROOT}{resource}"
        params = {"pageSize": page_size, "page": 1, "fields": fields, "orderBy": "id asc"}
        return len(str(httpx.URL(base, params=params | {"conditions": ""})))


def in_condition(batch: Sequence[int]) -> str:
    return "id in (" + ",".join(str(value) for value in batch) + ")"


def _encoded(text: str) -> int:
    return len(str(httpx.QueryParams({"c": text}))) - 2


def id_batches(ids: Sequence[int], url_overhead: int, page_size: int) -> list[list[int]]:
    """`ids` (ascending) cut into batches of at most `page_size` whose `id in (...)` request,
    with the id window the pages add, stays under `MAX_URL_LENGTH` (and in the URL)."""
    if not ids:
        return []
    highest = max(ids)
    window = f" and id > {highest} and id <= {highest}"  # the longest the pages add
    room = MAX_URL_LENGTH - 1 - url_overhead - _encoded(in_condition([]) + window)
    raw_room = MAX_CONDITIONS_IN_URL - len(in_condition([]) + window)
    comma = _encoded(",")
    batches: list[list[int]] = []
    batch: list[int] = []
    used = raw_used = 0
    for value in ids:
        cost = len(str(value)) + (comma if batch else 0)
        raw_cost = len(str(value)) + (1 if batch else 0)
        if batch and (
            used + cost > room or raw_used + raw_cost > raw_room or len(batch) >= page_size
        ):
            batches.append(batch)
            batch, used, raw_used = [], 0, 0
            cost, raw_cost = len(str(value)), len(str(value))
        batch.append(value)
        used += cost
        raw_used += raw_cost
    batches.append(batch)
    return batches
