"""A fake PSA and its connector, for testing the spine without a real vendor.

`FakePsaApi` pages on the server side like the real PSAs (keyset on id, a changed-since
filter, a page-size limit) and can misbehave on demand (401, 429 with Retry-After, 500,
junk JSON). `FakeConnector` is a complete connector over the SDK's `VendorClient`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, ClassVar

import httpx
import respx
from pydantic import BaseModel, SecretStr
from source_checks import check_source

from app.api.context import ServiceContext
from app.db import Database, utcnow
from app.ingest.history import record_history_from
from app.ingest.models import SyncCursor
from app.sources.service import create_source
from connectors.sdk import (
    ClientFact,
    ConnectorContext,
    Cursor,
    Deletion,
    FactOrDeletion,
    FactType,
    Page,
    Record,
    RecordRejected,
    StreamMode,
    StreamSpec,
    SyncInterval,
    TicketFact,
    VendorClient,
    sweep_id_range,
)

BASE_URL = "https://fake-psa.test/api"
TOKEN = "fake-psa-token-7f3a9c"
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@dataclass
class FakePsaApi:
    """The vendor side. `records[stream]` are dicts with `id` and `updated`."""

    token: str
    max_page_size: int = 50
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Responses to send before serving normally: (status, headers, body text).
    faults: list[tuple[int, dict[str, str], str]] = field(default_factory=list)
    requests: int = 0
    seen_auth: list[str] = field(default_factory=list)
    # Concurrency bookkeeping for lock tests.
    active_reads: int = 0
    max_active_reads: int = 0
    read_delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def transport(self) -> httpx.MockTransport:
        router = respx.Router(assert_all_called=False)
        host = httpx.URL(BASE_URL).host
        router.get(host=host, path="/api/ping").mock(side_effect=self._ping)
        router.get(host=host, path__regex=r"^/api/(?P<stream>\w+)$").mock(side_effect=self._list)
        return httpx.MockTransport(router.async_handler)

    def _fault_or_auth(self, request: httpx.Request) -> httpx.Response | None:
        self.requests += 1
        self.seen_auth.append(request.headers.get("Authorization", ""))
        if self.faults:
            status, headers, body = self.faults.pop(0)
            return httpx.Response(status, headers=headers, text=body)
        if request.headers.get("Authorization") != f"Token {self.token}":
            return httpx.Response(401, json={"message": "Invalid API token for this tenant."})
        return None

    def _ping(self, request: httpx.Request) -> httpx.Response:
        return self._fault_or_auth(request) or httpx.Response(200, json={"ok": True})

    async def _list(self, request: httpx.Request, stream: str) -> httpx.Response:
        problem = self._fault_or_auth(request)
        if problem is not None:
            return problem
        with self.lock:
            self.active_reads += 1
            self.max_active_reads = max(self.max_active_reads, self.active_reads)
        try:
            if self.read_delay:
                await asyncio.sleep(self.read_delay)
            params = request.url.params
            after = int(params.get("after", "0"))
            since = params.get("since")
            limit = min(int(params.get("limit", "50")), self.max_page_size)
            rows = sorted(self.records.get(stream, []), key=lambda r: r["id"])
            rows = [r for r in rows if r["id"] > after]
            if "below" in params:
                rows = [r for r in rows if r["id"] < int(params["below"])]
            if since:
                rows = [r for r in rows if (r.get("updated") or "") >= since]
            if params.get("fields") == "id":
                return httpx.Response(200, json=[{"id": r["id"]} for r in rows[:limit]])
            return httpx.Response(200, json=rows[:limit])
        finally:
            with self.lock:
                self.active_reads -= 1


class FakeConfig(BaseModel):
    base_url: str = BASE_URL
    api_token: SecretStr
    page_size: int = 10
    crash_after_pages: int | None = None


@dataclass
class FakeWorld:
    """The fake APIs behind each token, so a connector built by the runner finds its PSA."""

    apis: dict[str, FakePsaApi] = field(default_factory=dict)

    def transport_for(self, _source: Any) -> httpx.AsyncBaseTransport:
        world = self

        class _Dispatch(httpx.AsyncBaseTransport):
            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                token = request.headers.get("Authorization", "").removeprefix("Token ")
                api = world.apis.get(token) or next(iter(world.apis.values()))
                response = await api.transport().handle_async_request(request)
                return response

        return _Dispatch()


class FakeConnector:
    kind: ClassVar[str] = "fakepsa"
    display_name: ClassVar[str] = "Fake PSA"
    config_model: ClassVar[type[BaseModel]] = FakeConfig
    streams: ClassVar[dict[str, StreamSpec]] = {
        "clients": StreamSpec(
            name="clients",
            path="/clients",
            produces=(FactType.CLIENT,),
            cursor_field="updated",
            interval=SyncInterval.SLOW,
        ),
        "tickets": StreamSpec(
            name="tickets",
            path="/tickets",
            produces=(FactType.TICKET,),
            cursor_field="updated",
        ),
        "ticket_sweep": StreamSpec(
            name="ticket_sweep",
            path="/tickets",
            mode=StreamMode.ID_SWEEP,
            sweeps=FactType.TICKET,
            interval=SyncInterval.SLOW,
        ),
    }

    def __init__(self, config: FakeConfig, context: ConnectorContext) -> None:
        self.config = config
        self.context = context
        self.client = VendorClient(
            base_url=config.base_url,
            limits=context.limits,
            headers={"Authorization": f"Token {config.api_token.get_secret_value()}"},
            transport=context.transport,
            vendor="Fake PSA",
        )

    async def check(self) -> None:
        await self.client.request_json("GET", "/ping")

    async def read(
        self, stream: str, cursor: Cursor | None, *, since: datetime | None = None
    ) -> AsyncIterator[Page]:
        spec = self.streams[stream]
        now = self.context.now or datetime.now(UTC)
        state = dict(cursor or {})
        # An id sweep may be asked for one slice of the ids, `low <= id < high`.
        low, high = sweep_id_range(cursor) if spec.mode is StreamMode.ID_SWEEP else (None, None)
        if "pass_started" not in state:  # a new pass from the last watermark
            state = {
                "pass_since": state.get("next_since") or (since.isoformat() if since else None),
                "pass_started": now.isoformat(),
                "last_id": 0 if low is None else low - 1,
            }
        pages = 0
        while True:
            params: dict[str, Any] = {"after": state["last_id"], "limit": self.config.page_size}
            if spec.mode is StreamMode.ID_SWEEP:
                params["fields"] = "id"
                if high is not None:
                    params["below"] = high
            elif state["pass_since"]:
                params["since"] = state["pass_since"]
            rows = await self.client.request_json("GET", spec.path, params=params)
            if not rows:
                break
            state = {**state, "last_id": rows[-1]["id"]}
            done = len(rows) < self.config.page_size
            next_cursor: dict[str, Any] = state
            if done:
                lookback = datetime.fromisoformat(state["pass_started"]) - self.context.lookback
                next_cursor = {"next_since": lookback.isoformat()}
            if spec.mode is StreamMode.ID_SWEEP:
                yield Page(records=[], cursor=next_cursor, seen_ids=[str(r["id"]) for r in rows])
            else:
                yield Page(records=rows, cursor=next_cursor)
            pages += 1
            if self.config.crash_after_pages is not None and pages >= self.config.crash_after_pages:
                raise RuntimeError("injected crash")
            if done:
                break

    def normalize(self, stream: str, record: Record) -> list[FactOrDeletion]:
        if stream == "clients":
            if record.get("deleted"):
                return [Deletion(FactType.CLIENT, str(record["id"]))]
            return [ClientFact(external_id=str(record["id"]), name=record["name"])]
        if stream == "tickets":
            if record.get("merged"):
                return [Deletion(FactType.TICKET, str(record["id"]))]
            if not record.get("created"):
                raise RecordRejected("created", "missing")
            return [
                TicketFact(
                    external_id=str(record["id"]),
                    created_at=datetime.fromisoformat(record["created"]),
                    title=record.get("title"),
                    client_external_id=record.get("client"),
                    is_closed=bool(record.get("closed")),
                    updated_at=datetime.fromisoformat(record["updated"]),
                )
            ]
        return []

    async def aclose(self) -> None:
        await self.client.aclose()


def make_tickets(count: int, *, start_id: int = 1, updated: datetime = T0) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "title": f"Printer on floor {i % 7} is jammed",
            "client": str(100 + i % 5),
            "created": (T0 - timedelta(days=i % 30)).isoformat(),
            "updated": updated.isoformat(),
            "closed": i % 3 == 0,
        }
        for i in range(start_id, start_id + count)
    ]


def make_clients(count: int) -> list[dict[str, Any]]:
    return [{"id": 100 + i, "name": f"Client {i}", "updated": T0.isoformat()} for i in range(count)]


@dataclass
class FakeSetup:
    context: ServiceContext
    api: FakePsaApi
    source_id: int


def add_fake_source(context: ServiceContext, name: str = "Fake PSA", **config: object) -> int:
    """A fake source added as the API adds one: created, then checked (so `active`)."""
    with context.db.session() as session:
        source_id = create_source(
            session,
            context.cipher,
            name=name,
            kind="fakepsa",
            config={"api_token": TOKEN, **config},
            fast_interval_minutes=5,
            slow_interval_minutes=60,
        ).id
    check_source(context, source_id)
    return source_id


def mark_synced(
    db: Database,
    source_id: int,
    *,
    since: date | None,
    tz: tzinfo,
    streams: Sequence[str] | None = None,
) -> None:
    """Record that every stream of a fake source was read from `since` (None: whole) and
    synced just now, as a sync would, and work out the source's `history_from`."""
    names = list(streams or FakeConnector.streams)
    with db.session() as session:
        for name in names:
            state = session.get(SyncCursor, (source_id, name)) or SyncCursor(
                source_id=source_id, stream=name
            )
            state.history_read, state.history_since = True, since
            state.last_success_at = utcnow()
            session.add(state)
        session.flush()
        record_history_from(session, source_id, names, tz)
