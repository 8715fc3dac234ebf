"""A built-in ConnectWise PSA simulator: an ASGI app serving a sandbox world.

It behaves like the real API as far as reference §9 describes it: Basic auth
`company+public:private` plus a `clientId` header, `/login/companyinfo/{company}` without
auth, the `/{codebase}/apis/3.0` tree, bare JSON arrays, `page`/`pageSize` (default 25,
max 1,000), `Link` headers, forward-only paging, `/count`, a real `conditions` parser,
`fields`, `orderBy`, and `POST .../search`, and a `Date` header on every answer.
`SimulatorFaults` switches on latency, 429s, database timeouts (by page size, or by request
number per resource), 5xx, refused credentials, junk JSON, resources that answer 404/403, and
records broken at the source. `SimulatorBehaviour` picks among unconfirmed vendor behaviours
(forward-only support, the last forward-only `Link`, ...) and sets the PSA's clock offset.
Tests change the world between syncs with `mutate_world` on the same object; the simulator
follows (see `simulator_render`). `log` lists every API request for request-count tests.

Callbacks (`/system/callbacks`) are registered like on a tenant, and `announce` delivers a
mutation's changes to them (see `simulator_callbacks`); `delivery_transport` carries those
deliveries (None: the real network).

Use: `httpx.ASGITransport(app=create_connectwise_simulator(world))`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import email.utils
import json
import re
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx

from connectors.connectwise.simulator_callbacks import CallbackRegistry, changes_of
from connectors.connectwise.simulator_catalog import API_VERSION
from connectors.connectwise.simulator_conditions import QueryError
from connectors.connectwise.simulator_paging import (
    Pager,
    Response,
    SimulatorBehaviour,
    SimulatorFaults,
    error_response,
)
from connectors.connectwise.simulator_render import WorldRenderer
from connectors.connectwise.simulator_routes import CollectionRoutes, detail
from connectors.sandbox.model import SandboxWorld
from connectors.sandbox.mutate import MutationSummary, with_tickets_of_time

__all__ = [
    "ConnectWiseSimulator",
    "LoggedRequest",
    "SimulatorBehaviour",
    "SimulatorFaults",
    "create_connectwise_simulator",
]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


_ID_SEGMENT = re.compile(r"/\d+(?=/|$)")
TIMEOUT_TEXT = "Execution Timeout Expired. The timeout period elapsed."


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """One API request: method, resource pattern (`/service/tickets/{id}`), query parameters
    (names lower-cased) and whether it asked for forward-only paging."""

    method: str
    resource: str
    params: dict[str, str]
    forward_only: bool


class ConnectWiseSimulator:
    """The ASGI app. `requests` counts requests per method and path pattern.

    `clock` is the true time (default: the world's `generated_at`, the moment of its latest
    change); the PSA's own clock is that plus `behaviour.clock_offset`.
    """

    def __init__(
        self,
        world: SandboxWorld,
        *,
        company_id: str,
        public_key: str,
        private_key: str,
        client_id: str,
        codebase: str,
        faults: SimulatorFaults | None = None,
        behaviour: SimulatorBehaviour | None = None,
        delivery_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.world = world
        self.company_id = company_id
        self.codebase = codebase.strip("/")
        self.faults = faults or SimulatorFaults()
        self.behaviour = behaviour or SimulatorBehaviour()
        self._credentials = f"{company_id}+{public_key}:{private_key}"
        self._client_id = client_id
        self.render = WorldRenderer(world)
        self.routes = CollectionRoutes(
            self.render, self.faults, lambda: self.behaviour.clock_offset
        )
        self.clock: Callable[[], datetime] = lambda: world.generated_at
        self.requests: Counter[str] = Counter()
        self._served: Counter[str] = Counter()  # requests per resource pattern, for faults
        self.log: list[LoggedRequest] = []  # every API request, in order
        self.in_flight = 0
        self.max_in_flight = 0  # most requests in flight at once (with `faults.latency`)
        self.api_requests = 0
        self.last_headers: dict[str, str] = {}
        self._scheme = "https"
        # The headers of the latest request per counted path ("GET /service/tickets").
        self.headers_by_path: dict[str, dict[str, str]] = {}
        self.callbacks = CallbackRegistry(now=self.psa_now, transport=delivery_transport)

    def _pager(self) -> Pager:
        host = self.last_headers.get("host", "api-na.myconnectwise.net")
        return Pager(self.behaviour, self.faults, self.codebase, f"{self._scheme}://{host}")

    def invalidate(self) -> None:
        """Forget derived state after editing the world by hand (`mutate_world` needs none)."""
        self.render.invalidate()

    def psa_now(self) -> datetime:
        """The PSA server's clock (what its `Date` headers say)."""
        return self.clock() + self.behaviour.clock_offset

    async def announce(self, summary: MutationSummary) -> int:
        """POST `summary`'s changed tickets and cancelled agreements to the registered
        callbacks, as ConnectWise does (`callbacks.deliveries` lists each attempt); how many
        deliveries were answered 2xx."""
        self.invalidate()  # the world may have been edited by hand too: render it afresh
        origin = self._pager().origin
        changes = changes_of(with_tickets_of_time(self.world, summary))
        return await self.callbacks.announce(
            changes, self.routes.record, self.company_id, origin, self.codebase
        )

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    def requests_to(self, resource: str) -> int:
        """Requests (any method, incl. /count and /search) under an API resource path."""
        prefix = resource.lower().rstrip("/")
        return sum(
            count
            for key, count in self.requests.items()
            if key.split(" ", 1)[1].lower().startswith(prefix)
        )

    # -- ASGI -----------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.faults.latency:
                await asyncio.sleep(self.faults.latency)
        finally:
            self.in_flight -= 1
        self._scheme = str(scope.get("scheme") or "https")
        response = self.handle(
            scope["method"], scope["path"], scope.get("query_string", b"").decode(), headers, body
        )
        payload = response.raw if response.raw is not None else json.dumps(response.body).encode()
        date = email.utils.format_datetime(self.psa_now().astimezone(UTC), usegmt=True)
        out_headers = [(b"content-type", b"application/json; charset=utf-8")]
        out_headers.append((b"date", date.encode()))
        out_headers += [(k.encode(), v.encode()) for k, v in response.headers.items()]
        await send(
            {"type": "http.response.start", "status": response.status, "headers": out_headers}
        )
        await send({"type": "http.response.body", "body": payload})

    # -- dispatch -------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> Response:
        self.last_headers = headers
        if path.lower().startswith("/login/companyinfo/"):
            self.requests[f"{method} /login/companyinfo"] += 1
            self.headers_by_path[f"{method} /login/companyinfo"] = headers
            return self._company_info(path.split("/")[-1])
        if path.lower() == f"/{self.codebase}/callback/key":
            return Response(200, self.callbacks.key_answer())  # what Metadata.key_url says
        match = re.match(r"^/([^/]+)/apis/3\.0(/.*)$", path)
        if match is None:
            self.requests[f"{method} {path}"] += 1
            return error_response(404, "NotFound", "The resource cannot be found.")
        codebase, resource = match.group(1), match.group(2).rstrip("/")
        pattern = _ID_SEGMENT.sub("/{id}", resource)
        counted = f"{method} {pattern}"
        self.requests[counted] += 1
        self.headers_by_path[counted] = headers
        forward_only = headers.get("pagination-type", "").lower() == "forward-only"
        params = {k.lower(): v for k, v in parse_qsl(query, keep_blank_values=True)}
        self.log.append(LoggedRequest(method, pattern, params, forward_only))
        allowed = {self.codebase}
        if self.behaviour.accept_release_codebase:
            allowed.add("v4_6_release")
        if codebase not in allowed:
            return error_response(404, "NotFound", "The resource cannot be found.")
        refused = self._check_auth(headers)
        if refused is not None:
            return refused
        self.api_requests += 1
        fault = self._fault() or self._resource_fault(pattern)
        if fault is not None:
            return fault
        try:
            return self._route(method, resource, params, headers, body, query)
        except QueryError as error:
            return error_response(400, "InvalidObject", str(error))

    def _company_info(self, company: str) -> Response:
        if company.lower() != self.company_id.lower():
            return Response(200, None)
        return Response(
            200,
            {
                "CompanyName": self.world.msp_name,
                "Codebase": f"{self.codebase}/",
                "VersionCode": "v" + API_VERSION,
                "VersionNumber": "v4.6.0",
                "CompanyID": self.company_id,
                "IsCloud": True,
            },
        )

    def _check_auth(self, headers: dict[str, str]) -> Response | None:
        if self.faults.refuse_credentials:
            return error_response(401, "ConnectWiseApi", "UserNotAuthenticated")
        authorization = headers.get("authorization", "")
        try:
            scheme, _, token = authorization.partition(" ")
            decoded = base64.b64decode(token, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            decoded, scheme = "", ""
        if scheme.lower() != "basic" or decoded != self._credentials:
            return error_response(401, "ConnectWiseApi", "UserNotAuthenticated")
        if headers.get("clientid") != self._client_id:
            status = self.behaviour.missing_client_id_status
            return error_response(status, "Unauthorized", "A valid clientId header is required.")
        return None

    def _fault(self) -> Response | None:
        faults, number = self.faults, self.api_requests
        if faults.rate_limit_every and number % faults.rate_limit_every == 0:
            seconds = faults.retry_after_seconds
            return Response(
                429,
                {
                    "error": "ConnectWiseAPI",
                    "message": f"Too many requests. Please try again in {seconds} seconds.",
                },
                {"Retry-After": str(seconds)},
            )
        if faults.server_error_every and number % faults.server_error_every == 0:
            return error_response(
                503, "ServiceUnavailable", "The service is temporarily unavailable."
            )
        if faults.junk_json_every and number % faults.junk_json_every == 0:
            return Response(200, None, raw=b'[{"id": 1, "summ')
        return None

    def _resource_fault(self, pattern: str) -> Response | None:
        """The faults set for one resource: unavailable, or a timeout on this request."""
        key = next((k for k in self.faults.unavailable if k.lower() == pattern.lower()), None)
        if key is not None:
            status = self.faults.unavailable[key]
            code = "NotFound" if status == 404 else "Forbidden"
            return error_response(status, code, f"{pattern} is not available.")
        self._served[pattern.lower()] += 1
        planned = {k.lower(): v for k, v in self.faults.timeouts.items()}.get(pattern.lower())
        if planned and self._served[pattern.lower()] in planned:
            return error_response(500, "UnexpectedError", TIMEOUT_TEXT)
        return None

    def _route(
        self,
        method: str,
        resource: str,
        params: dict[str, str],
        headers: dict[str, str],
        body: bytes,
        query: str,
    ) -> Response:
        lowered = resource.lower()
        if lowered == "/system/info":
            return Response(
                200, {"version": "v" + API_VERSION, "isCloud": True, "serverTimeZone": "UTC"}
            )
        pager = self._pager()
        answer = self.callbacks.route(
            method,
            lowered,
            params,
            body,
            pager,
            lambda rows: pager.list_page(rows, params, headers, resource, query),
        )
        if answer is not None:
            return answer
        tail: str | None = None
        base = lowered
        tail_match = re.match(r"^(.*)/(count|search|\d+)$", lowered)
        if tail_match is not None and self.routes.collection(tail_match.group(1)) is not None:
            base, tail = tail_match.group(1), tail_match.group(2)
        collection = self.routes.collection(base)
        if collection is None:
            return error_response(404, "NotFound", f"{resource} was not found.")
        if tail is not None and tail.isdigit():
            return detail(collection, int(tail), resource)
        if tail == "search":
            if method != "POST":
                return error_response(405, "MethodNotAllowed", "Use POST for search.")
            try:
                filters = json.loads(body or b"{}")
            except ValueError:
                return error_response(400, "InvalidObject", "The request body is not valid JSON.")
            for key, value in (filters or {}).items():
                if isinstance(value, str):
                    params[key.lower()] = value
        elif method != "GET":
            return error_response(405, "MethodNotAllowed", "This simulator only reads.")
        if tail == "count":
            return Response(200, {"count": self._pager().count(collection, params, -1)})
        return self._pager().list_page(collection, params, headers, resource, query)


def create_connectwise_simulator(
    world: SandboxWorld,
    *,
    company_id: str = "northwind",
    public_key: str = "sim-public-key",
    private_key: str = "sim-private-key",
    client_id: str = "00000000-0000-4000-8000-00000000c11d",
    codebase: str = "v4_6_release",
    latency: float = 0.0,
    fail: SimulatorFaults | None = None,
    behaviour: SimulatorBehaviour | None = None,
    delivery_transport: httpx.AsyncBaseTransport | None = None,
) -> ConnectWiseSimulator:
    """A ConnectWise simulator over `world` (an ASGI app; see the module docstring)."""
    faults = fail or SimulatorFaults()
    if latency:
        faults.latency = latency
    return ConnectWiseSimulator(
        world,
        company_id=company_id,
        public_key=public_key,
        private_key=private_key,
        client_id=client_id,
        codebase=codebase,
        faults=faults,
        behaviour=behaviour,
        delivery_transport=delivery_transport,
    )


def demo_app() -> ConnectWiseSimulator:
    """The default sandbox world behind the default credentials, for a real server:
    `uvicorn --factory connectors.connectwise.simulator:demo_app`."""
    from connectors.sandbox.world import build_world

    return create_connectwise_simulator(build_world())
