"""A faithful fake Autotask PSA REST API (an ASGI app) over a sandbox world.

Behaves like the real API per `psa-reference/autotask.md` §10.6: zone lookup without auth;
the three auth headers (names case-insensitive); case-insensitive paths and body keys;
all 13 filter operators with nested and/or; HTTP 500 `{"errors": [...]}` for MaxRecords
outside 1..500 and unknown fields; `pageDetails` whose `nextPageUrl` must be POSTed with the
same body (GET gets 405); picklists with string values, inactive ones included; at most
`thread_limit` requests in flight per entity (beyond: the `Itgenatr005` thread-threshold
error) and `hourly_threshold` requests per rolling hour (beyond: 429), with
`ThresholdInformation` counted like any call. Switches: latency, injected faults, a zone move.

The world may change between syncs (`mutate_world`): the simulator re-renders when the
world's `generated_at` or sizes change, or when `refresh()` is called.

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
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx

from connectors.autotask import simulator_schema as schema
from connectors.autotask.config import AutotaskConfig
from connectors.autotask.simulator_query import EntityTable, QueryError, Row
from connectors.autotask.simulator_render import RenderedTenant, render_world
from connectors.sandbox.model import SandboxWorld

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

DEFAULT_ZONE_URL = "https://webservices5.autotask.net/ATServicesRest/"
THREAD_LIMIT_MESSAGE = (
    "Thread Threshold Exceeded - The Autotask API thread threshold of {limit} threads has "
    "been exceeded for this integration and entity. (Itgenatr005)"
)
_UDF_ENTITIES = frozenset({"Companies", "Tickets", "Contracts"})


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
    thread_limit_rejections: Counter[str] = field(default_factory=Counter)
    hourly_rejections: int = 0
    zone_lookups: int = 0
    renders: int = 0
    bodies: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def total(self) -> int:
        return sum(self.requests.values())


def _format_datetime(value: datetime, salt: int, *, date_only: bool) -> str:
    """UTC with `Z` and 0, 2, 3 or 7 fractional digits, never losing precision."""
    micro = value.microsecond
    exact = (micro == 0, micro % 10_000 == 0, micro % 1000 == 0, True)
    digits = [d for d, ok in zip((0, 2, 3, 7), exact, strict=True) if ok or date_only]
    chosen = digits[salt % len(digits)]
    text = value.replace(microsecond=0, tzinfo=None).isoformat()
    if chosen == 7:
        text += f".{micro:06d}0"
    elif chosen:
        text += f".{micro:06d}"[: chosen + 1]
    return text + "Z"


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
        self.stats = SimulatorStats()
        self._clock = clock
        self._stamps: deque[float] = deque()
        self._in_flight: Counter[str] = Counter()
        self._fingerprint: tuple[Any, ...] | None = None
        self._tenant: RenderedTenant | None = None
        self._tables: dict[str, EntityTable] = {}
        self._entities = {name.lower(): name for name in schema.entity_names()}

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
        if parts[0].lower() == "zoneinformation":
            return self._zone_information(params.get("user", ""))
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
        self.stats.zone_lookups += 1
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

    def _fault(self, entity: str) -> tuple[int, Any, dict[str, str]] | None:
        for fault in self.faults:
            if fault.entity is None or fault.entity.lower() == entity.lower():
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
        table = self.table(entity)
        if route == ["entityinformation", "fields"] and method == "GET":
            assert self._tenant is not None
            return 200, {"fields": schema.describe_fields(entity, self._tenant.world_picklists)}, {}
        if route == ["entityinformation"] and method == "GET":
            info = {"name": entity, "canCreate": False, "canDelete": False, "canQuery": True}
            return 200, {"info": {**info, "canUpdate": False, "hasUserDefinedFields": False}}, {}
        if route and route[0] == "query":
            return self._query(method, table, route[1:], params, body)
        if len(route) == 1 and route[0].isdigit() and method == "GET":
            return 200, {"item": self._project(table, table.get(int(route[0])), None)}, {}
        return 404, {"Message": "No HTTP resource was found."}, {}

    def _query(
        self, method: str, table: EntityTable, rest: list[str], params: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        if method == "GET":
            if "search" not in params:
                if rest == ["next"]:
                    message = "The requested resource does not support http method 'GET'."
                    return 405, {"Message": message}, {}
                raise QueryError("The search parameter is required.")
            raw_query = params["search"]
        elif method == "POST":
            raw_query = body.decode() or "{}"
        else:
            return (
                405,
                {"Message": f"The requested resource does not support http method '{method}'."},
                {},
            )
        try:
            request = json.loads(raw_query)
        except ValueError as exc:
            raise QueryError("The query body is not valid JSON.") from exc
        keys = {str(k).lower(): v for k, v in request.items()} if isinstance(request, dict) else {}
        if self.record_bodies:
            self.stats.bodies.append((table.entity, dict(request)))
        items = keys.get("filter") or []
        if not isinstance(items, list):
            raise QueryError("filter must be a list.")
        if rest == ["count"]:
            return 200, {"queryCount": len(table.select(items, limit=None))}, {}
        max_records = keys.get("maxrecords", 500)
        if (
            isinstance(max_records, bool)
            or not isinstance(max_records, int)
            or not 1 <= max_records <= 500
        ):
            raise QueryError("maxCountOfRecordsToReturn must be between 1 and 500")
        include = keys.get("includefields") or None
        include_names = [table.field(name) for name in include] if include else None
        after_id: int | None = None
        first_page = rest != ["next"]
        if not first_page:
            self.stats.next_page_requests += 1
            token = json.loads(params.get("paging", "{}"))
            after_id = int(token["nextIds"][0]) - 1
        rows = table.select(items, limit=max_records + 1, after_id=after_id)
        page, more = rows[:max_records], len(rows) > max_records
        page_details = {
            "count": len(page),
            "requestCount": max_records,
            "prevPageUrl": None
            if first_page or not page
            else self._page_url(table, page[0], max_records, params, back=True),
            "nextPageUrl": self._page_url(table, rows[max_records], max_records, params)
            if more
            else None,
        }
        items_out = [self._project(table, row, include_names) for row in page]
        self.stats.rows_served[table.entity] += len(items_out)
        return 200, {"items": items_out, "pageDetails": page_details}, {}

    def _page_url(
        self, table: EntityTable, row: Row, size: int, params: dict[str, str], *, back: bool = False
    ) -> str:
        token = {
            "pageSize": size,
            "previousIds": [] if not back else [row[0]],
            "nextIds": [] if back else [row[0]],
        }
        direction = "prev" if back else "next"
        url = f"{self.zone_url}V1.0/{table.entity}/query/{direction}"
        url += f"?paging={quote(json.dumps(token))}"
        if "search" in params:
            url += f"&search={quote(params['search'])}"
        return url

    def _project(self, table: EntityTable, row: Row | None, include: list[str] | None) -> Any:
        if row is None:
            return None
        names = ["id", *(n for n in include if n != "id")] if include else list(table.fields)
        salt = int(row[0])
        out = table.as_dict(row, names)
        for offset, name in enumerate(names):
            value = out[name]
            if isinstance(value, datetime):
                date_only = table.fields[name] == "date"
                out[name] = _format_datetime(value, salt + offset, date_only=date_only)
            elif isinstance(value, date):
                out[name] = value.isoformat() + "T00:00:00Z"
        if table.entity in _UDF_ENTITIES:
            out["userDefinedFields"] = []
        return out


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
