"""Time entries of the sandbox world, sized so technicians land at 60-85 % utilisation.

Generation is two passes over compact tuples: first decide who worked on what and when,
then, knowing each technician's entry count, size the hours so that their counted hours
over their capacity hit a per-technician utilisation target. Entries get ids in the order
they were worked (creation order), then become `TimeEntry` records.
"""

from __future__ import annotations

from datetime import date, datetime
from operator import itemgetter
from random import Random

from connectors.sandbox.business_hours import DAY, OPEN_HOUR, from_ts, ts_day
from connectors.sandbox.generate_tickets import TicketClock
from connectors.sandbox.model import Technician, Ticket, TicketState, TimeEntry, TimeKind
from connectors.sandbox.roster import Roster

DEFAULT_WEEK = (8.0, 8.0, 8.0, 8.0, 8.0, 0.0, 0.0)  # vendors' default without a capacity record
INTERNAL_SHARE = 0.12
PROJECT_SHARE = 0.10
UTILISATION_RANGE = (0.62, 0.83)
_INTERNAL_HOURS = (0.25, 0.5, 0.5, 0.75, 1.0, 1.0, 1.5, 2.0)
_WORKDAY_HOURS = 9.0  # entries start between 08:00 and 17:00 - hours
_LAST_START = 16 * 3600 + 45 * 60  # the last quarter-hour an entry may start

# One planned entry: (technician, kind, ticket id, client id, day index, earliest start ts).
_Plan = tuple[int, TimeKind, int | None, int | None, int, int]


def generate_time_entries(
    rng: Random,
    tickets: list[Ticket],
    clocks: list[TicketClock],
    technicians: list[Technician],
    roster: Roster,
    ratio: float,
) -> list[TimeEntry]:
    """round(len(tickets) x ratio) entries: ticket work, project work and internal time."""
    total = round(len(tickets) * ratio)
    n_internal = round(total * INTERNAL_SHARE)
    n_project = round(total * PROJECT_SHARE)
    weekdays = [
        day for day in range(roster.start_ts // DAY, roster.end_ts // DAY) if (day + 3) % 7 < 5
    ]
    plans = _ticket_plans(rng, tickets, clocks, roster, total - n_internal - n_project)
    plans += _loose_plans(rng, roster, weekdays, n_project, TimeKind.PROJECT)
    plans += _loose_plans(rng, roster, weekdays, n_internal, TimeKind.INTERNAL)
    means = _mean_hours(rng, plans, technicians, roster)
    return _realise(rng, plans, means, roster.end_ts)


def _ticket_plans(
    rng: Random, tickets: list[Ticket], clocks: list[TicketClock], roster: Roster, count: int
) -> list[_Plan]:
    # Tickets nobody has touched yet (new, or merged away) carry no time; neither do deleted
    # ones, since both PSAs refuse to delete a ticket that has time on it.
    worked = [
        index
        for index, ticket in enumerate(tickets)
        if ticket.state is not TicketState.NEW and ticket.merged_into is None and not ticket.deleted
    ]
    if not worked or count <= 0:
        return []
    # Every worked ticket gets one entry first (when there are enough), the rest at random.
    chosen = worked[:count] if count >= len(worked) else rng.sample(worked, count)
    chosen += [worked[int(rng.random() * len(worked))] for _ in range(count - len(chosen))]
    plans: list[_Plan] = []
    spans = roster.tech_spans
    for index in chosen:
        ticket, clock = tickets[index], clocks[index]
        first = clock.created_ts // DAY
        if clock.created_ts % DAY > _LAST_START and first + 1 < roster.end_ts // DAY:
            first += 1  # created after hours: the work starts the next day
        day = _work_day(rng, first, clock.work_until_ts // DAY, roster)
        noon = day * DAY + 12 * 3600
        assignee = ticket.assignee_id
        span = None if assignee is None else spans.get(assignee)
        if span is not None and span.active_at(noon) and rng.random() < 0.85:
            tech: int | None = assignee
        else:
            tech = roster.technicians.pick(rng, noon)
        if tech is None:
            continue
        plans.append((tech, TimeKind.TICKET, ticket.id, ticket.client_id, day, clock.created_ts))
    return plans


def _work_day(rng: Random, first: int, last: int, roster: Roster) -> int:
    """A day in [first, last] (clipped to the period), moved off weekends when possible."""
    last = min(max(last, first), roster.end_ts // DAY - 1)
    day = first + int(rng.random() * (last - first + 1))
    weekday = (day + 3) % 7
    if weekday >= 5:
        if day + 7 - weekday <= last:
            day += 7 - weekday
        elif day - (weekday - 4) >= first:
            day -= weekday - 4
    return day


def _loose_plans(
    rng: Random, roster: Roster, weekdays: list[int], count: int, kind: TimeKind
) -> list[_Plan]:
    """Project time (a client, no ticket) or internal time (no client) on random weekdays."""
    plans: list[_Plan] = []
    if not weekdays:
        return plans
    for _ in range(count):
        day = weekdays[int(rng.random() * len(weekdays))]
        noon = day * DAY + 12 * 3600
        tech = roster.technicians.pick(rng, noon)
        client = roster.clients.pick(rng, noon) if kind is TimeKind.PROJECT else None
        if tech is None or (kind is TimeKind.PROJECT and client is None):
            continue
        plans.append((tech, kind, None, client, day, 0))
    return plans


def capacity_hours(technician: Technician, first_day: int, last_day: int) -> float:
    """A technician's capacity over day indexes [first_day, last_day)."""
    week = technician.capacity_hours or DEFAULT_WEEK
    full_weeks, rest = divmod(max(last_day - first_day, 0), 7)
    hours = full_weeks * sum(week)
    for day in range(first_day, first_day + rest):
        hours += week[(day + 3) % 7]
    return hours


def _mean_hours(
    rng: Random, plans: list[_Plan], technicians: list[Technician], roster: Roster
) -> dict[int, float]:
    """Per technician, the mean hours of a counted entry that meets their utilisation target."""
    counted: dict[int, int] = {}
    for tech, kind, *_ in plans:
        if kind is not TimeKind.INTERNAL:
            counted[tech] = counted.get(tech, 0) + 1
    start_day, end_day = roster.start_ts // DAY, roster.end_ts // DAY
    means: dict[int, float] = {}
    for technician in technicians:
        span = roster.tech_spans.get(technician.id)
        entries = counted.get(technician.id, 0)
        if span is None or entries == 0:
            continue
        first = max(start_day, span.since // DAY)
        last = min(end_day, -(-span.until // DAY))
        capacity = capacity_hours(technician, first, last)
        if not technician.included_in_utilization or capacity <= 0:
            means[technician.id] = 1.0  # not measured: plausible hours are enough
            continue
        means[technician.id] = rng.uniform(*UTILISATION_RANGE) * capacity / entries
    return means


def _realise(rng: Random, plans: list[_Plan], means: dict[int, float], now: int) -> list[TimeEntry]:
    """Size, place and number the planned entries (emptying `plans`); ids follow start times."""
    placed = []
    for tech, kind, ticket_id, client_id, day, earliest in plans:
        if kind is TimeKind.INTERNAL:
            hours = _INTERNAL_HOURS[int(rng.random() * len(_INTERNAL_HOURS))]
            billable = 0.0
        else:
            raw = means.get(tech, 1.0) * (0.35 + 1.3 * rng.random())
            hours = min(max(round(raw * 4) / 4, 0.25), 8.0)
            billable_share = 0.75 if kind is TimeKind.TICKET else 0.6
            billable = hours if rng.random() < billable_share else 0.0
        day_start = day * DAY
        slots = max(int((_WORKDAY_HOURS - hours) * 4), 0)
        started = day_start + OPEN_HOUR * 3600 + 900 * int(rng.random() * (slots + 1))
        if earliest > started:
            # Not before the ticket existed, except for a ticket raised in the last minutes of
            # the last day, whose call started a little before it was logged.
            started = min(-(-earliest // 900) * 900, day_start + _LAST_START)
        ended = started + int(hours * 3600)
        updated = min(ended + 900 * int(rng.random() * 8), now)
        placed.append((started, tech, kind, ticket_id, client_id, day, hours, billable, updated))
    plans.clear()  # consumed: free it before the records are built (peak memory)
    placed.sort(key=itemgetter(0, 1))

    # Entries sit on a quarter-hour grid, so their datetimes and dates repeat: share them.
    moments: dict[int, datetime] = {}
    days: dict[int, date] = {}
    entries: list[TimeEntry] = []
    for number, row in enumerate(placed, start=1):
        started, tech, kind, ticket_id, client_id, day, hours, billable, updated = row
        started_at = moments.get(started)
        if started_at is None:
            started_at = moments[started] = from_ts(started)
        updated_at = moments.get(updated)
        if updated_at is None:
            updated_at = moments[updated] = from_ts(updated)
        work_date = days.get(day)
        if work_date is None:
            work_date = days[day] = ts_day(day * DAY)
        # Positional: measurably faster than keywords at this volume (same field order).
        entry = TimeEntry(number, tech, kind, ticket_id, client_id, started_at, work_date, hours,
                          billable, updated_at)  # fmt: skip
        entries.append(entry)
    return entries
