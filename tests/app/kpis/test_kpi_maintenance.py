"""Incremental maintenance: a sync re-aggregates only the days it changed, and the result
equals a full rebuild."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from kpi_world import FACTS, NY, T4, ny
from sqlalchemy import select

from app.kpis.dirty import store_facts
from app.kpis.models import KpiDailyRollup, KpiMonthlyRollup
from app.kpis.rollup import rebuild, refresh_dirty_days


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
        incremental = rollups(session), rollups(session, KpiMonthlyRollup)
    with context.db.session() as session:
        rebuild(session, source_id, NY)
        assert (rollups(session), rollups(session, KpiMonthlyRollup)) == incremental
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
        return (
            session.scalar(
                select(KpiDailyRollup.tickets_created).where(
                    KpiDailyRollup.day == day, KpiDailyRollup.dim == "all"
                )
            )
            or 0.0
        )

    with context.db.session() as session:
        before = created_on(session, date(2025, 3, 1)), created_on(session, date(2025, 2, 28))
    assert store_and_refresh(kpi_source, at_midnight) == 1
    with context.db.session() as session:
        after = created_on(session, date(2025, 3, 1)), created_on(session, date(2025, 2, 28))
    assert after == (before[0] + 1, before[1])


def test_a_sync_through_the_runner_refreshes_the_kpis(fake: Any) -> None:
    import asyncio

    result = asyncio.run(fake.context.runner.sync_source(fake.source_id, trigger="cli"))

    assert result.days_reaggregated == 30  # the fake's 35 tickets span 30 creation days
    again = asyncio.run(fake.context.runner.sync_source(fake.source_id, trigger="cli", full=True))
    assert again.days_reaggregated == 0


def csat_by_technician(kpi_source: Any, day: date) -> dict[str, float]:
    with kpi_source.setup.context.db.session() as session:
        rows = session.execute(
            select(KpiDailyRollup.dim_value, KpiDailyRollup.csat_count).where(
                KpiDailyRollup.day == day, KpiDailyRollup.dim == "technician"
            )
        )
        return {technician: count for technician, count in rows if count}


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
