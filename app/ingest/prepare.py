"""A sync's one-off requests, made before its first stream and timed apart from the streams.

A connector may offer `async def prepare()` (`connectors.sdk.Preparable`): what every stream
of a sync needs first and asks only once (ConnectWise: the codebase of the tenant's
`companyinfo`; Autotask: the zone and the tenant's live API usage). Asked up front, these
round trips are the sync's own, not the first stream's, in the run records and benchmarks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import structlog

from connectors.sdk import Connector, ConnectorError, Preparable
from connectors.sdk.http import RequestStats

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Prepared:
    requests: int = 0
    seconds: float = 0.0


async def prepare_connector(connector: Connector, stats: RequestStats) -> Prepared:
    """Run the connector's `prepare`, if it has one. A failure is not the sync's end: the
    first stream makes the same request and reports it with the stream's run."""
    if not isinstance(connector, Preparable):
        return Prepared()
    before, began = stats.requests, time.perf_counter()
    try:
        await connector.prepare()
    except ConnectorError as exc:
        log.info("sync_prepare_failed", code=exc.code)
    return Prepared(stats.requests - before, time.perf_counter() - began)
