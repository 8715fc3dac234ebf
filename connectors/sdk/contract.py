"""The contract every connector implements (README, "How it fits together").

A connector knows HTTP and its vendor. It never touches the database or the settings: what it
needs from the deployment arrives in a `ConnectorContext`, and what it produces leaves as
`Page`s of raw records plus a pure `normalize` that turns one record into canonical facts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any, ClassVar, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

import httpx
from pydantic import BaseModel

from connectors.sdk.facts import FactOrDeletion, FactType
from connectors.sdk.http import RequestBudget, SourceHttpLimits
from connectors.sdk.tenant import TenantUsageBook

Cursor = Mapping[str, Any]
Record = Mapping[str, Any]


class StreamMode(StrEnum):
    INCREMENTAL = "incremental"
    """Changed-since-watermark with id-keyset paging; the cursor moves with every page."""
    FULL_REFRESH = "full_refresh"
    """No change stamp: read whole every time; resumable by id within one pass."""
    ID_SWEEP = "id_sweep"
    """Reads only ids; after a complete pass, stored facts of `sweeps` not seen are removed.

    The runner may ask a pass for one slice of the id space only (a rolling sweep: each run
    lists one slice, the whole collection once a day): the read is then given the cursor
    `{"id_range": [low, high]}`, ids `low <= id < high`, either end None for open
    (`connectors.sdk.paging.sweep_id_range` reads it). Only stored facts inside the range are
    then removed when not seen, so a read that ignores the range and lists more is still
    correct, merely dearer."""


class SyncInterval(StrEnum):
    """How often a stream is checked; each source sets the length of each (see `Source`)."""

    LIVE = "live"  # tickets and time entries: default every 60 seconds
    FAST = "fast"  # other changing data (surveys, deletion logs): default every 5 minutes
    SLOW = "slow"  # slow-changing entities and sweeps: default every 60 minutes


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """A stream, declared as data.

    `produces` lists the fact types `normalize` may emit for this stream's records. For
    `FULL_REFRESH` and `ID_SWEEP` streams, `sweeps` names the fact type whose stored rows not
    seen in a complete pass are deleted (None: a full refresh that deletes nothing).
    `deletion_log`: the stream's records only remove stored facts of `produces` (the PSA's
    log of deletions), so a first read into a source holding none of them has no backlog to
    act on.
    """

    name: str
    path: str
    produces: tuple[FactType, ...] = ()
    mode: StreamMode = StreamMode.INCREMENTAL
    primary_key: str = "id"
    cursor_field: str | None = None
    page_size: int = 1000
    interval: SyncInterval = SyncInterval.FAST
    sweeps: FactType | None = None
    deletion_log: bool = False
    description: str = ""


@dataclass(frozen=True, slots=True)
class Page:
    """One page of raw records, in cursor order.

    `cursor` is the state that resumes *after* this page: the runner stores it in the same
    transaction as the page's facts, so a crash loses at most the page in flight. It must be
    JSON-serialisable. `seen_ids` is set by id sweeps and full refreshes (ids of records that
    still exist in the PSA), `records` may then be empty.
    """

    records: Sequence[Record]
    cursor: Cursor
    seen_ids: Sequence[str] = ()
    # Best-effort progress hint for progress displays: records this stream will yield in all.
    total_hint: int | None = None
    # What the read had to do without, in plain words ("company statuses are unavailable
    # (HTTP 404): every client counts as active"): kept on the run record, once each.
    warnings: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class ConnectorContext:
    """What the deployment gives a connector.

    `transport` replaces the network (an ASGI simulator, a respx mock); `limits` holds this
    source's concurrency limit, request budget and retry policy, shared by all its streams.
    """

    reporting_tz: tzinfo = field(default_factory=lambda: ZoneInfo("UTC"))
    transport: httpx.AsyncBaseTransport | None = None
    limits: SourceHttpLimits = field(default_factory=SourceHttpLimits)
    # How far back an incremental read re-reads before its watermark, to catch late writes.
    lookback: timedelta = timedelta(minutes=5)
    # The sync's start by Northstar's clock. A watermark should come from the PSA's own time
    # (its Date header, the newest change stamp seen): the two clocks may disagree.
    now: datetime | None = None
    # Where the PSA tenant's shared usage is kept between syncs and processes (None: the
    # connector keeps it in this process only).
    tenant: TenantUsageBook | None = None

    @property
    def budget(self) -> RequestBudget:
        return self.limits.budget


@runtime_checkable
class Connector(Protocol):
    """What the runner and the API need from a PSA connector.

    Construction is cheap and makes no request: `Connector(config, context)`.
    """

    kind: ClassVar[str]  # equals the entry-point name
    display_name: ClassVar[str]
    config_model: ClassVar[type[BaseModel]]  # credentials as SecretStr
    streams: ClassVar[Mapping[str, StreamSpec]]

    def __init__(self, config: Any, context: ConnectorContext) -> None:
        """`config` is an instance of `config_model`."""

    async def check(self) -> None:
        """One cheap authenticated call.

        Raises AuthError, ConfigError or TransientError with a message for the user.
        """

    def read(
        self, stream: str, cursor: Cursor | None, *, since: datetime | None = None
    ) -> AsyncIterator[Page]:
        """Yield pages of `stream` in cursor order, resuming after `cursor` when given.

        With no cursor the read starts at `since` (None: the beginning of the PSA's history).
        An `ID_SWEEP` read is never resumed: its cursor is None (list every id) or
        `{"id_range": [low, high]}` (list the ids `low <= id < high`; None: open at that end).
        Raises the errors of `connectors.sdk.errors`.
        """

    def normalize(self, stream: str, record: Record) -> list[FactOrDeletion]:
        """Pure: one raw record of `stream` to canonical facts (possibly none)."""

    async def aclose(self) -> None:
        """Release HTTP clients."""


@runtime_checkable
class Preparable(Protocol):
    """A connector that makes a sync's one-off requests up front (optional).

    `prepare` is awaited once per sync, before the first stream: what every stream needs
    first and asks once (a tenant's codebase, its zone). Raising is allowed (the first
    stream then makes the same request and reports the error); it must be idempotent.
    """

    async def prepare(self) -> None: ...
