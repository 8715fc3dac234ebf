"""Combined scopes (issue 21, part 3): two scope filters at once, read from the pair
rollups, agree with sums worked out here straight from the stored facts.

The store is the sandbox world synced through the ConnectWise simulator. For each declared
pair (app.kpis.pairs) the test picks the pair member with the most tickets in 2025 and
compares a count (tickets created), a ratio (SLA resolution met), the hours logged and
the open backlog, month by month, with the facts filtered on both scopes.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date, datetime, tzinfo
from typing import Any

import pytest
from kpi_world import NY, T1
from leak_guard import CheckedClient
from source_checks import check_source
from sqlalchemy import select

from app.api.context import ServiceContext
from app.db import Database
from app.facts.models import ClientRow, TicketRow, TimeEntryRow
from app.ingest.sandbox import sandbox_base_url, sandbox_support
from app.kpis.catalogue import CATALOGUE
from app.kpis.compute import COUNTS, RATIOS
from app.kpis.dirty import store_facts
from app.kpis.pairs import PAIRS, ScopePair, pairs_of
from app.kpis.rollup import refresh_dirty_days
from app.main import create_app
from app.security.apikeys import create_api_key
from app.security.models import KeyScope
from app.settings import Settings
from app.sources.service import create_source

SEED, TICKETS = 11, 400
YEAR = [date(2025, month, 1) for month in range(1, 13)]
LEVEL_NAMES = {1: "P1", 2: "P2", 3: "P3", 4: "P4"}


@dataclasses.dataclass
class World:
    client: CheckedClient
    headers: dict[str, str]
    source_id: int
    tickets: list[TicketRow]
    entries: list[TimeEntryRow]
    tz: tzinfo
    client_ids: dict[str, int]  # Northstar's client id by the PSA's


@pytest.fixture(scope="module")
def world(module_settings: Settings) -> Iterator[World]:
    """Built once for the module (the tests only read it): a sync of 400 tickets takes
    seconds, more on PostgreSQL."""
    settings = module_settings
    db = Database(settings.database_url)
    context = ServiceContext.build(settings, db=db)
    support = sandbox_support("connectwise")
    assert support is not None
    with db.session() as session:
        source_id = create_source(
            session,
            context.cipher,
            name="connectwise",
            kind="connectwise",
            config=support.source_config(sandbox_base_url(SEED, TICKETS)),
            fast_interval_minutes=5,
            slow_interval_minutes=60,
        ).id
        key = create_api_key(session, name="read", scope=KeyScope.READ).key
    assert check_source(context, source_id).ok
    result = asyncio.run(context.runner.sync_source(source_id, trigger="cli"))
    assert [(o.stream, o.error_code) for o in result if o.error_code] == []
    with db.session() as session:
        tickets = list(session.scalars(select(TicketRow)))
        entries = list(session.scalars(select(TimeEntryRow)))
        client_ids = {
            row[0]: row[1] for row in session.execute(select(ClientRow.external_id, ClientRow.id))
        }
        session.expunge_all()
    with CheckedClient(create_app(context=context, run_scheduler=False)) as client:
        yield World(
            client, {"X-API-Key": key}, source_id, tickets, entries, settings.tz, client_ids
        )
    db.dispose()


# ---- the facts, filtered and summed here --------------------------------------------------

Member = dict[str, str]  # scope -> the value a fact has for it ("" when it has none)


def ticket_member(ticket: TicketRow) -> Member:
    level = ticket.priority_level
    return {
        "client": ticket.client_external_id or "",
        "technician": ticket.assignee_external_id or "",
        "board": ticket.board or "",
        "priority": LEVEL_NAMES.get(level, "") if level is not None else "",
    }


def entry_member(entry: TimeEntryRow, tickets: dict[str, TicketRow]) -> Member:
    """A time entry's own client and technician; board and priority through its ticket."""
    ticket = tickets.get(entry.ticket_external_id or "")
    through = ticket_member(ticket) if ticket is not None else {"board": "", "priority": ""}
    return {
        "client": entry.client_external_id or "",
        "technician": entry.technician_external_id or "",
        "board": through["board"],
        "priority": through["priority"],
    }


def month_of(moment: datetime | date, tz: tzinfo) -> date:
    day = moment.astimezone(tz).date() if isinstance(moment, datetime) else moment
    return day.replace(day=1)


def expected_series(world: World, kpi: str, wanted: Member) -> list[float | None]:
    """The KPI per month of 2025 over the facts whose scopes are all `wanted`."""
    by_id = {t.external_id: t for t in world.tickets}

    def matches(member: Member) -> bool:
        return all(member[scope] == value for scope, value in wanted.items())

    numerator: dict[date, float] = defaultdict(float)
    denominator: dict[date, float] = defaultdict(float)
    if kpi == "open_backlog":  # at each month's end: created before it, not closed before it
        ends = [*YEAR[1:], date(2026, 1, 1)]
        mine = [t for t in world.tickets if matches(ticket_member(t))]
        return [
            float(
                sum(
                    1
                    for t in mine
                    if t.created_at.astimezone(world.tz).date() < end
                    and (t.closed_at is None or t.closed_at.astimezone(world.tz).date() >= end)
                )
            )
            for end in ends
        ]
    if kpi == "hours_logged":
        for entry in world.entries:
            if matches(entry_member(entry, by_id)):
                numerator[month_of(entry.work_date, world.tz)] += entry.hours
        return [numerator[m] for m in YEAR]
    for ticket in world.tickets:
        if not matches(ticket_member(ticket)):
            continue
        if kpi == "tickets_created":
            numerator[month_of(ticket.created_at, world.tz)] += 1
        elif ticket.resolved_at is not None and ticket.resolution_met is not None:
            month = month_of(ticket.resolved_at, world.tz)
            numerator[month] += 1 if ticket.resolution_met else 0
            denominator[month] += 1
    if kpi == "tickets_created":
        return [numerator[m] for m in YEAR]
    return [100 * numerator[m] / denominator[m] if denominator[m] else None for m in YEAR]


def busiest(world: World, pair: ScopePair) -> Member:
    """The pair member with the most tickets created in 2025 (both scopes set)."""
    counts: Counter[tuple[str, str]] = Counter()
    for ticket in world.tickets:
        member = ticket_member(ticket)
        first, second = member[pair.first.value], member[pair.second.value]
        if first and second and month_of(ticket.created_at, world.tz).year == 2025:
            counts[(first, second)] += 1
    (first, second), _ = counts.most_common(1)[0]
    return {pair.first.value: first, pair.second.value: second}


def rest_series(world: World, kpi: str, query: dict[str, Any]) -> list[float | None]:
    response = world.client.get(
        f"/api/v1/kpis/{kpi}/values",
        params={"grain": "month", "from": "2025-01-01", "to": "2026-01-01", **query},
        headers=world.headers,
    )
    assert response.status_code == 200, response.text
    rows = response.json()["values"]
    assert [r["reason"] for r in rows] == [None] * 12
    return [r["value"] for r in rows]


def approx(values: list[float | None]) -> list[Any]:
    return [None if v is None else pytest.approx(v, abs=1e-6) for v in values]


KPIS = ("tickets_created", "sla_resolution_pct", "hours_logged", "open_backlog")


def case_id(pair: ScopePair) -> str:
    return pair.name


# ---- the behaviours ------------------------------------------------------------------------


def test_only_kpis_read_from_the_additive_rollups_take_a_pair() -> None:
    rollup_kpis = {*COUNTS, *RATIOS, "open_backlog"}

    assert {k.key for k in CATALOGUE if pairs_of(k)} == rollup_kpis


@pytest.mark.parametrize("pair", PAIRS, ids=case_id)
def test_each_pair_agrees_with_the_facts_filtered_on_both_scopes(
    world: World, pair: ScopePair
) -> None:
    member = busiest(world, pair)
    query = {**member, "source": world.source_id}

    got = {kpi: rest_series(world, kpi, query) for kpi in KPIS}

    assert got == {kpi: approx(expected_series(world, kpi, member)) for kpi in KPIS}
    assert sum(v or 0 for v in got["tickets_created"]) > 0  # the member has tickets


def test_a_pair_given_in_either_order_and_without_source_is_the_same_series(
    world: World,
) -> None:
    pair = PAIRS[2]  # client and priority
    member = busiest(world, pair)
    canonical = world.client_ids[member["client"]]  # Northstar's own id needs no source

    by_canonical_id = rest_series(
        world, "tickets_created", {"priority": member["priority"], "client": canonical}
    )

    assert by_canonical_id == approx(expected_series(world, "tickets_created", member))


def test_csv_gives_the_pair_series(world: World) -> None:
    member = busiest(world, PAIRS[3])  # technician and board
    expected = expected_series(world, "tickets_created", member)

    response = world.client.get(
        "/api/v1/kpis/tickets_created/values",
        params={"from": "2025-01-01", "to": "2026-01-01", "source": world.source_id, **member},
        headers={**world.headers, "Accept": "text/csv"},
    )

    assert response.status_code == 200
    values = [line.split(",")[2] for line in response.text.splitlines()[1:]]
    assert values == [str(float(v)) for v in expected if v is not None]


# ---- refusals and incremental syncs (the hand-made world of tests/kpi_world.py) -----------

REFUSED: list[tuple[str, dict[str, str], str, str]] = [
    (
        "utilization_pct",
        {"technician": "t1", "board": "Service"},
        "scope_combination_not_supported",
        "Utilisation (utilization_pct) cannot be split by technician and board together.",
    ),
    (
        "mrr",
        {"client": "c1", "priority": "P1"},
        "scope_combination_not_supported",
        "Monthly recurring revenue (mrr) cannot be split by client and priority together.",
    ),
    (
        "tickets_created",
        {"client": "c1", "priority": "Emergency"},
        "priority_name_not_combinable",
        "Combined with client, priority is P1, P2, P3 or P4",
    ),
]


@pytest.mark.parametrize(("kpi", "query", "code", "message"), REFUSED)
def test_a_combination_the_kpi_cannot_be_split_by_is_a_400_naming_it(
    kpi_source: Any, kpi: str, query: dict[str, str], code: str, message: str
) -> None:
    response = kpi_source.client.get(
        f"/api/v1/kpis/{kpi}/values",
        params={"from": "2025-01-01", "to": "2025-02-01", "source": "1", **query},
        headers=kpi_source.read,
    )

    assert response.status_code == 400
    assert (response.json()["code"], response.json()["message"].startswith(message)) == (
        code,
        True,
    )


def test_the_refusal_lists_the_pairs_the_kpi_supports(kpi_source: Any) -> None:
    response = kpi_source.client.get(
        "/api/v1/kpis/utilization_pct/values",
        params={"client": "c1", "technician": "t1", "source": "1"},
        headers=kpi_source.read,
    )

    assert response.json()["message"].endswith(
        "It can be scoped by: source, technician; and split by these pairs (each with "
        "source too, if you like): none."
    )


def p1_for_c1(api: Any) -> list[float | None]:
    response = api.client.get(
        "/api/v1/kpis/tickets_created/values",
        params={"from": "2025-01-01", "to": "2025-03-01", "source": "1"}
        | {"client": "c1", "priority": "P1"},
        headers=api.read,
    )
    assert response.status_code == 200, response.text
    return [row["value"] for row in response.json()["values"]]


def test_a_fact_changed_after_the_build_moves_the_pair_rows(kpi_source: Any) -> None:
    before = p1_for_c1(kpi_source)
    with kpi_source.setup.context.db.session() as session:  # T1: c1's P1 ticket of January
        changed = dataclasses.replace(T1, priority="High", priority_level=2)
        store_facts(session, kpi_source.setup.source_id, [changed], NY)
        refresh_dirty_days(session, kpi_source.setup.source_id, NY)

    assert (before, p1_for_c1(kpi_source)) == ([1.0, 0.0], [0.0, 0.0])
