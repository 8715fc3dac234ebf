"""`northstar sync` and `northstar backfill`: one source, with a live progress display, a
summary and a headline that says whether it worked; the exit code agrees with it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import datetime

from rich.markup import escape

from app.cli_support import console, load_settings, out

EXIT_SYNCED, EXIT_FAILED, EXIT_REFUSED, EXIT_BUSY = 0, 1, 2, 3


# How a source that is not active is named under a sync's summary, by its status.
STATUS_HEADLINES = {
    "unverified": "is not verified yet (its check has not passed)",
    "needs_attention": "needs attention",
    "paused": "is paused",
}


def run_sync(
    source_ref: str,
    *,
    trigger: str,
    full: bool,
    since: datetime | None,
    streams: Sequence[str] | None,
) -> int:
    """0 when every stream synced, 1 when any failed (the headline names them), 2 for an
    unknown source or refused input, 3 when another process is syncing the source."""
    from app.api.context import ServiceContext
    from app.errors import NorthstarError
    from app.ingest.locks import source_sync_lock
    from app.logging import configure_logging
    from app.progress import print_sync_summary, sync_progress
    from app.sources.service import find_source

    settings = load_settings()
    configure_logging(log_format=settings.log_format, level="WARNING")
    context = ServiceContext.build(settings)
    try:
        with context.db.session() as session:
            source = find_source(session, source_ref)
            source_id, name = source.id, source.name
    except NorthstarError as exc:
        console.print(f"[red]{escape(exc.message)}[/red]")
        return EXIT_REFUSED
    with source_sync_lock(context.db, source_id) as held:
        if not held:
            console.print(
                f"[yellow]{escape(name)} is being synced by another process; try later.[/yellow]"
            )
            return EXIT_BUSY
        started = time.monotonic()
        try:
            with sync_progress(console) as progress:
                outcomes = asyncio.run(
                    context.runner.sync_source(
                        source_id,
                        trigger=trigger,
                        full=full,
                        since=since,
                        streams=streams,
                        progress=progress,
                    )
                )
        except NorthstarError as exc:
            console.print(f"[red]{escape(exc.message)}[/red]")
            return EXIT_REFUSED
    elapsed = time.monotonic() - started
    with context.db.session() as session:
        source = find_source(session, str(source_id))
        attention = source.status_message if source.status != "active" else None
        headline = STATUS_HEADLINES.get(source.status, "needs attention")
    synced = print_sync_summary(out, name, outcomes, elapsed, reason=attention)
    if outcomes:
        out.print(
            f"KPIs: {outcomes.days_reaggregated:,} days re-aggregated in "
            f"{outcomes.kpi_seconds:,.1f} s.",
            highlight=False,
        )
    if attention and outcomes:
        console.print(f"[red]{escape(name)} {headline}:[/red] {escape(attention)}", soft_wrap=True)
    return EXIT_SYNCED if synced and not attention else EXIT_FAILED
