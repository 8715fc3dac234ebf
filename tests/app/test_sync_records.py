"""What a run says and keeps: bad records quarantined (never dropped, never blocking), every
count written back, deletions the PSA logs without an id matched exactly or not at all."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fake_psa import T0, FakeSetup, make_tickets
from sqlalchemy import func, select

from app.facts.matching import resolve_matched_deletions
from app.facts.models import TicketRow, TimeEntryRow
from app.facts.store import write_facts
from app.ingest.models import QuarantinedRecord, RunStatus, SweepSeenId, SyncRun
from app.ingest.runner import StreamProgress, Trigger
from connectors.sdk import Deletion, FactType, MatchedDeletion, TimeEntryFact

pytestmark = pytest.mark.anyio


async def sync(setup: FakeSetup, **kwargs: Any) -> dict[str, Any]:
    outcomes = await setup.context.runner.sync_source(
        setup.source_id, trigger=kwargs.pop("trigger", Trigger.CLI), **kwargs
    )
    return {o.stream: o for o in outcomes}


def stored_ticket_ids(setup: FakeSetup) -> set[str]:
    with setup.context.db.session() as session:
        return set(session.scalars(select(TicketRow.external_id)))


def quarantined(setup: FakeSetup) -> dict[str, tuple[str, str]]:
    with setup.context.db.session() as session:
        return {
            q.record_key: (q.field, q.reason) for q in session.scalars(select(QuarantinedRecord))
        }


def broken_tickets(setup: FakeSetup) -> list[dict[str, Any]]:
    tickets = make_tickets(35)
    del tickets[6]["created"]  # ticket 7: a required field missing
    del tickets[11]["updated"]  # ticket 12: a field the connector did not expect to miss
    setup.api.records["tickets"] = tickets
    return tickets


async def test_a_bad_record_is_quarantined_and_the_rest_of_its_page_stored(
    fake: FakeSetup,
) -> None:
    broken_tickets(fake)

    outcomes = await sync(fake)

    tickets = outcomes["tickets"]
    assert tickets.status is RunStatus.SUCCEEDED
    assert (tickets.records, tickets.facts_changed, tickets.records_skipped) == (35, 33, 2)
    assert stored_ticket_ids(fake) == {str(i) for i in range(1, 36)} - {"7", "12"}
    assert quarantined(fake) == {
        "7": ("created", "missing"),
        "12": ("updated", "could not be read (KeyError)"),
    }
    with fake.context.db.session() as session:
        run = session.get(SyncRun, tickets.run_id)
        assert run is not None and run.records_skipped == 2
        raw = session.scalar(
            select(QuarantinedRecord.raw).where(QuarantinedRecord.record_key == "7")
        )
        assert raw is not None and raw["title"] == "Printer on floor 0 is jammed"


async def test_a_record_fixed_at_the_source_leaves_quarantine_at_the_next_sync(
    fake: FakeSetup,
) -> None:
    tickets = broken_tickets(fake)
    await sync(fake)
    # Fixed in the PSA: the record carries a new change stamp, so the next read brings it.
    tickets[6]["created"] = (T0 - timedelta(days=3)).isoformat()
    tickets[6]["updated"] = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()

    outcomes = await sync(fake, streams=["tickets"])

    assert outcomes["tickets"].records_skipped == 0
    assert "7" in stored_ticket_ids(fake)
    assert set(quarantined(fake)) == {"12"}  # still broken in the PSA


async def test_a_quarantined_record_is_tried_again_when_a_newer_connector_reads_it(
    fake: FakeSetup, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken_tickets(fake)
    await sync(fake)
    from fake_psa import FakeConnector

    original = FakeConnector.normalize

    def tolerant(self: FakeConnector, stream: str, record: Any) -> Any:
        if stream == "tickets" and "updated" not in record:
            record = {**record, "updated": record["created"]}
        return original(self, stream, record)

    monkeypatch.setattr(FakeConnector, "normalize", tolerant)
    await sync(fake, streams=["tickets"])  # the PSA sends nothing new

    assert "12" in stored_ticket_ids(fake)
    assert set(quarantined(fake)) == {"7"}


async def test_runs_list_skipped_records_with_field_and_reason(fake: FakeSetup) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.security.apikeys import create_api_key
    from app.security.models import KeyScope

    broken_tickets(fake)
    await sync(fake)
    with fake.context.db.session() as session:
        key = create_api_key(session, name="read", scope=KeyScope.READ).key
    with TestClient(create_app(context=fake.context, run_scheduler=False)) as client:
        headers = {"X-API-Key": key}
        runs = client.get(f"/api/v1/sources/{fake.source_id}/runs", headers=headers).json()
        held = client.get(f"/api/v1/sources/{fake.source_id}/quarantine", headers=headers)
        csv = client.get(f"/api/v1/sources/{fake.source_id}/quarantine?format=csv", headers=headers)
        unknown = client.get("/api/v1/sources/999/quarantine", headers=headers)
    [tickets_run] = [r for r in runs if r["stream"] == "tickets"]
    assert tickets_run["records_skipped"] == 2
    assert {(s["record_key"], s["field"], s["reason"]) for s in tickets_run["skipped"]} == {
        ("7", "created", "missing"),
        ("12", "updated", "could not be read (KeyError)"),
    }
    assert [(r["stream"], r["record_key"]) for r in held.json()] == [
        ("tickets", "7"),
        ("tickets", "12"),
    ]
    assert held.json()[0]["raw"]["id"] == 7
    assert csv.text.splitlines()[0].startswith("stream,record_key,field,reason")
    assert unknown.status_code == 404


async def test_sweep_deletions_are_written_to_the_run(fake: FakeSetup) -> None:
    fake.api.records["tickets"] = make_tickets(35)
    await sync(fake)
    fake.api.records["tickets"] = make_tickets(35)[3:]  # three deleted in the PSA

    outcomes = await sync(fake, streams=["ticket_sweep"])

    assert outcomes["ticket_sweep"].facts_deleted == 3
    with fake.context.db.session() as session:
        run = session.get(SyncRun, outcomes["ticket_sweep"].run_id)
        assert run is not None and (run.facts_deleted, run.records) == (3, 32)
    assert len(stored_ticket_ids(fake)) == 32


async def test_a_full_re_read_still_sweeps(fake: FakeSetup) -> None:
    fake.api.records["tickets"] = make_tickets(35)
    await sync(fake)
    fake.api.records["tickets"] = make_tickets(35)[:30]

    outcomes = await sync(fake, full=True)

    # The source held tickets before this sync: the sweep can find some gone, so it runs.
    assert outcomes["ticket_sweep"].requests > 0
    assert outcomes["ticket_sweep"].facts_deleted == 5


async def test_a_run_shows_its_requests_while_it_runs(fake: FakeSetup) -> None:
    fake.api.records["tickets"] = make_tickets(35)
    seen: list[tuple[int, int]] = []

    def look(progress: StreamProgress) -> None:
        if progress.stream == "tickets":
            with fake.context.db.session() as session:
                run = session.scalars(select(SyncRun).where(SyncRun.stream == "tickets")).one()
                seen.append((run.pages, run.requests))

    await sync(fake, progress=look)

    assert seen == [(1, 1), (2, 2), (3, 3), (4, 4)]


async def test_an_interrupted_run_leaves_no_seen_ids(fake: FakeSetup) -> None:
    fake.api.records["tickets"] = make_tickets(35)
    await sync(fake)
    with fake.context.db.session() as session:  # a sweep killed half way, as by SIGKILL
        killed = SyncRun(
            source_id=fake.source_id, stream="ticket_sweep", trigger="schedule", status="running"
        )
        session.add(killed)
        session.flush()
        session.add_all(SweepSeenId(run_id=killed.id, external_id=str(i)) for i in range(20))

    await sync(fake, streams=["tickets"])

    with fake.context.db.session() as session:
        assert session.scalar(select(func.count()).select_from(SweepSeenId)) == 0
        statuses = set(session.scalars(select(SyncRun.status)))
    assert "running" not in statuses and "interrupted" in statuses


def entry(external_id: str, hours: float = 1.5, **changes: Any) -> TimeEntryFact:
    values: dict[str, Any] = {
        "external_id": external_id,
        "technician_external_id": "29682885",
        "work_date": date(2026, 11, 3),
        "hours": hours,
        "ticket_external_id": "7001",
        "started_at": datetime(2026, 11, 3, 14, 0, tzinfo=UTC),
    }
    return TimeEntryFact(**(values | changes))


def logged(hours: float = 1.5, start_hour: int = 14) -> MatchedDeletion:
    return MatchedDeletion(
        FactType.TIME_ENTRY,
        match=(
            ("ticket_external_id", "7001"),
            ("technician_external_id", "29682885"),
            ("started_at", datetime(2026, 11, 3, start_hour, 0, tzinfo=UTC)),
            ("hours", hours),
        ),
    )


def test_a_logged_deletion_removes_the_one_entry_it_matches(fake: FakeSetup) -> None:
    with fake.context.db.session() as session:
        write_facts(session, fake.source_id, [entry("1"), entry("2", hours=0.5)])
        resolved = resolve_matched_deletions(
            session, fake.source_id, [logged(1.5), logged(2.0), logged(1.5, start_hour=9)]
        )
    assert resolved.items == [Deletion(FactType.TIME_ENTRY, "1")]
    assert (resolved.ambiguous, resolved.unmatched) == (0, 2)


def test_a_logged_deletion_matching_two_entries_deletes_neither(fake: FakeSetup) -> None:
    with fake.context.db.session() as session:
        write_facts(session, fake.source_id, [entry("1"), entry("2")])  # twins
        resolved = resolve_matched_deletions(session, fake.source_id, [logged()])
        assert resolved.items == [] and resolved.ambiguous == 1
        assert session.scalar(select(func.count()).select_from(TimeEntryRow)) == 2
