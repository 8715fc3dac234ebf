"""Talking to Autotask: zone, auth headers, error classification, limits.

Everything goes through the SDK's `VendorClient` (retries, Retry-After, budget); this module
adds what is Autotask's own: the zone in front of every path, the three auth headers, the
errors hidden in HTTP 500s, at most 3 requests in flight per entity, and the tenant's live
usage read from `ThresholdInformation`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any
from weakref import WeakKeyDictionary

import httpx
import structlog

from connectors.autotask.config import AutotaskConfig
from connectors.autotask.zone import AutotaskZoneResolver
from connectors.sdk import (
    Action,
    AuthError,
    ConnectorContext,
    FatalError,
    SourceHttpLimits,
    VendorClient,
)
from connectors.sdk.http import RequestBudget, Sleep

log = structlog.get_logger(__name__)

# Thread-limit rejections come with 429 or 500 depending on the tenant: match the text.
_WAIT_MARKERS = ("itgenatr005", "thread threshold")
# Client mistakes Autotask reports as HTTP 500: retrying cannot help.
_CLIENT_MISTAKES: tuple[tuple[str, Action], ...] = (
    ("integrationcode is invalid", Action.AUTH),  # the ApiIntegrationCode
    ("unable to find", Action.FATAL),  # an unknown field in the filter or IncludeFields
    ("maxcountofrecordstoreturn", Action.FATAL),  # MaxRecords outside 1..500
    ("not queryable", Action.FATAL),
    ("adequate permissions", Action.CONFIG),  # the API user's security level
)
_ZONE_PLACEHOLDER = "https://zone.not-resolved.invalid/v1.0/"


def classify_response(response: httpx.Response) -> Action | None:
    """Autotask-specific actions before the SDK's status table (None: use the table)."""
    status = response.status_code
    if status < 400:
        return None
    text = response.text[:4000].lower()
    if any(marker in text for marker in _WAIT_MARKERS):
        return Action.RETRY
    if "zoneinformation" in response.request.url.path.lower() and status in (404, 500):
        # Autotask knows no such API username ("Zone information could not be determined";
        # other wordings mention the user). Any other 500 there is Autotask's own trouble.
        unknown_user = "user" in text or "could not be determined" in text
        return Action.CONFIG if status == 404 or unknown_user else Action.RETRY
    if status == 500:
        for marker, action in _CLIENT_MISTAKES:
            if marker in text:
                return action
    return None


# Per source (keyed by its budget, the object the runner keeps per source) and event loop:
# one semaphore per entity, shared by every connector instance of the source, so two
# streams read at once still never exceed Autotask's thread limit together.
_SOURCE_GATES: WeakKeyDictionary[
    RequestBudget, WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Semaphore]]
] = WeakKeyDictionary()


# Per source: when its tenant's usage was last read. Clients poll ThresholdInformation
# about every 5 minutes; every stream of a sync asking again would cost a request and a
# round trip each.
TENANT_USAGE_MAX_AGE = 300.0
_USAGE_READ_AT: WeakKeyDictionary[RequestBudget, float] = WeakKeyDictionary()


def _source_gates(budget: RequestBudget) -> dict[str, asyncio.Semaphore]:
    per_loop = _SOURCE_GATES.setdefault(budget, WeakKeyDictionary())
    return per_loop.setdefault(asyncio.get_running_loop(), {})


def http_limits(config: AutotaskConfig) -> SourceHttpLimits:
    """The HTTP limits the runner should give an Autotask source: at most
    `concurrency_per_entity` (≤ 3) requests in flight per entity and a request budget of
    `requests_per_hour` per rolling hour. Build it once per source and share it between that
    source's runs, so the budget counts all of them."""
    return SourceHttpLimits(
        max_concurrency=config.concurrency_per_entity * 3,
        per_key_concurrency=config.concurrency_per_entity,
        budget=RequestBudget(limit=config.requests_per_hour, window=3600.0),
    )


class AutotaskApi:
    """Authenticated JSON calls relative to the zone's `v1.0/` root.

    Construction makes no request; the zone is resolved on first use. Raises the errors of
    `connectors.sdk.errors`, with messages that never contain a credential.
    """

    def __init__(
        self,
        config: AutotaskConfig,
        context: ConnectorContext,
        *,
        sleep: Sleep | None = None,
    ) -> None:
        self._config = config
        self._client = VendorClient(
            base_url=config.rest_root(config.zone_url) if config.zone_url else _ZONE_PLACEHOLDER,
            limits=context.limits,
            transport=context.transport,
            classify=classify_response,
            vendor="Autotask",
            sleep=sleep or asyncio.sleep,
        )
        self._zone = AutotaskZoneResolver(
            lookup_url=config.zone_lookup_url,
            username=config.api_username.get_secret_value(),
            get_json=self._get_zone_json,
        )
        self._zone_known = config.zone_url is not None
        self._zone_lock = asyncio.Lock()
        self._tenant_usage_read = False

    @property
    def client(self) -> VendorClient:
        return self._client

    async def aclose(self) -> None:
        await self._client.aclose()

    def _auth_headers(self) -> dict[str, str]:
        return {
            "ApiIntegrationCode": self._config.integration_code.get_secret_value(),
            "UserName": self._config.api_username.get_secret_value(),
            "Secret": self._config.secret.get_secret_value(),
            "Content-Type": "application/json",
        }

    async def _get_zone_json(self, url: str, params: dict[str, str]) -> Any:
        # No credentials: the lookup does not need them and should never see them.
        return await self._client.request_json(
            "GET", url, params=params, concurrency_key="zoneInformation"
        )

    async def _use_zone(self, *, refresh: bool) -> None:
        async with self._zone_lock:
            if self._zone_known and not refresh:
                return
            if refresh:
                self._zone.invalidate()
            self._client.set_base_url(self._config.rest_root(await self._zone.resolve()))
            self._zone_known = True

    def _gate(self, entity: str) -> asyncio.Semaphore:
        gates = _source_gates(self._client.limits.budget)
        key = entity.lower()
        if key not in gates:
            gates[key] = asyncio.Semaphore(self._config.concurrency_per_entity)
        return gates[key]

    async def call_json(
        self, method: str, path: str, *, entity: str, json: Mapping[str, Any] | None = None
    ) -> Any:
        """One call to `path` (relative to `v1.0/`), counted against `entity`'s thread limit.

        After a 401 on a discovered zone the zone is looked up again and the call repeated
        once; a second 401 raises AuthError.
        """
        if not self._zone_known:
            await self._use_zone(refresh=False)
        async with self._gate(entity):
            try:
                return await self._send(method, path, entity, json)
            except AuthError:
                if self._config.zone_url is not None:
                    raise
                log.info("autotask_zone_reresolve", entity=entity)
            await self._use_zone(refresh=True)
            return await self._send(method, path, entity, json)

    async def _send(
        self, method: str, path: str, entity: str, json: Mapping[str, Any] | None
    ) -> Any:
        return await self._client.request_json(
            method,
            path,
            headers=self._auth_headers(),
            concurrency_key=entity,
            **({"json": dict(json)} if json is not None else {}),
        )

    async def query(self, entity: str, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        """`POST {entity}/query`: one page of items, ascending by id."""
        data = await self.call_json("POST", f"{entity}/query", entity=entity, json=body)
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise FatalError(
                f"Autotask answered a {entity} query without an items list.",
                code="autotask_unexpected_response",
            )
        return items

    async def count(self, entity: str, filters: Sequence[Mapping[str, Any]]) -> int:
        """`POST {entity}/query/count`: how many records match `filters`."""
        body = {"filter": [dict(f) for f in filters]}
        data = await self.call_json("POST", f"{entity}/query/count", entity=entity, json=body)
        value = data.get("queryCount") if isinstance(data, dict) else None
        if isinstance(value, bool) or not isinstance(value, int):
            raise FatalError(
                f"Autotask answered a {entity} count without a queryCount.",
                code="autotask_unexpected_response",
            )
        return value

    async def entity_fields(self, entity: str) -> Sequence[Mapping[str, Any]]:
        """`GET {entity}/entityInformation/fields`: field metadata incl. picklists."""
        data = await self.call_json("GET", f"{entity}/entityInformation/fields", entity=entity)
        fields = data.get("fields") if isinstance(data, dict) else None
        return fields if isinstance(fields, list) else []

    async def threshold_information(self) -> dict[str, Any]:
        data = await self.call_json("GET", "ThresholdInformation", entity="ThresholdInformation")
        return data if isinstance(data, dict) else {}

    async def note_tenant_usage(self, *, force: bool = False) -> None:
        """Read the tenant's live usage (the call itself is counted) at most once per
        `TENANT_USAGE_MAX_AGE` per source, and shrink this source's remaining budget to the
        tenant's real headroom when other integrations have eaten into it."""
        budget = self._client.limits.budget
        read_at = _USAGE_READ_AT.get(budget)
        if not force and (
            self._tenant_usage_read
            or (read_at is not None and time.monotonic() - read_at < TENANT_USAGE_MAX_AGE)
        ):
            return
        self._tenant_usage_read = True
        _USAGE_READ_AT[budget] = time.monotonic()
        info = await self.threshold_information()
        try:
            threshold = int(info.get("externalRequestThreshold") or 0)
            current = int(info.get("currentTimeframeRequestCount") or 0)
        except (TypeError, ValueError):
            return
        our_room = budget.remaining()
        if not threshold or our_room is None:
            return
        tenant_room = max(0, threshold - current)
        if tenant_room < our_room:
            budget.note_external_usage(our_room - tenant_room)
        log.info(
            "autotask_tenant_usage",
            used=current,
            threshold=threshold,
            budget_remaining=budget.remaining(),
        )
