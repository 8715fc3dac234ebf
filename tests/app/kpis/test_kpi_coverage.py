"""Data coverage: a KPI value exists only for periods the PSA data covers; before a source's
history is held in full, or before it is synced, the value is null with a reason (never 0),
and the period still in progress is partial. Unit tests of the period states at their
boundaries, then the API on the hand-made KPI world (tests/kpi_world.py, New York) and on
the fake PSA synced by the runner."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fake_psa import add_fake_source, mark_synced
from kpi_world import HISTORY_FROM, NY, ny

from app.db import utcnow
from app.kpis.catalogue import Grain
from app.kpis.coverage import (
    Coverage,
    PeriodState,
    ScopeCoverage,
    SourceCoverage,
    synced_until_of,
)
from app.kpis.dirty import store_facts
from app.kpis.periods import Period, period_containing
from app.kpis.rollup import refresh_dirty_days
from connectors.sdk import TicketFact

# ---- the period states -------------------------------------------------------------------

MARCH_1 = Period(date(2025, 3, 1), date(2025, 3, 2))
MARCH = Period(date(2025, 3, 1), date(2025, 4, 1))  # New York moves to EDT on 9 March
LATER = date(2025, 6, 1)


def scope(history_from: date | None, synced_until: datetime | None, tz: Any = NY) -> ScopeCoverage:
    return ScopeCoverage((SourceCoverage(1, "PSA", history_from, synced_until),), tz)


def test_a_period_starts_at_local_midnight_as_a_utc_instant() -> None:
    start = datetime(2025, 3, 1, 5, tzinfo=UTC)  # midnight in New York (EST)

    assert scope(date(2025, 1, 1), start).state(MARCH_1, LATER) is PeriodState.NOT_SYNCED
    assert (
        scope(date(2025, 1, 1), start + timedelta(microseconds=1)).state(MARCH_1, LATER)
        is PeriodState.PARTIAL
    )
    # Midnight UTC is still 28 February in New York: nothing of 1 March is synced.
    assert (
        scope(date(2025, 1, 1), datetime(2025, 3, 1, tzinfo=UTC)).state(MARCH_1, LATER)
        is PeriodState.NOT_SYNCED
    )


def test_a_period_synced_exactly_to_its_end_is_complete() -> None:
    end = datetime(2025, 4, 1, 4, tzinfo=UTC)  # midnight in New York (EDT by then)

    assert scope(date(2025, 1, 1), end).state(MARCH, LATER) is PeriodState.COMPLETE
    assert (
        scope(date(2025, 1, 1), end - timedelta(microseconds=1)).state(MARCH, LATER)
        is PeriodState.PARTIAL
    )
    # The same instants in Auckland, 13 hours ahead: 1 March starts at 11:00 UTC on 28 Feb.
    auckland = ZoneInfo("Pacific/Auckland")
    day_end = datetime(2025, 3, 1, 11, tzinfo=UTC)
    assert scope(date(2025, 1, 1), day_end, auckland).state(MARCH_1, LATER) is (
        PeriodState.COMPLETE
    )
    assert scope(date(2025, 1, 1), day_end - timedelta(seconds=1), auckland).state(
        MARCH_1, LATER
    ) is (PeriodState.PARTIAL)


def test_a_period_not_ended_on_as_of_is_partial_however_far_it_is_synced() -> None:
    covered = scope(date(2025, 1, 1), datetime(2025, 7, 1, tzinfo=UTC))

    assert covered.state(MARCH, date(2025, 3, 30)) is PeriodState.PARTIAL
    assert covered.state(MARCH, date(2025, 3, 31)) is PeriodState.COMPLETE  # its last day
    assert covered.partial(MARCH, date(2025, 3, 30))
    assert covered.reason(MARCH, date(2025, 3, 30)) is None


def test_history_from_is_the_first_day_covered() -> None:
    synced = datetime(2025, 7, 1, tzinfo=UTC)

    assert scope(date(2025, 3, 1), synced).state(MARCH, LATER) is PeriodState.COMPLETE
    assert scope(date(2025, 3, 2), synced).state(MARCH, LATER) is PeriodState.BEFORE_HISTORY
    assert scope(date(2025, 3, 2), synced).reason(MARCH, LATER) == "before_history"
    assert not scope(date(2025, 3, 2), synced).partial(MARCH, LATER)


def test_not_synced_is_checked_before_history() -> None:
    # A period before history that the sync has not reached either: not synced.
    early = scope(date(2025, 3, 2), datetime(2025, 2, 1, tzinfo=UTC))
    assert early.state(MARCH, LATER) is PeriodState.NOT_SYNCED
    assert early.reason(MARCH, LATER) == "not_synced"
    assert scope(None, datetime(2025, 7, 1, tzinfo=UTC)).state(MARCH, LATER) is (
        PeriodState.NOT_SYNCED
    )
    assert scope(date(2025, 1, 1), None).state(MARCH, LATER) is PeriodState.NOT_SYNCED
    # The current period, not synced: no value, so not a value "so far" either.
    assert not scope(None, None).partial(MARCH, date(2025, 3, 15))


def test_no_sources_is_not_synced() -> None:
    empty = ScopeCoverage((), NY)

    assert empty.history_from is None and empty.synced_until is None
    assert empty.state(MARCH, LATER) is PeriodState.NOT_SYNCED


def test_over_several_sources_the_latest_history_and_the_earliest_sync_count() -> None:
    one = SourceCoverage(1, "A", date(2024, 1, 1), datetime(2025, 5, 1, tzinfo=UTC))
    two = SourceCoverage(2, "B", date(2025, 3, 2), datetime(2025, 4, 1, tzinfo=UTC))
    never = SourceCoverage(3, "C", None, None)

    both = ScopeCoverage((one, two), NY)
    assert both.history_from == date(2025, 3, 2)
    assert both.synced_until == datetime(2025, 4, 1, tzinfo=UTC)
    assert both.state(MARCH, LATER) is PeriodState.BEFORE_HISTORY
    assert ScopeCoverage((one,), NY).state(MARCH, LATER) is PeriodState.COMPLETE
    with_never = ScopeCoverage((one, never), NY)
    assert with_never.history_from is None and with_never.synced_until is None


def test_synced_until_is_the_earliest_success_of_every_stream() -> None:
    first, second = datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 3, 2, tzinfo=UTC)

    assert synced_until_of([second, first]) == first
    assert synced_until_of([first, None]) is None
    assert synced_until_of([]) is None


# ---- the values API ------------------------------------------------------------------------


def values(api: Any, key: str, **params: Any) -> dict[str, Any]:
    response = api.client.get(f"/api/v1/kpis/{key}/values", params=params, headers=api.read)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_period_before_history_is_null_with_its_reason_and_an_empty_one_is_0(
    kpi_source: Any,
) -> None:
    series = values(kpi_source, "tickets_created", **{"from": "2023-11-01", "to": "2024-03-01"})

    rows = [
        (r["period_start"], r["value"], r["sample_size"], r["reason"]) for r in series["values"]
    ]
    assert rows == [
        ("2023-11-01", None, 0, "before_history"),
        ("2023-12-01", None, 0, "before_history"),
        ("2024-01-01", 0.0, 0, None),  # covered and empty: a true 0
        ("2024-02-01", 0.0, 0, None),
    ]
    assert all(r["numerator"] is None for r in series["values"][:2])
    assert not any(r["partial"] for r in series["values"])
    coverage = series["coverage"]
    assert coverage["history_from"] == HISTORY_FROM.isoformat()
    assert coverage["sources"] == [
        {
            "id": kpi_source.setup.source_id,
            "name": "Fake PSA",
            "history_from": HISTORY_FROM.isoformat(),
            "synced_until": coverage["synced_until"],
        }
    ]


def test_a_ratio_and_the_revenue_before_history_are_null_too(kpi_source: Any) -> None:
    # Revenue too: the contracts' schedules reach back to June 2024, not before.
    for key in ("mrr", "sla_response_pct", "open_backlog"):
        (row,) = values(kpi_source, key, **{"from": "2023-12-01", "to": "2024-01-01"})["values"]
        assert (row["value"], row["reason"]) == (None, "before_history"), key


def test_the_current_month_is_partial(kpi_source: Any) -> None:
    today = datetime.now(NY).date()

    series = values(kpi_source, "tickets_created")  # the last 12 months and this one

    *past, current = series["values"]
    assert current["period_start"] == period_containing(today, Grain.MONTH).start.isoformat()
    assert (current["partial"], current["reason"], current["value"]) == (True, None, 0.0)
    assert not any(r["partial"] for r in past)


def test_csv_carries_partial_and_reason(kpi_source: Any) -> None:
    response = kpi_source.client.get(
        "/api/v1/kpis/tickets_created/values",
        params={"from": "2023-12-01", "to": "2024-02-01", "format": "csv"},
        headers=kpi_source.read,
    )

    assert response.text.splitlines() == [
        "period_start,period_end,value,numerator,denominator,sample_size,partial,reason",
        "2023-12-01,2024-01-01,,,,0,false,before_history",
        "2024-01-01,2024-02-01,0.0,0.0,,0,false,",
    ]


def test_a_source_never_synced_has_no_values(api: Any) -> None:
    series = values(api, "tickets_created", **{"from": "2025-01-01", "to": "2025-03-01"})

    assert [(r["value"], r["reason"]) for r in series["values"]] == [
        (None, "not_synced"),
        (None, "not_synced"),
    ]
    assert series["coverage"]["history_from"] is None
    assert series["coverage"]["synced_until"] is None


def add_second_source(api: Any, since: date) -> int:
    """Another PSA with one ticket in January 2025, its history held from `since`."""
    context = api.setup.context
    second = add_fake_source(context, name="Acquired PSA")
    ticket = TicketFact(external_id="A1", created_at=ny(2025, 1, 20), client_external_id="x1")
    with context.db.session() as session:
        store_facts(session, second, [ticket], NY)
        refresh_dirty_days(session, second, NY)
    mark_synced(context.db, second, since=since, tz=NY)
    return second


def test_over_two_sources_the_later_history_counts_unless_scoped_to_one(
    kpi_source: Any,
) -> None:
    second = add_second_source(kpi_source, since=date(2025, 2, 1))
    window = {"from": "2025-01-01", "to": "2025-03-01"}

    def rows(**scope: Any) -> list[tuple[Any, Any]]:
        series = values(kpi_source, "tickets_created", **window, **scope)
        return [(r["value"], r["reason"]) for r in series["values"]]

    assert rows() == [(None, "before_history"), (1.0, None)]
    assert rows(source=kpi_source.setup.source_id) == [(3.0, None), (1.0, None)]
    assert rows(source=second) == [(None, "before_history"), (0.0, None)]
    unscoped = values(kpi_source, "tickets_created", **window)["coverage"]
    assert unscoped["history_from"] == "2025-02-01"
    assert [s["history_from"] for s in unscoped["sources"]] == ["2024-01-01", "2025-02-01"]
    # A client belongs to one source: its values follow that source's coverage.
    assert values(kpi_source, "tickets_created", client="c1", source=1, **window)["values"][0][
        "value"
    ] == pytest.approx(2.0)


def test_a_breakdown_before_history_has_no_value_in_any_row(kpi_source: Any) -> None:
    add_second_source(kpi_source, since=date(2025, 2, 1))

    def breakdown(**params: Any) -> Any:
        response = kpi_source.client.get(
            "/api/v1/kpis/tickets_created/breakdown",
            params={"by": "client", "period": "2025-01", **params},
            headers=kpi_source.read,
        )
        assert response.status_code == 200, response.text
        return response

    # January is before the acquired PSA's history: no client has a value, not even a 0.
    before = breakdown().json()
    covered = breakdown(source=kpi_source.setup.source_id).json()

    assert (before["reason"], before["partial"]) == ("before_history", False)
    assert len(before["rows"]) == 3
    assert all((r["value"], r["sample_size"]) == (None, 0) for r in before["rows"])
    assert (covered["reason"], covered["partial"]) == (None, False)
    assert [r["value"] for r in covered["rows"]] == [2.0, 1.0]
    lines = breakdown(format="csv").text.splitlines()
    assert lines[0].endswith(",sample_size,partial,reason")
    assert len(lines) == 4
    assert all(line.endswith(",,,,0,false,before_history") for line in lines[1:])


def test_a_manual_kpi_has_no_coverage_and_its_current_period_is_partial(api: Any) -> None:
    declared = api.client.post(
        "/api/v1/kpis",
        headers=api.admin,
        json={"key": "team_confidence", "name": "Team confidence"},
    )
    assert declared.status_code == 201, declared.text
    today = datetime.now(api.setup.context.settings.tz).date()
    this_month = period_containing(today, Grain.MONTH)
    last_month = period_containing(this_month.start - timedelta(days=1), Grain.MONTH)
    recorded = api.client.post(
        "/api/v1/kpis/team_confidence/observations",
        headers=api.admin,
        json=[
            {"date": last_month.start.isoformat(), "value": 6},
            {"date": today.isoformat(), "value": 7},
        ],
    )
    assert recorded.status_code == 200, recorded.text

    series = values(
        api,
        "team_confidence",
        **{"from": last_month.start.isoformat(), "to": this_month.end.isoformat()},
    )

    assert series["coverage"] is None
    assert [(r["value"], r["partial"], r["reason"]) for r in series["values"]] == [
        (6.0, False, None),
        (7.0, True, None),
    ]


# ---- synced through the runner -------------------------------------------------------------


def test_a_whole_sync_covers_from_the_earliest_fact_and_the_api_says_so(api: Any) -> None:
    context = api.setup.context
    source_id = api.setup.source_id

    asyncio.run(context.runner.sync_source(source_id, trigger="cli"))

    # The fake PSA's earliest ticket is created on 31 January 2025 (UTC reporting zone).
    with context.db.session() as session:
        loaded = Coverage.load(session, context.settings.tz).for_source(source_id)
    assert loaded.history_from == date(2025, 1, 31)
    assert loaded.synced_until is not None and loaded.synced_until <= utcnow()
    series = values(api, "tickets_created", **{"from": "2025-01-01", "to": "2025-03-01"})
    assert [(r["value"], r["reason"]) for r in series["values"]] == [
        (None, "before_history"),  # January is held from the 31st only
        (33.0, None),
    ]
    assert series["coverage"]["history_from"] == "2025-01-31"
