"""`ConnectWiseConnector`: the SDK contract over the ConnectWise PSA REST API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import ClassVar

import httpx
from pydantic import BaseModel

from connectors.connectwise.api import ConnectWiseApi, RecordGone
from connectors.connectwise.check_wording import CONNECTWISE_CHECK, NO_API_HERE
from connectors.connectwise.config import ConnectWiseConfig
from connectors.connectwise.normalize import normalizers
from connectors.connectwise.push import PUSH_STREAMS, CallbackPush, parse_callback
from connectors.connectwise.reader import ConnectWiseReader
from connectors.connectwise.record_fields import Record
from connectors.connectwise.reference import ReferenceData
from connectors.connectwise.reference_cache import CODEBASE, MISSING, ReferenceCache, cache_for
from connectors.connectwise.sandbox import ConnectWiseSandbox
from connectors.connectwise.streams import STREAMS
from connectors.sdk import (
    ConfigError,
    ConnectorContext,
    Cursor,
    Delivery,
    FactOrDeletion,
    FactType,
    FatalError,
    Page,
    PushSubscription,
    StreamSpec,
)
from connectors.sdk.http import Sleep
from connectors.sdk.sandbox import SandboxSupport


class ConnectWiseConnector:
    """Reads a ConnectWise PSA tenant, and is told of changes by its callbacks (`Pushable`,
    see `push.py`). Construction makes no request.

    `sleep` replaces `asyncio.sleep` for waits between retries (tests assert on it).
    """

    kind: ClassVar[str] = "connectwise"
    display_name: ClassVar[str] = "ConnectWise PSA"
    config_model: ClassVar[type[BaseModel]] = ConnectWiseConfig
    streams: ClassVar[Mapping[str, StreamSpec]] = STREAMS
    sandbox: ClassVar[SandboxSupport] = ConnectWiseSandbox()
    push_streams: ClassVar[Mapping[str, FactType]] = PUSH_STREAMS

    def __init__(
        self,
        config: ConnectWiseConfig,
        context: ConnectorContext,
        *,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.config = config
        self.context = context
        self._sleep = sleep
        self._api: ConnectWiseApi | None = None
        self._reference: ReferenceData | None = None
        self._reader: ConnectWiseReader | None = None
        self._push: CallbackPush | None = None
        self._normalizers = normalizers(context.reporting_tz)

    @property
    def api(self) -> ConnectWiseApi:
        """The HTTP session, created on first use (creating it sends nothing)."""
        if self._api is None:
            self._api = ConnectWiseApi(self.config, self.context, sleep=self._sleep)
        return self._api

    @property
    def reference(self) -> ReferenceData:
        """The tenant's reference tables, shared by reads and push re-reads."""
        if self._reference is None:
            self._reference = ReferenceData(self.api, self.config, self.kept)
        return self._reference

    @property
    def reader(self) -> ConnectWiseReader:
        if self._reader is None:
            self._reader = ConnectWiseReader(self.api, self.reference, self.config, self.context)
        return self._reader

    @property
    def push(self) -> CallbackPush:
        if self._push is None:
            self._push = CallbackPush(self.api, self.reference, self.config)
        return self._push

    async def check(self) -> None:
        """Discover the codebase (unless configured) and make one authenticated call.

        Raises `SourceCheckFailed` naming the host tried and the settings to fix (see
        `check_wording`): the keys or clientId refused, an unknown company id, an address
        that is not ConnectWise or cannot be reached.
        """
        address = "base_url" if self.config.base_url is not None else "site"
        host = httpx.URL(self.config.root_url).host
        names = {"address": address, "company_id": self.config.company_id}
        with CONNECTWISE_CHECK.explained(host=host, names=names):
            try:
                info = await self.api.get_json("/system/info")
            except RecordGone as gone:
                raise ConfigError(
                    "ConnectWise has no API at this address and codebase; check the site "
                    "and leave the codebase empty to discover it.",
                    code=NO_API_HERE,
                ) from gone
            if not isinstance(info, Mapping):
                raise FatalError("ConnectWise's /system/info did not answer with an object.")

    async def read(
        self, stream: str, cursor: Cursor | None, *, since: datetime | None = None
    ) -> AsyncIterator[Page]:
        """Pages of `stream` in cursor order; see `passes.py` for the cursor contract."""
        try:
            async for page in self.reader.read(stream, cursor, since):
                yield page
        except RecordGone as gone:
            raise FatalError(str(gone), code="psa_http_404") from gone

    def normalize(self, stream: str, record: Record) -> list[FactOrDeletion]:
        """Pure: one raw (reader-enriched) record of `stream` to canonical facts."""
        normalizer = self._normalizers.get(stream)
        if normalizer is None:
            raise FatalError(f"ConnectWise has no stream called '{stream}'.")
        return normalizer(record)

    # -- push (ConnectWise callbacks) -------------------------------------------------------

    async def subscribe(self, receiver_url: str, secret: str) -> list[PushSubscription]:
        """Callbacks for tickets, companies and agreements to `receiver_url`, which carries
        the source's token already (ConnectWise is given no secret)."""
        return await self.push.subscribe(receiver_url)

    async def unsubscribe(self, subscriptions: Sequence[PushSubscription]) -> None:
        await self.push.unsubscribe(subscriptions)

    def parse_delivery(
        self, body: bytes, headers: Mapping[str, str], query: Mapping[str, str], secret: str
    ) -> Delivery:
        """The app has checked the URL token; the signature proves nothing (see `push.py`)."""
        return parse_callback(body, query)

    def read_records(self, stream: str, record_ids: Sequence[str]) -> AsyncIterator[Page]:
        return self.push.read_records(stream, record_ids)

    @property
    def kept(self) -> ReferenceCache:
        """What this source's syncs keep between them (`reference_cache`)."""
        return cache_for(self.context.budget)

    async def prepare(self) -> None:
        """The sync's one-off request: the tenant's codebase (`/login/companyinfo`), asked
        once an hour (a moved codebase is noticed by the first request it fails)."""
        known = self.kept.get(CODEBASE)
        if known is not MISSING:
            self.api.use_codebase(known)
        self.kept.put(CODEBASE, await self.api.codebase())

    async def aclose(self) -> None:
        if self._api is not None:
            await self._api.aclose()
