"""Live progress for long syncs in a terminal (records, pages, rate, ETA), and the summary
after them with a headline that says whether the sync worked.

Both fit an 80-column terminal without cutting a stream's name or status: each stream is a
row, the source's name is a line of its own above them, numbers in the live display are
abbreviated (12.3k), and columns that need more room appear only on wider terminals.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column, Table
from rich.text import Text

from app.ingest.models import RunStatus
from app.ingest.runner import ProgressCallback, StreamOutcome, StreamProgress

# At this width and above, numbers are written out in full and every column is shown.
WIDE = 100
# The narrowest progress bar worth drawing; below it (a very narrow terminal) none is.
MIN_BAR = 6


def compact(number: float) -> str:
    """12 → "12", 12345 → "12.3k", 123456 → "123k", 1234567 → "1.23M"."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= limit:
            scaled = number / limit
            digits = 2 if abs(scaled) < 10 else 1 if abs(scaled) < 100 else 0
            text = f"{scaled:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{scaled:.0f}"
            return text + suffix
    return f"{number:.0f}"


class _Layout:
    """The live display's columns for one console width; the bar takes what is left.

    Narrower than `WIDE`: numbers abbreviated and no elapsed time (the summary says how long
    the sync took), so a 25-character stream name still leaves room for a bar at 80."""

    def __init__(self, width: int) -> None:
        self.wide = width >= WIDE
        self.width = width
        self.name_column = Column(no_wrap=True)
        self.bar = BarColumn(bar_width=MIN_BAR)
        if self.wide:
            self.counters: tuple[ProgressColumn, ...] = (
                TextColumn("{task.fields[records_text]:>11} records"),
                TextColumn("{task.fields[pages_text]:>7} pages"),
                TextColumn("{task.fields[rate_text]:>8}/s"),
                TimeElapsedColumn(),
            )
            counter_widths: tuple[int, ...] = (19, 13, 10, 7)
        else:
            self.counters = (
                TextColumn("{task.fields[records_text]:>6} rec"),
                TextColumn("{task.fields[pages_text]:>6} pg"),
                TextColumn("{task.fields[rate_text]:>6}/s"),
            )
            counter_widths = (10, 9, 8)
        # The spinner, the counters, "ETA" and the time remaining, and one space between
        # each two columns (the name and the bar are the two more).
        columns = 1 + len(counter_widths) + 2 + 2
        self.fixed = 1 + sum(counter_widths) + 3 + 7 + (columns - 1)
        self.longest_name = 0

    def columns(self) -> tuple[ProgressColumn, ...]:
        return (
            SpinnerColumn(),
            TextColumn("[bold]{task.fields[stream]}", table_column=self.name_column),
            self.bar,
            *self.counters,
            TextColumn("ETA"),
            TimeRemainingColumn(),
        )

    def fit(self, stream: str) -> None:
        """Make room for a new stream's name: the name column grows, the bar shrinks."""
        self.longest_name = max(self.longest_name, len(stream))
        self.name_column.min_width = self.longest_name
        spare = self.width - self.fixed - self.longest_name
        self.bar.bar_width = max(1, min(40, spare))

    def number(self, value: float) -> str:
        return f"{value:,.0f}" if self.wide else compact(value)


@contextmanager
def sync_progress(console: Console) -> Iterator[ProgressCallback]:
    """A callback for `SyncRunner.sync_source(progress=...)` that draws one row per stream,
    under a line naming the source."""
    layout = _Layout(console.width)
    tasks: dict[tuple[str, str], TaskID] = {}
    sources_shown: set[str] = set()
    with Progress(*layout.columns(), console=console, transient=False) as progress:

        def update(state: StreamProgress) -> None:
            if state.source not in sources_shown:
                sources_shown.add(state.source)
                progress.console.print(Text(state.source, style="bold"))
            key = (state.source, state.stream)
            if key not in tasks:
                layout.fit(state.stream)
                tasks[key] = progress.add_task(
                    "",
                    total=None,
                    stream=state.stream,
                    records_text="0",
                    pages_text="0",
                    rate_text="0",
                )
            task = tasks[key]
            elapsed = max(1e-6, progress.tasks[task].elapsed or 1e-6)
            progress.update(
                task,
                completed=state.records,
                total=state.total_hint,
                records_text=layout.number(state.records),
                pages_text=layout.number(state.pages),
                rate_text=layout.number(state.records / elapsed),
            )

        yield update
        for task in tasks.values():
            if progress.tasks[task].total is None:
                progress.update(task, total=progress.tasks[task].completed)


def sync_headline(
    name: str, outcomes: Sequence[StreamOutcome], seconds: float, *, reason: str | None = None
) -> str:
    """What happened, in one sentence (rich markup): synced, partly failed, or failed.
    `reason`: why the source could not sync at all (it needs attention), if known."""
    failed = [o.stream for o in outcomes if o.status is not RunStatus.SUCCEEDED]
    synced = len(outcomes) - len(failed)
    took = f"{seconds:,.1f} s"
    name = escape(name)
    if not outcomes:
        why = f": {escape(reason.rstrip('.'))}" if reason else " (no stream to sync)"
        style = "red" if reason else "yellow"
        return f"[{style}]{name}: nothing was synced{why}.[/{style}]"
    if not failed:
        streams = "stream" if synced == 1 else "streams"
        return f"[green]{name}: synced in {took}, {synced} {streams}.[/green]"
    parts = [f"{synced} {'stream' if synced == 1 else 'streams'} synced"] if synced else []
    names = failed[0] if len(failed) == 1 else f"{', '.join(failed[:-1])} and {failed[-1]}"
    parts.append(f"{names} failed")
    if outcomes[-1].stops_source:
        parts.append("the rest were not tried")
    verdict = "sync partly failed" if synced else "sync failed"
    return f"[red]{name}: {verdict} after {took}: {'; '.join(parts)}.[/red]"


SUMMARY_COLUMNS = ("stream", "status", "pages", "records", "changed", "deleted", "skipped")
NARROW_SUMMARY_COLUMNS = ("stream", "status", "records", "changed", "deleted")


def summary_table(outcomes: Sequence[StreamOutcome], *, width: int) -> Table:
    """One row per stream, at most `width` wide. Narrower than `WIDE`, pages and records
    kept aside are left out (records kept aside are in the notes); numbers are written in
    full unless only abbreviated (12.3k) do they fit."""
    narrow = width < WIDE
    columns = [*(NARROW_SUMMARY_COLUMNS if narrow else SUMMARY_COLUMNS), "requests"]
    for number in ("{:,}".format, compact):
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        for column in columns:
            left = column in ("stream", "status")
            table.add_column(column, justify="left" if left else "right", no_wrap=True)
        for o in outcomes:
            values = {
                "stream": o.stream,
                "status": o.status.value,
                "pages": number(o.pages),
                "records": number(o.records),
                "changed": number(o.facts_changed),
                "deleted": number(o.facts_deleted),
                "skipped": number(o.records_skipped),
                "requests": number(o.requests),
            }
            style = "" if o.status is RunStatus.SUCCEEDED else "red"
            table.add_row(*(values[c] for c in columns), style=style)
        if _natural_width(table) <= width:
            break
    return table


def _natural_width(table: Table) -> int:
    measuring = Console(width=10_000, file=io.StringIO())
    return measuring.measure(table).maximum


def stream_notes(outcomes: Sequence[StreamOutcome]) -> list[str]:
    """Each stream's problem and warnings, one line each, named by the stream."""
    lines = []
    for o in outcomes:
        if o.error_code:
            lines.append(f"{o.stream}: {o.status.value}: {o.error_code}: {o.error_message}")
        if o.records_skipped:
            kept = "record" if o.records_skipped == 1 else "records"
            lines.append(f"{o.stream}: {o.records_skipped:,} {kept} kept aside: see /quarantine")
        lines.extend(f"{o.stream}: {warning}" for warning in o.warnings)
    return lines


def print_sync_summary(
    console: Console,
    name: str,
    outcomes: Sequence[StreamOutcome],
    seconds: float,
    *,
    reason: str | None = None,
) -> bool:
    """The table, the notes (wrapped, never cut) and the headline; True if every stream
    synced."""
    if outcomes:
        console.print(summary_table(outcomes, width=console.width))
    for line in stream_notes(outcomes):
        console.print(Text(line), overflow="fold")
    console.print(sync_headline(name, outcomes, seconds, reason=reason), highlight=False)
    return bool(outcomes) and all(o.status is RunStatus.SUCCEEDED for o in outcomes)
