"""A faithful fake Autotask PSA REST API (an ASGI app) over a sandbox world.

Behaves like the real API as its documentation and production clients describe it: zone
lookup without auth; the three auth headers (names case-insensitive); case-insensitive paths
and body keys; all 13 filter operators with nested and/or; HTTP 500 `{"errors": [...]}` for
MaxRecords outside 1..500 and unknown fields; `pageDetails` whose `nextPageUrl` must be
POSTed with the same body (GET gets 405); picklists with string values, inactive ones
included; at most `thread_limit` requests in flight per entity (beyond: the `Itgenatr005`
thread-threshold error) and `hourly_threshold` requests per rolling hour (beyond: 429), with
`ThresholdInformation` counted like any call. Switches: latency, injected faults, a zone move,
ids that start high as real tenants' do (`id_offsets`), records tampered with by hand
(`tamper`), and endpoints the tenant does not offer (`withhold`).

The world may change between syncs (`mutate_world`): the simulator re-renders when the
world's `generated_at` or sizes change, or when `refresh()` is called. Webhooks: see
`webhooks.py`; `announce(summary)` delivers a mutation's (through `delivery_transport`).
In-process (tests, benchmarks):

    simulator = create_autotask_simulator(build_world(tickets=3000))
    context = ConnectorContext(transport=simulator.transport(), limits=...)
    connector = AutotaskConnector(simulator.connector_config(), context)

Served over HTTP (a demo), the zone must name where it listens, and the source's
`zone_lookup_url` must point there too:

    app = create_autotask_simulator(world, zone_url="http://127.0.0.1:8002/ATServicesRest/")
    config: zone_lookup_url="http://127.0.0.1:8002/atservicesrest/v1.0/zoneInformation"
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from connectors.autotask.config import AutotaskConfig
from connectors.autotask.simulator import schema
from connectors.autotask.simulator.query import EntityTable, QueryError
from connectors.autotask.simulator.render import RenderedTenant, render_world, shift_ids
from connectors.autotask.simulator.responses import QueryRoute, Tampering, project
from connectors.autotask.simulator.webhooks import WebhookRegistry
from connectors.sandbox.model import SandboxWorld
from connectors.sandbox.mutate import MutationSummary, with_tickets_of_time

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

DEFAULT_ZONE_URL = "https://webservices5.autotask.net/ATServicesRest/"
THREAD_LIMIT_MESSAGE = (
    "Thread Threshold Exceeded - The Autotask API thread threshold of {limit} threads has "
    "been exceeded for this integration and entity. (Itgenatr005)"
)


@dataclass(slots=True)
class Fault:
    """An injected failure for the next `times` requests to `entity` (None: any entity)."""

    status: int
    message: str
    entity: str | None = None
    times: int = 1
    retry_after: float | None = None


@dataclass
class SimulatorStats:
    """What the simulator saw; tests and benchmarks read it (`vars(stats)` works)."""

    requests: Counter[str] = field(default_factory=Counter)  # answered, incl. faults
    rows_served: Counter[str] = field(default_factory=Counter)  # query result rows, by entity
    next_page_requests: int = 0
    max_in_flight: Counter[str] = field(default_factory=Counter)
    # (entity, other): requests to `entity` that started while `other` had one in flight.
    started_during: Counter[tuple[str, str]] = field(default_factory=Counter)
    thread_limit_rejections: Counter[str] = field(default_factory=Counter)
    hourly_rejections: int = 0
    zone_lookups: int = 0
    renders: int = 0
    bodies: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def total(self) -> int:
        return sum(self.requests.values())


class AutotaskSimulator:
    """The ASGI app. Construct through `create_autotask_simulator`."""

    def __init__(
        self,
        world: SandboxWorld,
        *,
        username: str,
        secret: str,
        integration_code: str,
        zone_url: str = DEFAULT_ZONE_URL,
        latency: float = 0.0,
        faults: list[Fault] | None = None,
        thread_limit: int = 3,
        thread_limit_status: int = 429,
        hourly_threshold: int = 10_000,
        other_integrations_usage: int = 0,
        hourly_retry_after: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        record_bodies: bool = False,
        id_offsets: Mapping[str, int] | None = None,
        delivery_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.world = world
        self.username, self.secret, self.integration_code = username, secret, integration_code
        self.zone_url = zone_url if zone_url.endswith("/") else zone_url + "/"
        self.latency = latency
        self.faults = list(faults or [])
        self.thread_limit = thread_limit
        self.thread_limit_status = thread_limit_status
        self.hourly_threshold = hourly_threshold
        self.other_integrations_usage = other_integrations_usage
        self.hourly_retry_after = hourly_retry_after
        self.record_bodies = record_bodies
        self.id_offsets = dict(id_offsets or {})
        self.tampering = Tampering()
        self.withheld: dict[str, tuple[int, str]] = {}
        self.stats = SimulatorStats()
        self._route = QueryRoute(
            zone_url=lambda: self.zone_url,
            tampering=self.tampering,
            record_body=self._record_body,
            served=self._served,
        )
        self._clock = clock
        self._stamps: deque[float] = deque()
        self._in_flight: Counter[str] = Counter()
        self._fingerprint: tuple[Any, ...] | None = None
        self._tenant: RenderedTenant | None = None
        self._tables: dict[str, EntityTable] = {}
        self.webhooks = WebhookRegistry(self._route, delivery_transport)
        self._entities = {n.lower(): n for n in (*schema.entity_names(), *self.webhooks.entities())}

    # -- switches ------------------------------------------------------------------------

    def inject(self, status: int, message: str, **kwargs: Any) -> None:
        """Fail upcoming requests (see `Fault`)."""
        self.faults.append(Fault(status, message, **kwargs))

    def move_zone(self, zone_url: str) -> None:
        """The tenant moves: requests to the old zone host now get 401."""
        self.zone_url = zone_url if zone_url.endswith("/") else zone_url + "/"

    def connector_config(self, **overrides: Any) -> AutotaskConfig:
        """A config that authenticates against this simulator (zone discovered)."""
        values: dict[str, Any] = {
            "api_username": self.username,
            "secret": self.secret,
            "integration_code": self.integration_code,
            **overrides,
        }
        return AutotaskConfig(**values)

    def transport(self) -> httpx.ASGITransport:
        """An httpx transport that sends every request (any host) to this simulator."""
        return httpx.ASGITransport(app=self)

    def refresh(self) -> None:
        """Re-render the world now (after changing records by hand)."""
        self._fingerprint = None

    def tamper(self, entity: str, row_id: int, **fields: Any) -> None:
        """Serve record `row_id` of `entity` with `fields` replaced (`responses.ABSENT`
        leaves a field out, `id` included); filters still see the true values."""
        self.tampering.set(entity, row_id, fields)

    def withhold(self, route: str, status: int = 404, message: str = "") -> None:
        """Answer `route` (e.g. `Tickets/entityInformation/fields`, any case) with `status`:
        an endpoint this tenant or the API user's security level does not offer."""
        text = message or "No HTTP resource was found that matches the request URI."
        self.withheld[route.strip("/").lower()] = (status, text)

    async def announce(self, summary: MutationSummary) -> int:
        """POST `summary`'s ticket changes to the webhooks; how many were answered 2xx."""
        self.refresh()
        summary = with_tickets_of_time(self.world, summary)
        return await self.webhooks.announce(summary, lambda: self.table("Tickets"), self.id_offsets)

    def _record_body(self, entity: str, body: dict[str, Any]) -> None:
        if self.record_bodies:
            self.stats.bodies.append((entity, body))

    def _served(self, entity: str, rows: int, next_page: bool) -> None:
        self.stats.rows_served[entity] += rows
        self.stats.next_page_requests += int(next_page)

    # -- world ---------------------------------------------------------------------------

    def _world_fingerprint(self) -> tuple[Any, ...]:
        w = self.world
        return (
            w.generated_at,
            len(w.tickets),
            len(w.time_entries),
            len(w.survey_results),
            len(w.agreements),
            len(w.clients),
            len(w.technicians),
        )

    def table(self, entity: str) -> EntityTable:
        fingerprint = self._world_fingerprint()
        if fingerprint != self._fingerprint or self._tenant is None:
            self._tenant = render_world(self.world)
            shift_ids(self._tenant, self.id_offsets)
            self._tables = {
                name: EntityTable(name, schema.entity_fields(name), rows)
                for name, rows in self._tenant.tables.items()
            }
            self._fingerprint = fingerprint
            self.stats.renders += 1
        return self._tables[entity]

    # -- ASGI ----------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
        status, payload, extra = await self._handle(
            scope["method"].upper(),
            scope["path"],
            scope.get("query_string", b"").decode(),
            headers,
            body,
        )
        data = json.dumps(payload, separators=(",", ":")).encode()
        response_headers = [
            (b"content-type", b"application/json; charset=utf-8"),
            (b"content-length", str(len(data)).encode()),
            *((k.encode(), v.encode()) for k, v in extra.items()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": data})

    async def _handle(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        lowered = path.lower().rstrip("/")
        marker = "/atservicesrest/v1.0/"
        if marker not in lowered + "/":
            return 404, {"Message": "No HTTP resource was found."}, {}
        parts = path.rstrip("/")[lowered.index(marker) + len(marker) :].split("/")
        params = {k.lower(): v[0] for k, v in parse_qs(query).items()}
        if parts[0].lower() == "zoneinformation":  # exempt from the limits, not from faults
            self.stats.zone_lookups += 1
            fault = self._fault("zoneInformation", any_entity=False)
            return fault or self._zone_information(params.get("user", ""))
        if not self._authenticated(headers):
            return 401, {"errors": ["Authentication failed for this user."]}, {}
        entity_key = parts[0].lower()
        limiter = "ThresholdInformation" if entity_key == "thresholdinformation" else None
        entity = limiter or self._entities.get(entity_key)
        if entity is None:
            return 404, {"Message": f"No HTTP resource was found for '{parts[0]}'."}, {}
        if self._in_flight[entity] >= self.thread_limit:
            self.stats.thread_limit_rejections[entity] += 1
            message = THREAD_LIMIT_MESSAGE.format(limit=self.thread_limit)
            return self.thread_limit_status, {"errors": [message]}, {}
        for other, count in self._in_flight.items():
            if count and other != entity:
                self.stats.started_during[(entity, other)] += 1
        self._in_flight[entity] += 1
        self.stats.max_in_flight[entity] = max(
            self.stats.max_in_flight[entity], self._in_flight[entity]
        )
        try:
            await asyncio.sleep(self.latency)
            over = self._over_threshold()
            if over is not None:
                return over
            self.stats.requests[entity] += 1
            self._stamps.append(self._clock())
            fault = self._fault(entity)
            if fault is not None:
                return fault
            if limiter is not None:
                return 200, self._threshold_information(), {}
            return self._entity_call(method, entity, parts[1:], params, body)
        except QueryError as exc:
            return 500, {"errors": [str(exc)]}, {}
        finally:
            self._in_flight[entity] -= 1

    def _authenticated(self, headers: dict[str, str]) -> bool:
        if urlsplit(self.zone_url).hostname != headers.get("host", "").split(":")[0]:
            return False  # the tenant's database is not in this zone
        return (
            headers.get("apiintegrationcode") == self.integration_code
            and headers.get("username") == self.username
            and headers.get("secret") == self.secret
        )

    def _zone_information(self, user: str) -> tuple[int, Any, dict[str, str]]:
        if user.lower() != self.username.lower():
            return 500, {"errors": ["Unable to find user."]}, {}
        host = urlsplit(self.zone_url).hostname or ""
        return (
            200,
            {"zoneName": "Sandbox", "url": self.zone_url, "webUrl": f"https://{host}/", "ci": 1},
            {},
        )

    def _over_threshold(self) -> tuple[int, Any, dict[str, str]] | None:
        now = self._clock()
        while self._stamps and self._stamps[0] <= now - 3600:
            self._stamps.popleft()
        if len(self._stamps) + self.other_integrations_usage < self.hourly_threshold:
            return None
        self.stats.hourly_rejections += 1
        extra = {}
        if self.hourly_retry_after is not None:
            extra["Retry-After"] = str(int(self.hourly_retry_after))
        message = f"The hourly request threshold of {self.hourly_threshold} has been exceeded."
        return 429, {"errors": [message]}, extra

    def _fault(
        self, entity: str, *, any_entity: bool = True
    ) -> tuple[int, Any, dict[str, str]] | None:
        for fault in self.faults:
            if (fault.entity is None and any_entity) or (
                fault.entity is not None and fault.entity.lower() == entity.lower()
            ):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                extra = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
                return fault.status, {"errors": [fault.message]}, extra
        return None

    def _threshold_information(self) -> dict[str, int]:
        return {
            "externalRequestThreshold": self.hourly_threshold,
            "requestThresholdTimeframe": 60,
            "currentTimeframeRequestCount": len(self._stamps) + self.other_integrations_usage,
        }

    # -- entity routes -------------------------------------------------------------------

    def _entity_call(
        self, method: str, entity: str, rest: list[str], params: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        route = [part.lower() for part in rest]
        withheld = self.withheld.get("/".join([entity.lower(), *route]))
        if withheld is not None:
            status, message = withheld
            return status, {"errors": [message]} if status != 404 else {"Message": message}, {}
        if entity in self.webhooks.entities():
            return self.webhooks.answer(method, entity, route, params, body)
        table = self.table(entity)
        if route == ["entityinformation", "fields"] and method == "GET":
            assert self._tenant is not None
            return 200, {"fields": schema.describe_fields(entity, self._tenant.world_picklists)}, {}
        if route == ["entityinformation"] and method == "GET":
            info = {"name": entity, "canCreate": False, "canDelete": False, "canQuery": True}
            return 200, {"info": {**info, "canUpdate": False, "hasUserDefinedFields": False}}, {}
        if route and route[0] == "query":
            return self._route.answer(method, table, route[1:], params, body)
        if len(route) == 1 and route[0].isdigit() and method == "GET":
            item = project(table, table.get(int(route[0])), None, self.tampering)
            return 200, {"item": item}, {}
        return 404, {"Message": "No HTTP resource was found."}, {}


def create_autotask_simulator(
    world: SandboxWorld,
    *,
    username: str = "api-northstar@sandbox.example",
    secret: str = "sandbox-secret",  # noqa: S107 - the simulator's own fake credential
    integration_code: str = "SANDBOXINTEGRATION",
    **options: Any,
) -> AutotaskSimulator:
    """An ASGI app behaving like Autotask over `world` (options: see `AutotaskSimulator`)."""
    return AutotaskSimulator(
        world, username=username, secret=secret, integration_code=integration_code, **options
    )
