"""The request governor: the Autotask tenant's shared limit is the tenant's state, kept in
the database; a busy tenant stretches a source's intervals and a calm one restores them; at
the limit Northstar stops, keeps a reserve, and looks again within a minute."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from app.api.context import ServiceContext
from app.db import Database
from app.ingest.models import RunStatus, SyncCursor, SyncRun
from app.ingest.runner import SyncResult
from app.ingest.sandbox import sandbox_base_url, sandbox_support, sandbox_world
from app.main import create_app
from app.security.apikeys import create_api_key
from app.security.crypto import cipher_from_settings
from app.security.models import KeyScope
from app.settings import Settings
from app.sources import service
from app.sources.governor import source_http_limits, source_pace
from app.sources.models import Source, SourceStatus
from app.sources.service import create_source
from app.sources.tenant_book import DatabaseTenantBook, TenantUsageRow
from connectors.autotask import AutotaskConnector
from connectors.autotask.api import TENANT_RESERVE
from connectors.autotask.simulator import AutotaskSimulator
from connectors.sdk import TenantUsage

SEED, TICKETS = 5, 400
THRESHOLD = 10_000
STREAMS = ["tickets"]


@dataclass
class Tenant:
    context: ServiceContext
    simulator: AutotaskSimulator
    source_id: int

    def sync(self, streams: list[str] | None = None) -> SyncResult:
        return asyncio.run(
            self.context.runner.sync_source(
                self.source_id, trigger="schedule", streams=streams or STREAMS
            )
        )

    def api(self, path: str) -> httpx.Response:
        with self.context.db.session() as session:
            key = create_api_key(session, name="reader", scope=KeyScope.READ).key
        with TestClient(create_app(context=self.context, run_scheduler=False)) as client:
            response = client.get(path, headers={"X-API-Key": key})
        assert response.status_code == 200, response.text
        return response

    def reading(self) -> TenantUsage | None:
        return DatabaseTenantBook(self.context.db, self.source_id).latest()

    def age_reading(self, by: timedelta) -> None:
        """As if the latest reading had been taken `by` earlier."""
        with self.context.db.session() as session:
            row = session.get_one(TenantUsageRow, self.source_id)
            row.read_at -= by
            if row.limited_until is not None:
                row.limited_until -= by

    def checked_ago(self, stream: str, seconds: float) -> bool:
        """As if `stream` had last been checked `seconds` ago: whether it is due now."""
        now = datetime.now(UTC)
        with self.context.db.session() as session:
            session.execute(
                update(SyncCursor)
                .where(SyncCursor.source_id == self.source_id, SyncCursor.stream == stream)
                .values(last_success_at=now - timedelta(seconds=seconds), next_attempt_at=None)
            )
            source = session.get_one(Source, self.source_id)
            session.expunge(source)
        specs = list(AutotaskConnector.streams.values())
        return stream in self.context.runner.due_streams(source, specs, now)

    def pace_stretch(self) -> float:
        with self.context.db.session() as session:
            source = session.get_one(Source, self.source_id)
            limits = source_http_limits(source)
            # Every 5 minutes: the budget is in no danger, only the tenant's reading counts.
            frequent = {"tickets": timedelta(minutes=5)}
            pace = source_pace(session, source.id, limits, frequent, {}, datetime.now(UTC))
        return pace.stretch


@pytest.fixture
def tenant(settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tenant]:
    monkeypatch.setattr(service, "budgets", service.SourceBudgets())
    base = sandbox_base_url(SEED, TICKETS)
    support = sandbox_support("autotask")
    assert support is not None
    simulator = support.create_app(sandbox_world(SEED, TICKETS, None), base)
    simulator.hourly_threshold = THRESHOLD
    transport = httpx.ASGITransport(app=simulator)
    context = ServiceContext.build(settings, db=db, transports=lambda _source: transport)
    with db.session() as session:
        source = create_source(
            session,
            cipher_from_settings(settings),
            name="Autotask tenant",
            kind="autotask",
            config=support.source_config(base),
            fast_interval_minutes=5,
            slow_interval_minutes=60,
        )
        source.status = SourceStatus.ACTIVE
        session.flush()
        source_id = source.id
    yield Tenant(context, simulator, source_id)


def test_a_tenant_at_75_percent_stretches_intervals_and_a_calm_one_restores_them(
    tenant: Tenant,
) -> None:
    tenant.simulator.other_integrations_usage = 7_500
    tenant.sync()
    reading = tenant.reading()
    assert reading is not None and reading.threshold == THRESHOLD
    assert 0.75 <= reading.fraction < 0.76
    assert tenant.pace_stretch() == pytest.approx(2.0, abs=0.05)
    # Tickets are checked every minute: at 75 % not after 70 s, only after about two minutes.
    assert not tenant.checked_ago("tickets", 70)
    assert tenant.checked_ago("tickets", 125)

    shown = tenant.api(f"/api/v1/sources/{tenant.source_id}").json()["budget"]
    assert shown["tenant"]["threshold"] == THRESHOLD
    assert 75.0 <= shown["tenant"]["used_percent"] < 76.0
    assert shown["stretch"] == pytest.approx(2.0, abs=0.05)
    assert "used 75% of its 10,000 requests an hour" in shown["reasons"][0]
    live = {s["stream"]: s for s in shown["streams"]}["tickets"]
    assert live["interval_seconds"] == 60
    assert live["effective_interval_seconds"] == pytest.approx(120, abs=3)
    # Checked 4 minutes ago: past 3 of its normal minute, within 3 of the two it has now.
    tenant.checked_ago("tickets", 240)
    freshness = tenant.api(f"/api/v1/sources/{tenant.source_id}").json()["freshness"]
    assert {s["name"]: s["stale"] for s in freshness["streams"]}["tickets"] is False
    metrics = tenant.api("/metrics").text
    assert f'northstar_source_interval_stretch{{source_id="{tenant.source_id}"' in metrics
    assert "northstar_psa_tenant_used_ratio{" in metrics

    tenant.simulator.other_integrations_usage = 1_000
    tenant.age_reading(timedelta(minutes=6))  # due to be read again
    tenant.sync()
    reading = tenant.reading()
    assert reading is not None and reading.fraction < 0.5
    assert tenant.pace_stretch() == 1.0
    assert tenant.checked_ago("tickets", 70)
    assert tenant.api(f"/api/v1/sources/{tenant.source_id}").json()["budget"]["stretch"] == 1.0


def test_the_reading_is_shared_and_not_read_again_while_recent(tenant: Tenant) -> None:
    tenant.sync()
    first = tenant.reading()
    asked = tenant.simulator.stats.requests["ThresholdInformation"]
    tenant.sync()
    assert tenant.simulator.stats.requests["ThresholdInformation"] == asked
    assert tenant.reading() == first


def test_at_the_tenants_limit_nothing_more_is_asked_and_it_looks_again_within_a_minute(
    tenant: Tenant,
) -> None:
    tenant.simulator.other_integrations_usage = THRESHOLD - TENANT_RESERVE // 2
    before = sum(tenant.simulator.stats.requests.values())
    result = tenant.sync()
    # Only the reading itself: no data was asked for.
    assert sum(tenant.simulator.stats.requests.values()) - before == 1
    (outcome,) = result
    assert outcome.error_code == "psa_tenant_limit_reached"
    assert outcome.error_message is not None
    assert "10,000 API requests per hour for the whole tenant" in outcome.error_message
    assert "2,500" not in outcome.error_message  # not Northstar's own ceiling
    with tenant.context.db.session() as session:
        state = session.get_one(SyncCursor, (tenant.source_id, "tickets"))
        assert state.next_attempt_at is not None
        assert state.next_attempt_at - datetime.now(UTC) < timedelta(minutes=2)

    # A second try within the minute asks nothing at all.
    again = sum(tenant.simulator.stats.requests.values())
    tenant.sync()
    assert sum(tenant.simulator.stats.requests.values()) == again

    # A minute later the tenant has recovered: the reading sees it and the sync goes on.
    tenant.simulator.other_integrations_usage = 0
    tenant.age_reading(timedelta(seconds=61))
    with tenant.context.db.session() as session:
        session.execute(update(SyncCursor).values(next_attempt_at=None))
    (outcome,) = tenant.sync()
    assert outcome.error_code is None
    assert outcome.records > 0


def test_a_refusal_for_the_tenants_limit_is_kept_as_the_tenants_state(tenant: Tenant) -> None:
    # A recent calm reading, then the other integrations burst through the limit.
    DatabaseTenantBook(tenant.context.db, tenant.source_id).record(
        TenantUsage(THRESHOLD, 100, datetime.now(UTC))
    )
    tenant.simulator.other_integrations_usage = THRESHOLD
    tenant.simulator.hourly_retry_after = 90
    (outcome,) = tenant.sync()
    assert outcome.error_code == "psa_tenant_limit_reached"
    reading = tenant.reading()
    assert reading is not None and reading.limited_until is not None
    wait = reading.limited_until - datetime.now(UTC)
    assert timedelta(seconds=60) < wait <= timedelta(seconds=90)
    assert tenant.pace_stretch() == 10.0


def test_steady_polling_over_its_share_stretches_the_slow_streams_first(tenant: Tenant) -> None:
    minute, hour = timedelta(minutes=1), timedelta(hours=1)
    costs = {"tickets": 1, "time_entries": 1, "time_entry_ids": 604}
    with tenant.context.db.session() as session:
        for stream, requests in costs.items():
            for _ in range(3):
                session.add(
                    SyncRun(
                        source_id=tenant.source_id,
                        stream=stream,
                        trigger="schedule",
                        status=RunStatus.SUCCEEDED,
                        requests=requests,
                    )
                )
        session.flush()
        source = session.get_one(Source, tenant.source_id)
        pace = source_pace(
            session,
            source.id,
            source_http_limits(source),
            {"tickets": minute, "time_entries": minute},
            {"time_entry_ids": hour},
            datetime.now(UTC),
        )
    # 60 + 60 an hour for the frequent checks, 604 for the hourly sweep: the sweep gives way,
    # to fit in what 90 % of the 250 an hour leaves it (105).
    assert (pace.steady_per_hour, pace.forecast_per_hour) == (250, 724)
    assert pace.stretch == 1.0
    assert pace.slow_stretch == round(604 / 105, 2)
    assert pace.interval(hour, slow=True) == hour * round(604 / 105, 2)
    assert "724 requests an hour" in pace.reasons[0]
