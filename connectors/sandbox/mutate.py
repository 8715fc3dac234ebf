"""Change a world in place the way a PSA changes between two syncs."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from math import ceil
from random import Random

from connectors.sandbox.business_hours import DAY, business_minutes_between, from_ts, to_ts
from connectors.sandbox.generate_surveys import rating_of
from connectors.sandbox.generate_tickets import PROJECTS_SUPPORT, TITLES, level_of, sla_flags
from connectors.sandbox.model import (
    Agreement,
    SandboxWorld,
    SlaTarget,
    SurveyResult,
    Ticket,
    TicketState,
    TimeEntry,
    TimeKind,
)

_OPEN_SHARE = 0.6  # of the updated tickets, the share taken from the open ones
_DELETED_TICKETS = 2
_DELETED_TIME_ENTRIES = 3


@dataclass(frozen=True, slots=True)
class MutationSummary:
    """What `mutate_world` did, by id. The ticket tuples are disjoint: a ticket is updated,
    added, deleted or merged, never two of these. Every changed record has `updated_at == at`."""

    at: datetime
    tickets_updated: tuple[int, ...]
    tickets_added: tuple[int, ...]
    tickets_deleted: tuple[int, ...]
    tickets_merged: tuple[int, ...]  # the merged children (their `merged_into` is now set)
    time_entries_added: tuple[int, ...]
    time_entries_deleted: tuple[int, ...]
    agreements_cancelled: tuple[int, ...]
    survey_results_added: tuple[int, ...]

    @property
    def tickets_changed(self) -> frozenset[int]:
        """Every ticket id whose record differs from before the mutation."""
        return frozenset(
            self.tickets_updated + self.tickets_added + self.tickets_deleted + self.tickets_merged
        )


def mutate_world(
    world: SandboxWorld, *, seed: int, fraction: float = 0.01, at: datetime | None = None
) -> MutationSummary:
    """Move the world to `at` (default: an hour after `generated_at`) in place.

    Updates `fraction` of the live tickets (advances open ones through their lifecycle,
    re-prioritises or reassigns closed ones), adds a few tickets and time entries with ids
    above the current maximum, deletes two tickets and three time entries, merges one ticket,
    cancels one agreement from the first of next month, and answers a survey for a ticket it
    closed. Deterministic for (world, seed).
    """
    when = world.generated_at + timedelta(hours=1) if at is None else at
    if when < world.generated_at:
        raise ValueError("a mutation cannot go back before the world's generated_at")
    rng = Random(f"mutate:{world.seed}:{seed}")
    now = to_ts(when)
    change = _Change(rng, world, when, now)

    live = [t for t in world.tickets if not t.deleted and t.merged_into is None]
    count = min(len(live), max(1, round(fraction * len(live))))
    still_open = [t for t in live if t.state is not TicketState.CLOSED]
    picked = rng.sample(still_open, min(len(still_open), ceil(count * _OPEN_SHARE)))
    taken = {t.id for t in picked}
    rest = [t for t in live if t.id not in taken]
    picked += rng.sample(rest, min(len(rest), count - len(picked)))
    for ticket in picked:
        change.update(ticket)
    taken = {t.id for t in picked}

    merged = change.merge_one([t for t in live if t.id not in taken])
    taken.update(merged)
    # Both PSAs refuse to delete a ticket with time on it: delete only ones without.
    timed = {e.ticket_id for e in world.time_entries if not e.deleted}
    deleted = [t for t in live if t.id not in taken and t.id not in timed]
    deleted = rng.sample(deleted, min(len(deleted), _DELETED_TICKETS))
    for ticket in deleted:
        ticket.deleted = True
        ticket.updated_at = when
    added = change.add_tickets(max(2, count // 3))
    entries_added = change.add_time_entries(picked, max(3, count))
    entries_deleted = change.delete_time_entries(_DELETED_TIME_ENTRIES)
    cancelled = change.cancel_agreement()
    surveys = change.answer_survey(picked)
    world.generated_at = when
    return MutationSummary(
        at=when,
        tickets_updated=tuple(sorted(t.id for t in picked)),
        tickets_added=tuple(added),
        tickets_deleted=tuple(sorted(t.id for t in deleted)),
        tickets_merged=tuple(merged),
        time_entries_added=tuple(entries_added),
        time_entries_deleted=tuple(entries_deleted),
        agreements_cancelled=tuple(cancelled),
        survey_results_added=tuple(surveys),
    )


class _Change:
    """One mutation's state: the world, its clock, and the targets and cast it draws from."""

    def __init__(self, rng: Random, world: SandboxWorld, when: datetime, now: int) -> None:
        self.rng = rng
        self.world = world
        self.when = when
        self.now = now
        self.levels = sorted(priority.level for priority in world.priorities)
        self.technicians = [
            tech.id
            for tech in world.technicians
            if tech.active and not tech.is_api_user and tech.included_in_utilization
        ]
        self.clients = [c.id for c in world.clients if c.active and not c.is_msp_itself]
        self.slas = {sla.id: sla for sla in world.slas}

    def _target(self, ticket: Ticket) -> SlaTarget | None:
        sla = None if ticket.sla_id is None else self.slas.get(ticket.sla_id)
        return None if sla is None else sla.target_for(ticket.priority_level)

    def _refresh(self, ticket: Ticket) -> None:
        ticket.response_met, ticket.resolution_met = sla_flags(
            self._target(ticket), ticket.respond_minutes, ticket.resolve_minutes
        )
        ticket.updated_at = self.when

    def _another_technician(self, current: int | None) -> int | None:
        others = [tech for tech in self.technicians if tech != current]
        return others[int(self.rng.random() * len(others))] if others else None

    def update(self, ticket: Ticket) -> None:
        """Advance an open ticket one step; re-prioritise or reassign a closed one."""
        rng, created = self.rng, to_ts(ticket.created_at)
        state = ticket.state
        if state is TicketState.NEW:
            ticket.first_response_at = self.when
            ticket.respond_minutes = business_minutes_between(created, self.now)
            ticket.assignee_id = ticket.assignee_id or self._another_technician(None)
            ticket.state = TicketState.IN_PROGRESS
        elif state in (TicketState.IN_PROGRESS, TicketState.WAITING):
            if rng.random() < 0.5:
                ticket.resolved_at = self.when
                ticket.resolve_minutes = business_minutes_between(created, self.now)
                ticket.state = TicketState.RESOLVED
                if rng.random() < 0.5:
                    ticket.state, ticket.closed_at = TicketState.CLOSED, self.when
            elif state is TicketState.WAITING:
                ticket.state = TicketState.IN_PROGRESS
            else:
                ticket.state = TicketState.WAITING
        elif state is TicketState.RESOLVED:
            ticket.state, ticket.closed_at = TicketState.CLOSED, self.when
        else:
            other = self._another_technician(ticket.assignee_id)
            if rng.random() < 0.5 and other is not None:
                ticket.assignee_id = other
            else:
                levels = [level for level in self.levels if level != ticket.priority_level]
                ticket.priority_level = levels[int(rng.random() * len(levels))]
        self._refresh(ticket)

    def merge_one(self, candidates: list[Ticket]) -> list[int]:
        """Merge a random candidate into an earlier live ticket of the same client."""
        earlier: dict[int, Ticket] = {}
        pairs: list[tuple[Ticket, Ticket]] = []
        for ticket in candidates:  # id order: the parent is the client's previous ticket
            parent = earlier.get(ticket.client_id)
            if parent is not None:
                pairs.append((ticket, parent))
            earlier[ticket.client_id] = ticket
        if not pairs:
            return []
        child, parent = pairs[int(self.rng.random() * len(pairs))]
        child.merged_into = parent.id
        if child.resolved_at is None:
            child.resolved_at = self.when
            child.resolve_minutes = business_minutes_between(to_ts(child.created_at), self.now)
        child.state = TicketState.CLOSED
        child.closed_at = self.when
        self._refresh(child)
        return [child.id]

    def add_tickets(self, count: int) -> list[int]:
        """New tickets created since the last sync; about half already responded to."""
        if not self.clients:
            return []
        rng, tickets = self.rng, self.world.tickets
        since = to_ts(self.world.generated_at)
        next_id = max((t.id for t in tickets), default=0) + 1
        label = self.when.strftime("T%Y%m%d")
        sequence = sum(1 for t in tickets if t.number.startswith(label))
        added = []
        for offset in range(count):
            created = since + int(rng.random() * max(self.now - since, 1))
            client_id = self.clients[int(rng.random() * len(self.clients))]
            sequence += 1
            ticket = Ticket(
                id=next_id + offset,
                number=f"{label}.{sequence:04d}",
                title=TITLES[int(rng.random() * len(TITLES))],
                client_id=client_id,
                board="Service Desk",
                state=TicketState.NEW,
                priority_level=min(level_of(rng), max(self.levels)),
                assignee_id=None,
                created_at=from_ts(created),
                updated_at=self.when,
                sla_id=self._client_sla(client_id),
            )
            if rng.random() < 0.5:
                responded = created + int(rng.random() * (self.now - created))
                ticket.first_response_at = from_ts(responded)
                ticket.respond_minutes = business_minutes_between(created, responded)
                ticket.assignee_id = self._another_technician(None)
                ticket.state = TicketState.IN_PROGRESS
            self._refresh(ticket)
            tickets.append(ticket)
            added.append(ticket.id)
        return added

    def _client_sla(self, client_id: int) -> int | None:
        """The SLA of the client's latest SLA-bearing ticket (the world stores no client SLA)."""
        for ticket in reversed(self.world.tickets):
            if ticket.client_id == client_id and ticket.board != PROJECTS_SUPPORT:
                return ticket.sla_id
        return self.world.slas[0].id if self.world.slas else None

    def add_time_entries(self, worked: list[Ticket], count: int) -> list[int]:
        """Time logged today on tickets just worked (internal time when there are none)."""
        rng, entries = self.rng, self.world.time_entries
        on_tickets = [t for t in worked if t.first_response_at is not None]
        day_start = self.now - self.now % DAY
        next_id = max((e.id for e in entries), default=0) + 1
        added = []
        for offset in range(count):
            ticket = on_tickets[int(rng.random() * len(on_tickets))] if on_tickets else None
            tech = ticket.assignee_id if ticket is not None else None
            tech = tech or self._another_technician(None)
            if tech is None:
                break
            hours = (0.25, 0.5, 0.75)[int(rng.random() * 3)]
            # Logged at `at` for work that just ended; kept on today's date (work_date).
            started = max(self.now - int(hours * 3600), day_start)
            if ticket is not None:
                started = min(max(started, to_ts(ticket.created_at)), self.now)
            entry = TimeEntry(
                id=next_id + offset,
                technician_id=tech,
                kind=TimeKind.INTERNAL if ticket is None else TimeKind.TICKET,
                ticket_id=None if ticket is None else ticket.id,
                client_id=None if ticket is None else ticket.client_id,
                started_at=from_ts(started),
                work_date=self.when.date(),
                hours=hours,
                billable_hours=hours if ticket is not None and rng.random() < 0.75 else 0.0,
                updated_at=self.when,
            )
            entries.append(entry)
            added.append(entry.id)
        return added

    def delete_time_entries(self, count: int) -> list[int]:
        alive = [index for index, e in enumerate(self.world.time_entries) if not e.deleted]
        chosen = self.rng.sample(alive, min(len(alive), count))
        for index in chosen:
            entry = self.world.time_entries[index]
            entry.deleted = True
            entry.updated_at = self.when
        return sorted(self.world.time_entries[index].id for index in chosen)

    def cancel_agreement(self) -> list[int]:
        """Cancel one agreement in force, effective the first of next month."""
        today = self.when.date()
        effective = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
        candidates: list[Agreement] = [
            a
            for a in self.world.agreements
            if not a.deleted
            and a.cancelled_on is None
            and a.starts_on <= today
            and (a.ends_on is None or a.ends_on >= effective)
        ]
        if not candidates:
            return []
        agreement = candidates[int(self.rng.random() * len(candidates))]
        agreement.cancelled_on = effective
        agreement.updated_at = self.when
        return [agreement.id]

    def answer_survey(self, worked: list[Ticket]) -> list[int]:
        """A survey answered right away for the first ticket this mutation closed."""
        closed = [t for t in worked if t.state is TicketState.CLOSED and t.closed_at == self.when]
        if not closed:
            return []
        ticket, results = closed[0], self.world.survey_results
        result = SurveyResult(
            id=max((r.id for r in results), default=0) + 1,
            ticket_id=ticket.id,
            client_id=ticket.client_id,
            completed_at=self.when,
            rating=rating_of(self.rng),
            updated_at=self.when,
        )
        results.append(result)
        return [result.id]


def with_tickets_of_time(world: SandboxWorld, summary: MutationSummary) -> MutationSummary:
    """`summary` with the tickets time was just logged on counted as updated, for a
    simulator's callbacks and webhooks: logging time changes the ticket itself in the PSA
    (ConnectWise: its actual hours; Autotask: its last activity date), which is what the
    PSA announces, since neither announces time entries. Whether Autotask's webhook fires
    for that change is unconfirmed; polling reads the time entry either way."""
    logged = set(summary.time_entries_added)
    announced = set(summary.tickets_changed)
    touched = sorted(
        {
            e.ticket_id
            for e in world.time_entries
            if e.id in logged and e.ticket_id is not None and e.ticket_id not in announced
        }
    )
    return replace(summary, tickets_updated=(*summary.tickets_updated, *touched))
