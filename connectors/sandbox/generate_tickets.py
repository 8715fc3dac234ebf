"""Service tickets of the sandbox world: lifecycle, SLA truth and ticket numbers."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate
from random import Random

from connectors.sandbox.business_hours import (
    DAY,
    add_business_minutes,
    business_minutes_between,
    from_ts,
    ts_day,
)
from connectors.sandbox.model import Sla, SlaTarget, Ticket, TicketState
from connectors.sandbox.roster import Roster

SERVICE_DESK = "Service Desk"
ESCALATIONS = "Escalations"
PROJECTS_SUPPORT = "Projects Support"
MONITORING = "Monitoring Alerts"
BOARDS = (SERVICE_DESK, ESCALATIONS, PROJECTS_SUPPORT, MONITORING)
NO_SLA_BOARDS = frozenset({PROJECTS_SUPPORT})  # project follow-ups run outside the SLA

_LEVELS = (1, 2, 3, 4, 5)
_LEVEL_CUMULATIVE = tuple(accumulate((0.03, 0.12, 0.55, 0.25, 0.05)))
_BOARD_CUMULATIVE = tuple(accumulate((0.78, 0.0, 0.12, 0.10)))  # Escalations: see _board
# Reference business hours per level, the scale of drawn delays (close to the SLA targets,
# so most tickets meet them and a realistic minority does not).
_RESPONSE_HOURS = {1: 1.0, 2: 2.0, 3: 4.0, 4: 6.0, 5: 8.0}
_RESOLUTION_HOURS = {1: 8.0, 2: 16.0, 3: 40.0, 4: 60.0, 5: 80.0}

TITLES = (
    "Outlook keeps asking for password",
    "Printer offline on 2nd floor",
    "New starter: laptop and accounts",
    "VPN disconnects every few minutes",
    "Cannot access shared drive",
    "Server disk space warning",
    "Phishing email reported",
    "MFA reset request",
    "Slow Wi-Fi in meeting room",
    "Teams calls dropping",
    "Backup job failed",
    "Leaver: disable accounts",
    "Install accounting software update",
    "Firewall firmware update",
    "Website certificate expiring",
    "Mailbox full",
    "Laptop screen flickering",
    "Password reset",
    "Scanner to email not working",
    "Request: additional monitor",
)

_MERGED_SHARE = 0.006
_DELETED_SHARE = 0.003
_LONG_TAIL_SHARE = 0.03  # tickets stuck waiting on the customer for weeks
_SLOW_RESPONSE_SHARE = 0.01  # tickets left in the queue for days (untriaged, missed)
# Of the tickets raised in the last days, a share is still untriaged when the world ends.
_FRESH_SPAN = 5 * DAY
_FRESH_UNTRIAGED_SHARE = 0.2


@dataclass(slots=True)
class TicketClock:
    """Generation-side times of one ticket, kept as ints for the time-entry generator."""

    created_ts: int
    work_until_ts: int  # last moment work is logged: resolution, or generation time if open


def level_of(rng: Random) -> int:
    """A priority level drawn with the world's mix (mostly P3)."""
    return _LEVELS[bisect_right(_LEVEL_CUMULATIVE, rng.random() * _LEVEL_CUMULATIVE[-1])]


def _board(rng: Random, level: int) -> str:
    if level <= 2 and rng.random() < 0.35:
        return ESCALATIONS
    index = bisect_right(_BOARD_CUMULATIVE, rng.random() * _BOARD_CUMULATIVE[-1])
    return BOARDS[min(index, len(BOARDS) - 1)]


def sla_flags(
    target: SlaTarget | None, respond_minutes: int | None, resolve_minutes: int | None
) -> tuple[bool | None, bool | None]:
    """(response_met, resolution_met) as the PSA's SLA engine reports them (docs/kpis.md §2):
    met = elapsed business minutes ≤ target hours x 60; None without a target or while the
    stage is open."""
    if target is None:
        return None, None
    response_met = (
        None
        if target.response_hours is None or respond_minutes is None
        else respond_minutes <= target.response_hours * 60
    )
    resolution_met = (
        None
        if target.resolution_hours is None or resolve_minutes is None
        else resolve_minutes <= target.resolution_hours * 60
    )
    return response_met, resolution_met


def sla_targets(
    slas: list[Sla], levels: tuple[int, ...] = _LEVELS
) -> dict[tuple[int, int], SlaTarget]:
    """Every (sla id, level) target, resolved once instead of per ticket."""
    return {(sla.id, level): sla.target_for(level) for sla in slas for level in levels}


def _created_times(rng: Random, count: int, start_ts: int, end_ts: int) -> list[int]:
    """`count` sorted creation moments: weekdays busier than weekends, mostly office hours."""
    days = list(range(start_ts // DAY, max(end_ts // DAY, start_ts // DAY + 1)))
    cumulative = list(accumulate(1.0 if (day + 3) % 7 < 5 else 0.12 for day in days))
    total = cumulative[-1]
    last = len(days) - 1
    moments = []
    for _ in range(count):
        day = days[min(bisect_right(cumulative, rng.random() * total), last)]
        if rng.random() < 0.88:
            second = 8 * 3600 + int(rng.random() * 9 * 3600)
        else:
            second = int(rng.random() * DAY)
        moments.append(day * DAY + second)
    moments.sort()
    return moments


def generate_tickets(
    rng: Random, count: int, roster: Roster, first_id: int = 1
) -> tuple[list[Ticket], list[TicketClock]]:
    """`count` tickets created over the roster's period, ids in creation order."""
    now = roster.end_ts
    tickets: list[Ticket] = []
    clocks: list[TicketClock] = []
    last_by_client: dict[int, int] = {}
    day_labels: dict[int, str] = {}
    day_counts: dict[int, int] = {}
    for offset, created in enumerate(_created_times(rng, count, roster.start_ts, now)):
        ticket_id = first_id + offset
        client_id = roster.clients.pick(rng, created)
        if client_id is None:  # no client active at all: only in degenerate worlds
            client_id = next(iter(roster.client_spans))
        level = level_of(rng)
        board = _board(rng, level)
        sla_id = None if board in NO_SLA_BOARDS else roster.client_sla.get(client_id)
        target = None if sla_id is None else roster.sla_targets[(sla_id, level)]
        ticket = _ticket_shell(rng, ticket_id, created, client_id, level, board, sla_id)
        ticket.number = _number(created, day_labels, day_counts)

        parent = last_by_client.get(client_id)
        if parent is not None and rng.random() < _MERGED_SHARE:
            work_until = _merge_child(rng, ticket, created, parent, target, now)
        else:
            work_until = _live(rng, ticket, created, target, roster)
        if rng.random() < _DELETED_SHARE:
            ticket.deleted = True
        elif ticket.merged_into is None:  # only a counted ticket can be a merge parent
            last_by_client[client_id] = ticket_id
        tickets.append(ticket)
        clocks.append(TicketClock(created, work_until))
    return tickets, clocks


def _ticket_shell(
    rng: Random,
    ticket_id: int,
    created: int,
    client_id: int,
    level: int,
    board: str,
    sla_id: int | None,
) -> Ticket:
    created_at = from_ts(created)
    return Ticket(
        id=ticket_id,
        number="",
        title=TITLES[int(rng.random() * len(TITLES))],
        client_id=client_id,
        board=board,
        state=TicketState.NEW,
        priority_level=level,
        assignee_id=None,
        created_at=created_at,
        updated_at=created_at,
        sla_id=sla_id,
    )


def _number(created: int, labels: dict[int, str], counts: dict[int, int]) -> str:
    """Autotask-style `T20250115.0042`: the creation date and a per-day sequence."""
    day = created // DAY
    label = labels.get(day)
    if label is None:
        label = labels[day] = ts_day(created).strftime("T%Y%m%d")
    counts[day] = sequence = counts.get(day, 0) + 1
    return f"{label}.{sequence:04d}"


def _live(
    rng: Random, ticket: Ticket, created: int, target: SlaTarget | None, roster: Roster
) -> int:
    """Play a normal ticket's lifecycle up to generation time; returns its last work ts."""
    now = roster.end_ts
    level = ticket.priority_level
    respond = max(1, int(_RESPONSE_HOURS[level] * 60 * rng.expovariate(1 / 0.45)))
    solve = max(1, int(_RESOLUTION_HOURS[level] * 60 * rng.expovariate(1 / 0.4)))
    if rng.random() < _SLOW_RESPONSE_SHARE or (
        created > now - _FRESH_SPAN and rng.random() < _FRESH_UNTRIAGED_SHARE
    ):
        respond *= 40
    if rng.random() < _LONG_TAIL_SHARE:
        solve *= 25
    responded = add_business_minutes(created, respond)
    resolved = add_business_minutes(created, respond + solve)
    closed = resolved if rng.random() < 0.4 else resolved + 3600 + int(rng.random() * 4 * DAY)

    assignee = roster.technicians.pick(rng, created)
    if responded > now:
        ticket.state = TicketState.NEW
        ticket.assignee_id = None if rng.random() < 0.55 else assignee
        ticket.updated_at = ticket.created_at
        return now
    ticket.assignee_id = None if rng.random() < 0.03 else assignee
    ticket.first_response_at = from_ts(responded)
    ticket.respond_minutes = respond
    last_event = responded
    if resolved > now:
        ticket.state = TicketState.WAITING if rng.random() < 0.35 else TicketState.IN_PROGRESS
    else:
        ticket.resolved_at = from_ts(resolved)
        ticket.resolve_minutes = respond + solve
        last_event = resolved
        if closed > now:
            ticket.state = TicketState.RESOLVED
        else:
            ticket.state = TicketState.CLOSED
            ticket.closed_at = from_ts(closed)
            last_event = closed
    ticket.response_met, ticket.resolution_met = sla_flags(
        target, ticket.respond_minutes, ticket.resolve_minutes
    )
    ticket.updated_at = from_ts(min(now, last_event + int(rng.random() * 7200)))
    return min(resolved, now)


def _merge_child(
    rng: Random, ticket: Ticket, created: int, parent: int, target: SlaTarget | None, now: int
) -> int:
    """A duplicate merged into the client's previous ticket within hours of its creation."""
    closed = created + 300 + int(rng.random() * 4 * 3600)
    if closed > now:
        ticket.updated_at = ticket.created_at
        return now
    ticket.merged_into = parent
    ticket.state = TicketState.CLOSED
    ticket.resolved_at = ticket.closed_at = ticket.updated_at = from_ts(closed)
    ticket.resolve_minutes = business_minutes_between(created, closed)
    ticket.response_met, ticket.resolution_met = sla_flags(target, None, ticket.resolve_minutes)
    return closed
