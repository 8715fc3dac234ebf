"""One change to a world, as a PSA user makes it, and the KPI value it must move.

A freshness benchmark changes one record at a time and watches Northstar's KPIs for it.
`plan_change` picks the record (not yet changing anything), so the benchmark can read the
value before; `apply_change` then makes the change, stamped `at`. Every plan names one KPI,
one client and one day whose value moves by a known amount, and nothing else in that
client's values for that KPI and day moves unless another change to the same client does
(the benchmark keeps changes to one client apart).

Kinds:
- `update`: a new ticket gets its first response (the `avg_response_hours` of the day gains
  a ticket); with no new ticket left, an open one is resolved (`avg_resolution_hours`);
- `close`: an open ticket is closed (`tickets_closed` of the day +1);
- `reopen`: a closed ticket is reopened (`tickets_closed` of the day it was closed −1);
- `new`: a ticket is created (`tickets_created` of the day +1);
- `time`: time is logged on a ticket (`hours_logged` of the day + its hours).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from random import Random

from connectors.sandbox.business_hours import DAY, business_minutes_between, from_ts, to_ts
from connectors.sandbox.generate_tickets import TITLES
from connectors.sandbox.model import SandboxWorld, Ticket, TicketState, TimeEntry, TimeKind
from connectors.sandbox.mutate import MutationSummary

KINDS = ("update", "close", "reopen", "new", "time")
_OPEN = (TicketState.NEW, TicketState.IN_PROGRESS, TicketState.WAITING, TicketState.RESOLVED)
_HOURS = (0.25, 0.5, 0.75, 1.0)


class NoCandidate(LookupError):
    """The world holds no record this kind of change can be made to (outside `avoid`)."""


@dataclass(frozen=True, slots=True)
class ChangePlan:
    """What `apply_change` will do: `kind` on `target` (a ticket id; for `new` the client
    id), and the KPI value it moves: `kpi` for `client_id` on `day` (the day is the change's
    own for every kind but `reopen`; None: the day of `at`), its `measure` (`value` or
    `sample_size`) by `delta`."""

    kind: str
    target: int
    client_id: int
    kpi: str
    measure: str
    delta: float
    day: date | None = None
    technician_id: int | None = None
    hours: float = 0.0
    detail: str = ""


def _live(world: SandboxWorld, avoid: Collection[int]) -> list[Ticket]:
    return [
        t
        for t in world.tickets
        if not t.deleted and t.merged_into is None and t.client_id not in avoid
    ]


def _technicians(world: SandboxWorld) -> list[int]:
    return [
        tech.id
        for tech in world.technicians
        if tech.active and not tech.is_api_user and tech.included_in_utilization
    ]


def _pick(rng: Random, tickets: list[Ticket], what: str) -> Ticket:
    if not tickets:
        raise NoCandidate(f"no {what} ticket to change")
    return tickets[int(rng.random() * len(tickets))]


def plan_change(
    world: SandboxWorld, kind: str, rng: Random, avoid: Collection[int] = ()
) -> ChangePlan:
    """A change of `kind` to a record of a client not in `avoid` (world client ids)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    live = _live(world, avoid)
    if kind == "update":
        fresh = [t for t in live if t.state is TicketState.NEW]
        if fresh:
            ticket = _pick(rng, fresh, "new")
            return ChangePlan(
                kind,
                ticket.id,
                ticket.client_id,
                "avg_response_hours",
                "sample_size",
                1.0,
                detail="first response",
            )
        working = [t for t in live if t.state in (TicketState.IN_PROGRESS, TicketState.WAITING)]
        ticket = _pick(rng, working, "open")
        return ChangePlan(
            kind,
            ticket.id,
            ticket.client_id,
            "avg_resolution_hours",
            "sample_size",
            1.0,
            detail="resolved",
        )
    if kind == "close":
        ticket = _pick(rng, [t for t in live if t.state in _OPEN], "open")
        return ChangePlan(kind, ticket.id, ticket.client_id, "tickets_closed", "value", 1.0)
    if kind == "reopen":
        closed = [t for t in live if t.state is TicketState.CLOSED and t.closed_at is not None]
        ticket = _pick(rng, closed, "closed")
        assert ticket.closed_at is not None
        return ChangePlan(
            kind,
            ticket.id,
            ticket.client_id,
            "tickets_closed",
            "value",
            -1.0,
            day=ticket.closed_at.date(),
        )
    if kind == "new":
        clients = [c.id for c in world.clients if c.active and not c.is_msp_itself]
        clients = [c for c in clients if c not in avoid]
        if not clients:
            raise NoCandidate("no client to open a ticket for")
        client = clients[int(rng.random() * len(clients))]
        return ChangePlan(kind, client, client, "tickets_created", "value", 1.0)
    ticket = _pick(rng, [t for t in live if t.first_response_at is not None], "worked")
    techs = _technicians(world)
    tech = ticket.assignee_id or (techs[int(rng.random() * len(techs))] if techs else None)
    if tech is None:
        raise NoCandidate("no technician to log time")
    hours = _HOURS[int(rng.random() * len(_HOURS))]
    return ChangePlan(
        kind,
        ticket.id,
        ticket.client_id,
        "hours_logged",
        "value",
        hours,
        technician_id=tech,
        hours=hours,
    )


def apply_change(world: SandboxWorld, plan: ChangePlan, at: datetime) -> MutationSummary:
    """Make the planned change, every changed record stamped `at` (the world's clock moves
    to `at`). Raises NoCandidate when the record no longer allows it (changed meanwhile)."""
    if at < world.generated_at:
        raise ValueError("a change cannot go back before the world's generated_at")
    now = to_ts(at)
    updated: tuple[int, ...] = ()
    added: tuple[int, ...] = ()
    entries: tuple[int, ...] = ()
    if plan.kind == "new":
        ticket = _new_ticket(world, plan.client_id, at)
        world.tickets.append(ticket)
        added = (ticket.id,)
    elif plan.kind == "time":
        entry = _time_entry(world, plan, at)
        world.time_entries.append(entry)
        entries = (entry.id,)
    else:
        ticket = _ticket(world, plan.target)
        _change_ticket(ticket, plan, at, now)
        ticket.updated_at = at
        updated = (ticket.id,)
    world.generated_at = at
    return MutationSummary(
        at=at,
        tickets_updated=updated,
        tickets_added=added,
        tickets_deleted=(),
        tickets_merged=(),
        time_entries_added=entries,
        time_entries_deleted=(),
        agreements_cancelled=(),
        survey_results_added=(),
    )


def _ticket(world: SandboxWorld, ticket_id: int) -> Ticket:
    # Ids are assigned in creation order and tickets are only appended: a bisect would do,
    # but a change every few seconds can afford the scan.
    for ticket in world.tickets:
        if ticket.id == ticket_id:
            return ticket
    raise NoCandidate(f"ticket {ticket_id} is not in the world")


def _change_ticket(ticket: Ticket, plan: ChangePlan, at: datetime, now: int) -> None:
    created = to_ts(ticket.created_at)
    if plan.kind == "update" and plan.kpi == "avg_response_hours":
        if ticket.state is not TicketState.NEW:
            raise NoCandidate(f"ticket {ticket.id} has been responded to meanwhile")
        ticket.first_response_at = at
        ticket.respond_minutes = business_minutes_between(created, now)
        ticket.state = TicketState.IN_PROGRESS
    elif plan.kind in ("update", "close"):
        if ticket.state not in _OPEN or ticket.deleted or ticket.merged_into is not None:
            raise NoCandidate(f"ticket {ticket.id} is no longer open")
        if ticket.resolved_at is None:
            ticket.resolved_at = at
            ticket.resolve_minutes = business_minutes_between(created, now)
        ticket.state = TicketState.RESOLVED
        if plan.kind == "close":
            ticket.state, ticket.closed_at = TicketState.CLOSED, at
    else:  # reopen: back in progress, its resolution undone as the PSAs do
        if ticket.state is not TicketState.CLOSED:
            raise NoCandidate(f"ticket {ticket.id} is no longer closed")
        ticket.state = TicketState.IN_PROGRESS
        ticket.closed_at = ticket.resolved_at = None
        ticket.resolve_minutes = ticket.resolution_met = None


def _new_ticket(world: SandboxWorld, client_id: int, at: datetime) -> Ticket:
    label = at.strftime("T%Y%m%d")
    sequence = sum(1 for t in world.tickets if t.number.startswith(label)) + 1
    same_client = [t for t in world.tickets if t.client_id == client_id and t.sla_id]
    return Ticket(
        id=max((t.id for t in world.tickets), default=0) + 1,
        number=f"{label}.{sequence:04d}",
        title=TITLES[sequence % len(TITLES)],
        client_id=client_id,
        board="Service Desk",
        state=TicketState.NEW,
        priority_level=3,
        assignee_id=None,
        created_at=at,
        updated_at=at,
        sla_id=same_client[-1].sla_id if same_client else None,
    )


def _time_entry(world: SandboxWorld, plan: ChangePlan, at: datetime) -> TimeEntry:
    assert plan.technician_id is not None
    ticket = _ticket(world, plan.target)
    # Work that just ended, kept on today's date.
    now = to_ts(at)
    started = max(now - int(plan.hours * 3600), now - now % DAY)
    return TimeEntry(
        id=max((e.id for e in world.time_entries), default=0) + 1,
        technician_id=plan.technician_id,
        kind=TimeKind.TICKET,
        ticket_id=ticket.id,
        client_id=ticket.client_id,
        started_at=from_ts(started),
        work_date=at.date(),
        hours=plan.hours,
        billable_hours=plan.hours,
        updated_at=at,
    )
