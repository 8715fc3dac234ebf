"""A source's check run from a test the way adding it through the API runs it, from inside
an event loop or outside one."""

from __future__ import annotations

import asyncio
import dataclasses
from concurrent.futures import ThreadPoolExecutor

from app.api.context import ServiceContext
from app.sources.checks import CheckOutcome, SourceChecker, TransportResolver


def check_source(
    context: ServiceContext, source_id: int, *, transports: TransportResolver | None = None
) -> CheckOutcome:
    """Check the source and record the outcome (an `unverified` source that passes becomes
    `active`, as it does when added through the API or the CLI). `transports` replaces the
    context's way to the PSA for the check only."""
    checker = SourceChecker.of(context)
    if transports is not None:
        checker = dataclasses.replace(checker, transports=transports)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(checker.check(source_id))).result()
