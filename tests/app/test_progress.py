"""The live progress display and the summary after a sync fit an 80-column terminal
without cutting a stream's name or its status, for every stream both PSAs have; the
headline says whether the sync worked."""

from __future__ import annotations

import pytest
from rich.console import Console

from app.ingest.models import RunStatus
from app.ingest.run_book import StreamOutcome
from app.ingest.runner import StreamProgress
from app.progress import compact, print_sync_summary, sync_headline, sync_progress
from connectors.autotask.streams import STREAMS as AUTOTASK_STREAMS
from connectors.connectwise.streams import STREAMS as CONNECTWISE_STREAMS

SOURCE = "Contoso Support (Autotask sandbox, acquired)"
STATUSES = [RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.INTERRUPTED]


def terminal(width: int) -> Console:
    """A recording console of that width (not a live terminal: only the final frame)."""
    return Console(width=width, record=True, force_terminal=False, color_system=None)


def lines_of(console: Console) -> list[str]:
    """What was printed so far (once: exporting clears the record)."""
    return console.export_text().splitlines()


def the_line_naming(stream: str, lines: list[str]) -> str:
    found = [line for line in lines if line.split()[:1] == [stream]]
    assert len(found) == 1, (stream, lines)
    return found[0]


def big_outcome(index: int, stream: str) -> StreamOutcome:
    """Numbers as large as a long backfill's, so abbreviations are needed at 80."""
    return StreamOutcome(
        stream=stream,
        status=STATUSES[index % 3],
        run_id=index,
        pages=12_345 * index,
        records=1_234_567 * index,
        facts_changed=987_654 * index,
        facts_deleted=4_321 * index,
        records_skipped=index % 2,
        requests=23_456 * index,
        error_code="rate_limited" if index % 3 else None,
        error_message="The PSA kept answering 429; the next sync resumes here."
        if index % 3
        else None,
    )


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize(
    "streams",
    [list(CONNECTWISE_STREAMS), list(AUTOTASK_STREAMS)],
    ids=["connectwise", "autotask"],
)
def test_progress_rows_keep_every_stream_name_whole(width: int, streams: list[str]) -> None:
    console = terminal(width)
    with sync_progress(console) as update:
        for index, stream in enumerate(streams):
            update(
                StreamProgress(
                    source=SOURCE, stream=stream, pages=999 * index, records=3_456_789 * index
                )
            )

    lines = lines_of(console)
    assert all(len(line) <= width for line in lines), lines
    assert "…" not in "".join(lines)
    assert lines[0] == SOURCE
    for stream in streams:
        row = the_line_naming(stream, lines)
        assert "rec" in row and "ETA" in row


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize(
    "streams",
    [list(CONNECTWISE_STREAMS), list(AUTOTASK_STREAMS)],
    ids=["connectwise", "autotask"],
)
def test_the_summary_keeps_every_stream_and_status_whole(width: int, streams: list[str]) -> None:
    console = terminal(width)
    outcomes = [big_outcome(index, stream) for index, stream in enumerate(streams)]

    synced = print_sync_summary(console, SOURCE, outcomes, 7.04)

    assert synced is False
    lines = lines_of(console)
    assert all(len(line) <= width for line in lines), lines
    rule = next(i for i, line in enumerate(lines) if line.startswith("───"))
    table = lines[rule + 1 : rule + 1 + len(outcomes)]
    for outcome in outcomes:
        row = the_line_naming(outcome.stream, table)
        assert row.split()[1] == outcome.status.value
    text = " ".join(lines)
    assert "…" not in text
    assert f"{SOURCE}: sync partly failed after 7.0 s:" in text


def test_the_summary_is_exact_where_there_is_room() -> None:
    console = terminal(80)
    outcome = StreamOutcome(
        stream="tickets", status=RunStatus.SUCCEEDED, run_id=1, records=31_234, requests=40
    )

    assert print_sync_summary(console, "Northwind", [outcome], 1.25) is True

    lines = lines_of(console)
    assert "31,234" in the_line_naming("tickets", lines).split()
    assert lines[-1] == "Northwind: synced in 1.2 s, 1 stream."


def outcome(stream: str, status: RunStatus, *, stops: bool = False) -> StreamOutcome:
    return StreamOutcome(stream=stream, status=status, run_id=1, stops_source=stops)


OK, FAILED = RunStatus.SUCCEEDED, RunStatus.FAILED


@pytest.mark.parametrize(
    ("outcomes", "headline"),
    [
        ([outcome("a", OK), outcome("b", OK)], "[green]S: synced in 7.0 s, 2 streams.[/green]"),
        (
            [outcome("a", OK), outcome("b", FAILED), outcome("c", FAILED)],
            "[red]S: sync partly failed after 7.0 s: 1 stream synced; b and c failed.[/red]",
        ),
        (
            [outcome("a", OK), outcome("b", OK), outcome("c", FAILED, stops=True)],
            "[red]S: sync partly failed after 7.0 s: 2 streams synced; c failed; the rest "
            "were not tried.[/red]",
        ),
        (
            [outcome("a", FAILED, stops=True)],
            "[red]S: sync failed after 7.0 s: a failed; the rest were not tried.[/red]",
        ),
        (
            [outcome("a", FAILED), outcome("b", RunStatus.INTERRUPTED)],
            "[red]S: sync failed after 7.0 s: a and b failed.[/red]",
        ),
    ],
    ids=["synced", "partly", "stopped-partway", "stopped-at-once", "all-failed"],
)
def test_the_headline_tells_the_truth(outcomes: list[StreamOutcome], headline: str) -> None:
    assert sync_headline("S", outcomes, 7.04) == headline


def test_a_sync_that_could_not_start_says_why() -> None:
    headline = sync_headline("S", [], 0.2, reason="ConnectWise refused the keys.")
    assert headline == "[red]S: nothing was synced: ConnectWise refused the keys.[/red]"


@pytest.mark.parametrize(
    ("number", "text"),
    [(0, "0"), (999, "999"), (1_000, "1k"), (12_345, "12.3k"), (123_456, "123k"),
     (1_234_567, "1.23M"), (2_500_000_000, "2.5G")],
)  # fmt: skip
def test_numbers_are_abbreviated_to_three_figures(number: int, text: str) -> None:
    assert compact(number) == text
