"""Push from the PSA, end to end: Northstar registers with the simulator, the simulator
delivers its notices to Northstar served on loopback, and the announced records are read
again through the connector and stored, as the regular check would store them.

Autotask signs its webhooks: a forged or unsigned one is refused and changes nothing, a
replay is read once, one for a record Northstar cannot read is logged and ignored. A gap
in deliveries is noticed, polling stores the change all the same, and Northstar registers
again. ConnectWise's callbacks are not signed: its URL token is what is checked."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from live_server import serve_on_loopback
from simulated_sources import simulated_source
from sqlalchemy import func, select, update

from app.api.context import ServiceContext
from app.db import Database
from app.facts.models import TicketRow, TimeEntryRow
from app.ingest.models import SyncRun
from app.main import create_app
from app.push.drain import PushCycleResult, push_cycle
from app.push.models import PushChannel, PushNoticeRow
from app.security.apikeys import create_api_key
from app.security.models import KeyScope
from app.settings import Settings
from app.sources.models import Source
from connectors.sandbox.model import SandboxWorld
from connectors.sandbox.mutate import MutationSummary, mutate_world

TICKETS = 300


@dataclass
class Pushed:
    """A source of `kind` over its own world, Northstar on loopback as its public URL."""

    kind: str
    context: ServiceContext
    simulator: Any
    world: SandboxWorld
    source_id: int
    base_url: str
    admin_key: str

    def cycle(self) -> PushCycleResult:
        return asyncio.run(push_cycle(self.context.runner, self.source_id))

    def sync(self, streams: list[str] | None = None) -> None:
        result = asyncio.run(
            self.context.runner.sync_source(self.source_id, trigger="cli", streams=streams)
        )
        assert [(o.stream, o.error_message) for o in result if o.error_code] == []

    def change(self, seed: int) -> MutationSummary:
        """Change the PSA now, as between two checks, and let it send its notices."""
        summary = mutate_world(self.world, seed=seed, fraction=0.05, at=datetime.now(UTC))
        asyncio.run(self.simulator.announce(summary))
        return summary

    def stored_tickets(self) -> dict[str, tuple[Any, ...]]:
        with self.context.db.session() as session:
            rows = session.scalars(select(TicketRow).where(TicketRow.source_id == self.source_id))
            return {
                r.external_id: (
                    r.status,
                    r.is_closed,
                    r.priority,
                    r.closed_at,
                    r.resolved_at,
                    r.assignee_external_id,
                    r.client_external_id,
                    r.response_met,
                    r.resolution_met,
                )
                for r in rows
            }

    def stored_time_entries(self) -> set[str]:
        with self.context.db.session() as session:
            rows = select(TimeEntryRow.external_id).where(TimeEntryRow.source_id == self.source_id)
            return set(session.scalars(rows))

    def channel(self) -> PushChannel:
        with self.context.db.session() as session:
            channel = session.get_one(PushChannel, self.source_id)
            session.expunge(channel)
            return channel

    def notices(self) -> int:
        with self.context.db.session() as session:
            return session.scalar(select(func.count()).select_from(PushNoticeRow)) or 0

    def notices_pending(self) -> int:
        with self.context.db.session() as session:
            pending = PushNoticeRow.processed_at.is_(None)
            return session.scalar(select(func.count()).where(pending)) or 0

    def sync_runs(self) -> int:
        with self.context.db.session() as session:
            return session.scalar(select(func.count()).select_from(SyncRun)) or 0

    def push_runs(self) -> list[SyncRun]:
        with self.context.db.session() as session:
            runs = list(session.scalars(select(SyncRun).where(SyncRun.trigger == "push")))
            session.expunge_all()
            return runs

    def admin_headers(self) -> dict[str, str]:
        return {"X-API-Key": self.admin_key}

    def source_view(self) -> dict[str, Any]:
        response = httpx.get(
            f"{self.base_url}/api/v1/sources/{self.source_id}", headers=self.admin_headers()
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer


def registrations(pushed: Pushed) -> int:
    if pushed.kind == "autotask":
        return sum(len(rows) for rows in pushed.simulator.webhooks.rows.values())
    return len(pushed.simulator.callbacks.entries)


def deliveries(pushed: Pushed) -> list[Any]:
    registry = (
        pushed.simulator.webhooks if pushed.kind == "autotask" else pushed.simulator.callbacks
    )
    return list(registry.deliveries)


@contextmanager
def pushed_source(kind: str, settings: Settings, db: Database) -> Iterator[Pushed]:
    settings = settings.model_copy(update={"push_debounce_seconds": 0.0})
    made = simulated_source(settings, db, kind, seed=91, tickets=TICKETS, name=f"{kind} pushed")
    context, source_id = made.context, made.source_id
    with db.session() as session:
        admin_key = create_api_key(session, name="admin", scope=KeyScope.ADMIN).key
    with serve_on_loopback(create_app(context=context, run_scheduler=False)) as url:
        # The address the PSA is given: known once the server listens.
        context.runner.settings = settings.model_copy(update={"public_base_url": url})
        yield Pushed(kind, context, made.simulator, made.world, source_id, url, admin_key)


@pytest.fixture(params=["autotask", "connectwise"])
def pushed(request: pytest.FixtureRequest, settings: Settings, db: Database) -> Iterator[Pushed]:
    with pushed_source(request.param, settings, db) as source:
        yield source


def test_a_change_the_psa_announces_is_stored_as_the_regular_check_would(pushed: Pushed) -> None:
    pushed.sync()
    assert pushed.cycle().runs == 0
    assert registrations(pushed) == (2 if pushed.kind == "autotask" else 3)
    assert pushed.source_view()["push"]["state"] == "active"

    summary = pushed.change(seed=1)
    assert deliveries(pushed) and all(d.status == 200 for d in deliveries(pushed))
    result = pushed.cycle()

    assert result.runs >= 1 and result.stored >= len(summary.tickets_updated)
    by_push = pushed.stored_tickets()
    for deleted in summary.tickets_deleted:
        assert str(deleted) not in by_push
    pushed.sync()  # the regular check, reading the same changes itself
    assert pushed.stored_tickets() == by_push
    view = pushed.source_view()["push"]
    assert view["deliveries"] >= 1 and view["pending"] == 0
    assert all(run.status == "succeeded" and run.requests >= 1 for run in pushed.push_runs())


def test_a_second_registration_reuses_what_the_psa_has(pushed: Pushed) -> None:
    pushed.cycle()
    with pushed.context.db.session() as session:
        session.execute(
            update(PushChannel)
            .where(PushChannel.source_id == pushed.source_id)
            .values(public_base_url="https://old.example.com")
        )
    pushed.cycle()  # a changed public URL: the old registrations go, new ones come
    assert registrations(pushed) == (2 if pushed.kind == "autotask" else 3)


def test_a_notice_with_a_wrong_token_is_refused_and_changes_nothing(pushed: Pushed) -> None:
    pushed.cycle()
    response = httpx.post(
        f"{pushed.base_url}/api/v1/push/{pushed.source_id}/guessed-token",
        json={"Action": "updated", "ID": 1, "Type": "ticket", "Entity": "{}"},
    )
    assert response.status_code == 401
    assert response.json()["code"] == "delivery_refused"
    assert pushed.notices() == 0
    assert pushed.channel().refused == 1


def test_deleting_the_source_removes_what_it_registered(pushed: Pushed) -> None:
    pushed.cycle()
    assert registrations(pushed) > 0
    response = httpx.delete(
        f"{pushed.base_url}/api/v1/sources/{pushed.source_id}",
        headers={"X-API-Key": pushed.admin_key},
    )
    assert response.status_code == 204
    assert registrations(pushed) == 0


# ---- Autotask's signed webhooks ------------------------------------------------------------


@pytest.fixture
def autotask(settings: Settings, db: Database) -> Iterator[Pushed]:
    with pushed_source("autotask", settings, db) as source:
        yield source


def _delivered_webhook(autotask: Pushed) -> tuple[str, bytes, dict[str, str]]:
    autotask.sync()
    autotask.cycle()
    autotask.change(seed=2)
    delivered = deliveries(autotask)[0]
    return delivered.url, delivered.body, delivered.headers


def test_a_forged_or_unsigned_webhook_is_refused_and_changes_nothing(autotask: Pushed) -> None:
    url, body, _headers = _delivered_webhook(autotask)
    autotask.cycle()
    before, notices = autotask.stored_tickets(), autotask.notices()
    payload = json.loads(body)
    forged = json.dumps({**payload, "Id": payload["Id"], "SequenceNumber": 10_000}).encode()
    content = {"content-type": "application/json"}
    answers = [
        httpx.post(url, content=forged, headers={**content, "X-Hook-Signature": "c2lnbmF0dXJl"}),
        httpx.post(url, content=forged, headers=content),
    ]

    assert [a.status_code for a in answers] == [401, 401]
    assert autotask.notices() == notices
    autotask.cycle()
    assert autotask.stored_tickets() == before
    assert autotask.channel().refused == 2


def test_a_replayed_webhook_is_read_once(autotask: Pushed) -> None:
    url, body, headers = _delivered_webhook(autotask)
    notices = autotask.notices()

    again = httpx.post(url, content=body, headers=headers)

    assert again.status_code == 200 and again.json() == {"received": 0, "replay": True}
    assert autotask.notices() == notices
    assert autotask.channel().replays == 1
    runs = autotask.cycle().runs
    assert runs == len(autotask.push_runs()) and autotask.cycle().runs == 0


def test_a_webhook_for_a_record_northstar_cannot_read_is_logged_and_ignored(
    autotask: Pushed, caplog: pytest.LogCaptureFixture
) -> None:
    from connectors.autotask.push import signature_of  # the simulator signs the same way

    url, body, _headers = _delivered_webhook(autotask)
    autotask.cycle()
    before = autotask.stored_tickets()
    payload = {**json.loads(body), "Id": 987_654_321, "SequenceNumber": 99, "Action": "Update"}
    unknown = json.dumps(payload).encode()
    secret = autotask.simulator.webhooks.rows["TicketWebhooks"]
    key = next(iter(secret.values()))["secretKey"]

    response = httpx.post(
        url,
        content=unknown,
        headers={
            "content-type": "application/json",
            "X-Hook-Signature": signature_of(unknown, key),
        },
    )
    assert response.status_code == 200 and response.json()["received"] == 1
    with caplog.at_level(logging.WARNING):
        result = autotask.cycle()

    assert result.ignored == 1
    assert autotask.stored_tickets() == before
    assert "push_record_unreadable" in caplog.text
    last = autotask.push_runs()[-1]
    assert last.warnings and "could not be read" in last.warnings[0]


def test_a_gap_in_deliveries_falls_back_to_polling_and_registers_again(autotask: Pushed) -> None:
    autotask.sync()
    autotask.cycle()
    # Someone removes Northstar's webhooks in Autotask; an hour passes.
    autotask.simulator.webhooks.rows = {name: {} for name in autotask.simulator.webhooks.rows}
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    with autotask.context.db.session() as session:
        session.execute(
            update(PushChannel)
            .where(PushChannel.source_id == autotask.source_id)
            .values(registered_at=hour_ago, last_delivery_at=hour_ago)
        )
    summary = autotask.change(seed=3)
    assert deliveries(autotask) == []

    autotask.sync(["tickets"])  # the regular check, within one interval
    stored = autotask.stored_tickets()
    assert all(str(t) in stored for t in summary.tickets_added)
    autotask.cycle()

    channel = autotask.channel()
    assert channel.state == "gap" and channel.gaps == 1
    assert "without telling Northstar" in (channel.state_message or "")
    assert registrations(autotask) == 2  # registered again
    health = httpx.get(f"{autotask.base_url}/api/v1/health", headers=autotask.admin_headers())
    assert [s["push"] for s in health.json()["sources"]] == ["gap"]
    assert autotask.source_view()["push"]["gaps"] == 1
    autotask.change(seed=4)
    assert deliveries(autotask) and autotask.channel().state == "active"


def test_a_webhook_autotask_switches_off_is_registered_again(autotask: Pushed) -> None:
    from connectors.autotask.push import signature_of

    url, _body, _headers = _delivered_webhook(autotask)
    autotask.cycle()
    webhook = next(iter(autotask.simulator.webhooks.rows["TicketWebhooks"].values()))
    webhook["isActive"] = False  # what Autotask does before it calls the DeactivationUrl
    notice = json.dumps({"Guid": webhook["webhookGUID"], "EntityType": "Ticket"}).encode()
    signed = {
        "content-type": "application/json",
        "X-Hook-Signature": signature_of(notice, webhook["secretKey"]),
    }

    answer = httpx.post(f"{url}?deactivated=1", content=notice, headers=signed)

    assert answer.status_code == 200 and answer.json()["received"] == 0
    assert autotask.channel().state == "gap"
    autotask.cycle()
    assert autotask.channel().state == "active"
    active = [
        w for w in autotask.simulator.webhooks.rows["TicketWebhooks"].values() if w["isActive"]
    ]
    assert active, "the ticket webhook is active again"


def test_the_scheduler_reads_a_notice_at_once_not_at_the_next_check(autotask: Pushed) -> None:
    autotask.sync()
    autotask.cycle()
    with autotask.context.db.session() as session:
        # The regular check would come only in an hour: only the notice can bring the change.
        session.get_one(Source, autotask.source_id).live_interval_seconds = 3600
        session.get_one(Source, autotask.source_id).fast_interval_minutes = 60
    autotask.context.settings = autotask.context.settings.model_copy(
        update={"push_debounce_seconds": 1.0}
    )
    scheduler = autotask.context.make_scheduler()
    scheduler.start()
    try:
        # Let the first tick (every stream is due once) pass.
        assert wait_for(lambda: not scheduler.syncs_in_progress and autotask.sync_runs() > 0)
        runs_before = autotask.sync_runs()
        summary = autotask.change(seed=5)
        assert summary.tickets_added
        added = str(summary.tickets_added[0])

        assert wait_for(lambda: added in autotask.stored_tickets())
        # Time logged on a ticket: the ticket's notice has the time entries checked at once.
        logged = {str(i) for i in summary.time_entries_added}
        assert logged and wait_for(lambda: logged <= autotask.stored_time_entries())
        assert wait_for(lambda: autotask.notices_pending() == 0)
        runs = autotask.push_runs()
        assert {run.stream for run in runs} == {"tickets", "time_entries"}
        # A burst is read in one go, not a run per notice (the debounce).
        assert len(deliveries(autotask)) >= 3 and len(runs) < len(deliveries(autotask))
        assert autotask.sync_runs() - runs_before == len(runs)  # no regular check ran
    finally:
        scheduler.shutdown()


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_a_notice_whose_record_cannot_be_read_yet_waits_for_the_next_cycle(
    autotask: Pushed,
) -> None:
    autotask.sync()
    autotask.cycle()
    summary = autotask.change(seed=6)
    # Autotask is down for the next hour (its Retry-After): the re-read stops at once.
    autotask.simulator.inject(503, "Service Unavailable", entity="Tickets", retry_after=3600)

    failed = autotask.cycle()

    assert failed.runs == 1 and failed.stored == 0
    assert autotask.push_runs()[-1].status == "failed"
    assert autotask.notices_pending() > 0  # kept, not lost
    autotask.simulator.faults.clear()
    assert autotask.cycle().stored >= len(summary.tickets_updated)
    assert autotask.notices_pending() == 0
