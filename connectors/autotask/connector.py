"""`AutotaskConnector`: the SDK contract over Autotask PSA's REST API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import ClassVar

import httpx
from pydantic import BaseModel

from connectors.autotask.api import AutotaskApi, http_limits
from connectors.autotask.check_wording import AUTOTASK_CHECK
from connectors.autotask.config import AutotaskConfig
from connectors.autotask.directory import directory_for
from connectors.autotask.enrich import PageEnricher
from connectors.autotask.normalize import normalize_record
from connectors.autotask.picklists import PicklistCache
from connectors.autotask.push import AutotaskPush
from connectors.autotask.reader import AutotaskReader
from connectors.autotask.sandbox import AutotaskSandbox
from connectors.autotask.streams import CONTRACT_LOOKUP_FIELDS, STREAMS, TICKET_LOOKUP_FIELDS
from connectors.sdk import (
    ConnectorContext,
    Cursor,
    FactOrDeletion,
    Page,
    Record,
    SourceHttpLimits,
    StreamSpec,
)
from connectors.sdk.http import Sleep
from connectors.sdk.sandbox import SandboxSupport


class AutotaskConnector(AutotaskPush):
    """Reads an Autotask tenant: see `streams.py` for what, `reader.py` for how.

    Construction makes no request. The runner should build `context.limits` with
    `AutotaskConnector.http_limits(config)` (3 requests in flight per entity, the hourly
    budget) and share it between the source's runs. `sleep` replaces `asyncio.sleep` for
    backoff and budget waits (tests). Push (Autotask webhooks): see `push.py`.
    """

    kind: ClassVar[str] = "autotask"
    display_name: ClassVar[str] = "Autotask PSA"
    config_model: ClassVar[type[BaseModel]] = AutotaskConfig
    streams: ClassVar[Mapping[str, StreamSpec]] = STREAMS
    sandbox: ClassVar[SandboxSupport] = AutotaskSandbox()

    def __init__(
        self, config: AutotaskConfig, context: ConnectorContext, *, sleep: Sleep | None = None
    ) -> None:
        self.config = config
        self.context = context
        self.api = AutotaskApi(config, context, sleep=sleep)
        directory = directory_for(
            context.limits.budget,
            {"Tickets": TICKET_LOOKUP_FIELDS, "Contracts": CONTRACT_LOOKUP_FIELDS},
        )
        self.picklists = PicklistCache(self.api.entity_fields, shared=directory.picklists)
        self.enricher = PageEnricher(self.api, self.picklists, directory)
        self._reader = AutotaskReader(
            self.api,
            self.enricher,
            lookback=context.lookback,
            now=context.now,
            parallel_ranges=config.concurrency_per_entity,
            split_min_records=config.backfill_split_min_records,
        )

    @classmethod
    def http_limits(cls, config: AutotaskConfig) -> SourceHttpLimits:
        """The per-source HTTP limits for `config` (see `api.http_limits`)."""
        return http_limits(config)

    async def check(self) -> None:
        """Resolve the zone and read the tenant's usage: one cheap authenticated call.

        Raises `SourceCheckFailed` naming the host tried and the settings to fix (see
        `check_wording`): an unknown API username, a refused secret or integration code, a
        zone or zone lookup that cannot be reached."""
        address = self.config.zone_url or self.config.zone_lookup_url
        with AUTOTASK_CHECK.explained(host=httpx.URL(address).host):
            await self.api.note_tenant_usage(force=True, refuse=False)

    def read(
        self, stream: str, cursor: Cursor | None, *, since: datetime | None = None
    ) -> AsyncIterator[Page]:
        return self._reader.read(stream, cursor, since=since)

    def normalize(self, stream: str, record: Record) -> list[FactOrDeletion]:
        return normalize_record(stream, record, self.config)

    async def prepare(self) -> None:
        """The sync's one-off requests: the zone, then the tenant's live API usage."""
        await self.api.note_tenant_usage()

    async def aclose(self) -> None:
        await self.api.aclose()
