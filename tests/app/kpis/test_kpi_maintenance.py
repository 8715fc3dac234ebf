"""Incremental maintenance: a sync re-aggregates only the days it changed, and the result
equals a full rebuild."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date
from typing import Any

from fake_psa import T0
from kpi_world import FACTS, NY, T4, ny
from sqlalchemy import func, select

from app.kpis.dirty import store_facts
from app.kpis.models import KpiDailyRollup, KpiDirtyDay, KpiMonthlyRollup, KpiRebuildPending
from app.kpis.rollup import fact_days, rebuild, refresh_dirty_days, request_rebuild
from connectors.sdk import SurveyResponseFact, TimeEntryFact


def rollups(session: Any, table: Any = KpiDailyRollup) -> list[tuple[Any, ...]]:
    rows = session.execute(select(table).order_by(table.day, table.dim, table.dim_value)).scalars()
    return [
        (
            r.day,
            r.dim,
            r.dim_value,
            *(
                round(getattr(r, m), 9)
                for m in (
                    "tickets_created",
                    "tickets_closed",
                    "response_met",
                    "response_decided",
                    "resolution_hours_sum",
                    "hours",
                    "utilization_hours",
                    "csat_count",
                )
            ),
        )
        for r in rows
    ]


def all_rollups(session: Any) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    return rollups(session), rollups(session, KpiMonthlyRollup)


def daily_measure(session: Any, day: date, dim: str, measure: str) -> dict[str, float]:
    """A measure's non-zero values on `day`, per value of `dim` ("" for `all`)."""
    rows = session.execute(
        select(KpiDailyRollup.dim_value, getattr(KpiDailyRollup, measure)).where(
            KpiDailyRollup.day == day, KpiDailyRollup.dim == dim
        )
    )
    return {value: amount for value, amount in rows if amount}


def test_an_unchanged_page_re_aggregates_nothing(kpi_source: Any) -> None:
    context = kpi_source.setup.context
    with context.db.session() as session:
        store_facts(session, kpi_source.setup.source_id, FACTS, NY)
        assert refresh_dirty_days(session, kpi_source.setup.source_id, NY) == 0


def store_and_refresh(kpi_source: Any, changed: Any) -> int:
    """Store one changed fact and refresh its dirty days; checks the rollups then equal a
    full rebuild and returns how many days were re-aggregated."""
    context = kpi_source.setup.context
    source_id = kpi_source.setup.source_id
    with context.db.session() as session:
        store_facts(session, source_id, [changed], NY)
        reaggregated = refresh_dirty_days(session, source_id, NY)
        incremental = all_rollups(session)
    with context.db.session() as session:
        rebuild(session, source_id, NY)
        assert all_rollups(session) == incremental
    return reaggregated


def test_a_change_re_aggregates_only_the_days_it_touched_and_equals_a_rebuild(
    kpi_source: Any,
) -> None:
    # T4 moves to priority P1 and its resolution to Feb 10: its own event days (Feb 3, 5 → 10,
    # 6), its time entry's day (Feb 3) and its survey's day (Feb 7) change.
    changed = dataclasses.replace(
        T4, priority="Emergency", priority_level=1, resolved_at=ny(2025, 2, 10)
    )

    assert store_and_refresh(kpi_source, changed) == 5  # Feb 3, 5, 6, 7 and 10: nothing else


def test_a_later_resolution_re_aggregates_only_its_old_and_new_day(kpi_source: Any) -> None:
    """Its creation, first response and closure still add the same to their days."""
    resolved_later = dataclasses.replace(T4, resolved_at=ny(2025, 2, 10), resolution_met=False)

    assert store_and_refresh(kpi_source, resolved_later) == 2  # Feb 5 and Feb 10


def test_a_reopened_ticket_re_aggregates_the_days_its_events_left(kpi_source: Any) -> None:
    reopened = dataclasses.replace(
        T4, resolved_at=None, closed_at=None, is_closed=False, resolution_met=None
    )

    assert store_and_refresh(kpi_source, reopened) == 2  # Feb 5 (resolution), Feb 6 (closure)


def test_a_ticket_opened_at_local_midnight_counts_on_that_day(kpi_source: Any) -> None:
    """The instant stored at a day's first second is compared with the day's bounds: it
    must be stored in the one form the database compares (SQLite keeps text)."""
    context = kpi_source.setup.context
    at_midnight = dataclasses.replace(
        T4,
        external_id="T-midnight",
        created_at=ny(2025, 3, 1, 0, 0),
        first_response_at=None,
        resolved_at=None,
        closed_at=None,
        is_closed=False,
        response_met=None,
        resolution_met=None,
    )

    def created_on(session: Any, day: date) -> float:
        return daily_measure(session, day, "all", "tickets_created").get("", 0.0)

    with context.db.session() as session:
        before = created_on(session, date(2025, 3, 1)), created_on(session, date(2025, 2, 28))
    assert store_and_refresh(kpi_source, at_midnight) == 1
    with context.db.session() as session:
        after = created_on(session, date(2025, 3, 1)), created_on(session, date(2025, 2, 28))
    assert after == (before[0] + 1, before[1])


def pending_work(session: Any) -> tuple[int, int]:
    """(dirty days, rebuilds pending) left behind."""
    return (
        session.scalar(select(func.count()).select_from(KpiDirtyDay)),
        session.scalar(select(func.count()).select_from(KpiRebuildPending)),
    )


def test_a_first_sync_rebuilds_the_rollups_once_then_syncs_mark_days(fake: Any) -> None:
    """A first sync (like a full re-read) stores its pages without working out their days
    and rebuilds the source's rollups at the end; later syncs re-aggregate what changed."""
    context, source_id = fake.context, fake.source_id

    first = asyncio.run(context.runner.sync_source(source_id, trigger="cli"))

    with context.db.session() as session:
        assert pending_work(session) == (0, 0)
        assert first.days_reaggregated == len(
            fact_days(session, source_id, context.settings.tz, None)
        )
        after_sync = all_rollups(session)
    with context.db.session() as session:
        rebuild(session, source_id, context.settings.tz)
        assert all_rollups(session) == after_sync
    assert after_sync[0], "the first sync wrote rollups"

    fake.api.records["tickets"][3]["client"] = "999"  # moved to another client upstream
    fake.api.records["tickets"][3]["updated"] = T0.replace(year=2030).isoformat()
    again = asyncio.run(context.runner.sync_source(source_id, trigger="cli"))
    assert again.days_reaggregated == 1  # the ticket's creation day, nothing else
    full = asyncio.run(context.runner.sync_source(source_id, trigger="cli", full=True))
    assert full.days_reaggregated == first.days_reaggregated  # a full re-read rebuilds


def test_a_backfill_stopped_before_its_rebuild_is_rebuilt_by_the_next_sync(fake: Any) -> None:
    """A process killed mid-backfill leaves facts whose days nobody marked, and the note
    that a rebuild is due: the next sync, incremental or not, ends with that rebuild."""
    context, source_id = fake.context, fake.source_id
    asyncio.run(context.runner.sync_source(source_id, trigger="cli"))
    with context.db.session() as session:
        before = all_rollups(session)
        request_rebuild(session, source_id)  # what the killed backfill had committed ...
        late = dataclasses.replace(T4, external_id="late", client_external_id="c9")
        store_facts(session, source_id, [late], context.settings.tz, mark_days=False)

    nothing_new = asyncio.run(
        context.runner.sync_source(source_id, trigger="cli", streams=["tickets"])
    )

    assert nothing_new.days_reaggregated > 0
    with context.db.session() as session:
        assert pending_work(session) == (0, 0)
        after = all_rollups(session)
        clients = {row[2] for row in after[0] if row[1] == "client"}
    assert after != before and "c9" in clients


def csat_by_technician(kpi_source: Any, day: date) -> dict[str, float]:
    with kpi_source.setup.context.db.session() as session:
        return daily_measure(session, day, "technician", "csat_count")


def test_a_reassigned_ticket_takes_its_survey_to_the_new_technician(kpi_source: Any) -> None:
    """The PSA does not re-send a survey when its ticket changes hands: the survey follows
    the ticket's current assignee, and an unassigned ticket's survey counts for nobody."""
    survey_day = date(2025, 2, 7)  # s2, on T4, as its connector read it then
    s2 = next(f for f in FACTS if getattr(f, "external_id", None) == "s2")
    store_and_refresh(kpi_source, dataclasses.replace(s2, technician_external_id="t1"))
    assert csat_by_technician(kpi_source, survey_day) == {"t1": 1.0}

    # T4's own days (Feb 3, 5, 6), its time entry's (Feb 3) and its survey's (Feb 7)
    assert store_and_refresh(kpi_source, dataclasses.replace(T4, assignee_external_id="t3")) == 4
    assert csat_by_technician(kpi_source, survey_day) == {"t3": 1.0}

    store_and_refresh(kpi_source, dataclasses.replace(T4, assignee_external_id=None))
    assert csat_by_technician(kpi_source, survey_day) == {}


def test_a_survey_whose_ticket_is_not_stored_keeps_its_own_technician(kpi_source: Any) -> None:
    on_unknown_ticket = SurveyResponseFact("s-orphan", ny(2025, 2, 12), 0.8, "T-gone", "c1", "t3")

    assert store_and_refresh(kpi_source, on_unknown_ticket) == 1
    assert csat_by_technician(kpi_source, date(2025, 2, 12)) == {"t3": 1.0}


def test_a_rebuild_from_a_date_leaves_earlier_dirty_days_to_the_next_refresh(
    kpi_source: Any,
) -> None:
    context, source_id = kpi_source.setup.context, kpi_source.setup.source_id
    with context.db.session() as session:
        store_facts(session, source_id, [dataclasses.replace(T4, client_external_id="c9")], NY)
        rebuild(session, source_id, NY, since=date(2025, 2, 4))
        still_dirty = set(session.scalars(select(KpiDirtyDay.day)))
    assert still_dirty == {date(2025, 2, 3)}  # T4's creation and first response

    with context.db.session() as session:
        assert refresh_dirty_days(session, source_id, NY) == 1


def test_a_rebuild_walks_the_days_with_facts_not_the_years_between(kpi_source: Any) -> None:
    """A mistyped year (time booked in 2199, a survey stamped 1999) costs its own days."""
    context, source_id = kpi_source.setup.context, kpi_source.setup.source_id
    with context.db.session() as session:
        before = rebuild(session, source_id, NY)
        store_facts(
            session,
            source_id,
            [
                TimeEntryFact("e-typo", "t1", date(2199, 1, 1), 1.0, 0.0, True, "c1", None),
                SurveyResponseFact("s-typo", ny(1999, 6, 1), 1.0, None, "c1"),
            ],
            NY,
        )
        after = rebuild(session, source_id, NY)
        hours = daily_measure(session, date(2199, 1, 1), "all", "hours").get("")
    assert after - before <= 3  # 2199-01-01, and the local days of 1999-06-01 (UTC)
    assert hours == 1.0
