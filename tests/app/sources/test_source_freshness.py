"""Freshness you can see: per stream the last successful check and the newest change read,
with their ages, and `stale` per stream and source, in /api/v1/sources, /api/v1/health and
/metrics, after a real sync of the built-in simulators."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from leak_guard import CheckedClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from app.api.context import ServiceContext
from app.db import Database
from app.facts.models import TicketRow
from app.ingest.freshness import newest_change
from app.ingest.models import SyncCursor
from app.ingest.sandbox import sandbox_base_url, sandbox_support
from app.main import create_app
from app.security.apikeys import create_api_key
from app.security.models import KeyScope
from app.settings import Settings
from connectors.autotask.streams import STREAMS as AUTOTASK_STREAMS
from connectors.connectwise.streams import STREAMS as CONNECTWISE_STREAMS


class Site:
    def __init__(self, client: CheckedClient, context: ServiceContext, key: str) -> None:
        self.client, self.context = client, context
        self.headers = {"X-API-Key": key}

    def get(self, path: str) -> Any:
        response = self.client.get(path, headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()

    def add_sandbox(self, kind: str, **intervals: int) -> int:
        support = sandbox_support(kind)
        assert support is not None
        created = self.client.post(
            "/api/v1/sources",
            headers=self.headers,
            json={
                "name": f"{kind} sandbox",
                "kind": kind,
                "config": support.source_config(sandbox_base_url(7, 60)),
                **intervals,
            },
        )
        assert created.status_code == 201, created.text
        assert created.json()["check"]["ok"]
        source_id: int = created.json()["id"]
        return source_id

    def sync(self, source_id: int) -> None:
        result = asyncio.run(self.context.runner.sync_source(source_id, trigger="cli"))
        assert [(o.stream, o.error_code) for o in result if o.error_code] == []

    def age_checks(self, source_id: int, elapsed: timedelta) -> None:
        """Every check of the source dated `elapsed` earlier, as if that long had passed."""
        with self.context.db.session() as session:
            for state in session.scalars(
                select(SyncCursor).where(SyncCursor.source_id == source_id)
            ):
                if state.last_success_at is not None:
                    state.last_success_at -= elapsed


@pytest.fixture
def site(settings: Settings, db: Database) -> Iterator[Site]:
    """The real connector registry and the sandbox-aware transports, an admin key."""
    context = ServiceContext.build(settings, db=db)
    with db.session() as session:
        key = create_api_key(session, name="admin", scope=KeyScope.ADMIN).key
    with CheckedClient(create_app(context=context, run_scheduler=False)) as client:
        yield Site(client, context, key)


def streams_of(freshness: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in freshness["streams"]}


# ---- the newest change stamp of a page -------------------------------------------------------


def test_the_newest_change_is_read_from_the_streams_own_change_stamp() -> None:
    tickets = CONNECTWISE_STREAMS["tickets"]  # `_info/lastUpdated`, nested
    records = [
        {"id": 1, "_info": {"lastUpdated": "2026-12-03T10:00:00Z"}},
        {"id": 2, "_info": {"lastUpdated": "2026-12-03T11:30:00Z"}},
        {"id": 3, "_info": {"lastUpdated": "not a date"}},
        {"id": 4},
    ]
    assert newest_change(tickets, records) == datetime(2026, 12, 3, 11, 30, tzinfo=UTC)


def test_an_autotask_stamp_with_seven_digits_and_no_zone_is_utc() -> None:
    time_entries = AUTOTASK_STREAMS["time_entries"]  # `lastModifiedDateTime`
    records = [{"id": 9, "lastModifiedDateTime": "2026-12-03T09:15:00.1234567"}]
    assert newest_change(time_entries, records) == datetime(
        2026, 12, 3, 9, 15, 0, 123456, tzinfo=UTC
    )


def test_a_sweep_has_no_change_stamp() -> None:
    assert newest_change(CONNECTWISE_STREAMS["tickets_sweep"], [{"id": 1}]) is None


# ---- /api/v1/sources ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["connectwise", "autotask"])
def test_after_a_sync_each_stream_shows_its_check_and_newest_change(site: Site, kind: str) -> None:
    source_id = site.add_sandbox(kind)

    site.sync(source_id)

    source = site.get(f"/api/v1/sources/{source_id}")
    assert source["live_interval_seconds"] == 60
    freshness = source["freshness"]
    assert freshness["stale"] is False
    streams = streams_of(freshness)
    tickets = streams["tickets"]
    assert (tickets["cadence"], tickets["interval_seconds"], tickets["stale"]) == (
        "live",
        60,
        False,
    )
    assert tickets["last_checked_at"] is not None and 0 <= tickets["checked_age_seconds"] < 60
    assert tickets["newest_change_at"] is not None
    assert tickets["change_age_seconds"] >= tickets["checked_age_seconds"]
    assert streams["time_entries"]["newest_change_at"] is not None
    sweeps = [s for s in streams.values() if s["cadence"] == "slow"]
    assert sweeps and all(s["interval_seconds"] == 3600 for s in sweeps)
    (listed,) = site.get("/api/v1/sources")
    assert streams_of(listed["freshness"]).keys() == streams.keys()


def test_the_newest_change_is_the_newest_stored_ticket_stamp(site: Site) -> None:
    source_id = site.add_sandbox("connectwise")

    site.sync(source_id)

    with site.context.db.session() as session:
        newest_ticket = session.scalar(
            select(func.max(TicketRow.updated_at)).where(TicketRow.source_id == source_id)
        )
    tickets = streams_of(site.get(f"/api/v1/sources/{source_id}")["freshness"])["tickets"]
    assert datetime.fromisoformat(tickets["newest_change_at"]) == newest_ticket


def test_tickets_unchecked_for_three_minutes_make_the_source_stale(site: Site) -> None:
    source_id = site.add_sandbox("connectwise")
    site.sync(source_id)

    site.age_checks(source_id, timedelta(minutes=3, seconds=5))

    freshness = site.get(f"/api/v1/sources/{source_id}")["freshness"]
    stale = sorted(s["name"] for s in freshness["streams"] if s["stale"])
    assert (freshness["stale"], stale) == (True, ["tickets", "time_entries"])


def test_the_live_interval_is_set_when_adding_and_changed_with_patch(site: Site) -> None:
    source_id = site.add_sandbox("autotask", live_interval_seconds=30)
    assert site.get(f"/api/v1/sources/{source_id}")["live_interval_seconds"] == 30

    changed = site.client.patch(
        f"/api/v1/sources/{source_id}", headers=site.headers, json={"live_interval_seconds": 120}
    )

    assert changed.status_code == 200, changed.text
    assert changed.json()["live_interval_seconds"] == 120
    assert changed.json()["check"] is None  # an interval is not a setting the PSA checks
    tickets = streams_of(changed.json()["freshness"])["tickets"]
    assert tickets["interval_seconds"] == 120


@pytest.mark.parametrize("seconds", [14, 3601])
def test_a_live_interval_out_of_range_is_refused(site: Site, seconds: int) -> None:
    source_id = site.add_sandbox("connectwise")

    refused = site.client.patch(
        f"/api/v1/sources/{source_id}",
        headers=site.headers,
        json={"live_interval_seconds": seconds},
    )

    assert refused.status_code == 422
    assert "live_interval_seconds" in refused.text


# ---- /api/v1/health and /metrics ------------------------------------------------------------


def test_health_shows_each_streams_freshness_and_counts_a_stale_source(site: Site) -> None:
    source_id = site.add_sandbox("connectwise")
    site.sync(source_id)
    fresh = site.get("/api/v1/health")

    site.age_checks(source_id, timedelta(minutes=4))
    aged = site.get("/api/v1/health")

    assert (fresh["status"], fresh["sources_stale"]) == ("ok", 0)
    (source,) = aged["sources"]
    assert (aged["status"], aged["sources_stale"], source["stale"]) == ("degraded", 1, True)
    tickets = streams_of(source["freshness"])["tickets"]
    assert tickets["stale"] is True and 240 <= tickets["checked_age_seconds"] < 300


def scrape(site: Site) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    response = site.client.get("/metrics", headers=site.headers)
    assert response.status_code == 200, response.text
    return {
        family.name: {tuple(sorted(s.labels.items())): s.value for s in family.samples}
        for family in text_string_to_metric_families(response.text)
    }


def test_metrics_carry_check_and_change_ages_and_the_stale_flag(site: Site) -> None:
    source_id = site.add_sandbox("autotask")
    site.sync(source_id)
    site.age_checks(source_id, timedelta(minutes=10))

    families = scrape(site)

    base = (("kind", "autotask"), ("source", "autotask sandbox"), ("source_id", str(source_id)))
    tickets = tuple(sorted((*base, ("cadence", "live"), ("stream", "tickets"))))
    assert 600 <= families["northstar_stream_check_age_seconds"][tickets] < 660
    change_age = families["northstar_stream_newest_change_age_seconds"][tickets]
    assert change_age >= families["northstar_stream_check_age_seconds"][tickets]
    assert families["northstar_source_stale"] == {base: 1.0}
    resources = tuple(sorted((*base, ("cadence", "slow"), ("stream", "resources"))))
    # A full refresh has no change stamp: no sample, rather than a made-up age.
    assert resources not in families["northstar_stream_newest_change_age_seconds"]
