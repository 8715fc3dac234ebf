"""Live progress for long syncs in a terminal (records, pages, rate, ETA) and a summary."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from app.ingest.runner import ProgressCallback, StreamOutcome, StreamProgress


@contextmanager
def sync_progress(console: Console) -> Iterator[ProgressCallback]:
    """A callback for `SyncRunner.sync_source(progress=...)` that draws one bar per stream."""
    columns = (
        SpinnerColumn(),
        TextColumn("[bold]{task.fields[label]:<28}"),
        BarColumn(),
        TextColumn("{task.completed:>9,.0f} records"),
        TextColumn("{task.fields[pages]:>5} pages"),
        TextColumn("{task.fields[rate]:>8,.0f}/s"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    tasks: dict[tuple[str, str], TaskID] = {}
    with Progress(*columns, console=console, transient=False) as progress:

        def update(state: StreamProgress) -> None:
            key = (state.source, state.stream)
            if key not in tasks:
                tasks[key] = progress.add_task(
                    "", total=None, label=f"{state.source}: {state.stream}", pages=0, rate=0.0
                )
            task = tasks[key]
            elapsed = max(1e-6, progress.tasks[task].elapsed or 1e-6)
            progress.update(
                task,
                completed=state.records,
                total=state.total_hint,
                pages=state.pages,
                rate=state.records / elapsed,
            )

        yield update
        for task in tasks.values():
            if progress.tasks[task].total is None:
                progress.update(task, total=progress.tasks[task].completed)


def summary_table(title: str, outcomes: Sequence[StreamOutcome]) -> Table:
    table = Table(title=title)
    columns = ("stream", "status", "pages", "records", "changed", "deleted", "skipped", "requests")
    for column in columns:
        table.add_column(column, justify="left" if column in ("stream", "status") else "right")
    table.add_column("problem or note")
    for o in outcomes:
        notes = [f"{o.error_code}: {o.error_message}"] if o.error_code else []
        if o.records_skipped:
            notes.append(f"{o.records_skipped:,} kept aside: see /quarantine")
        table.add_row(
            o.stream,
            o.status.value,
            f"{o.pages:,}",
            f"{o.records:,}",
            f"{o.facts_changed:,}",
            f"{o.facts_deleted:,}",
            f"{o.records_skipped:,}",
            f"{o.requests:,}",
            "; ".join([*notes, *o.warnings]),
        )
    return table
