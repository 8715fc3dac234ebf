"""Build the sandbox world from a seed, change it between syncs, and look things up in it.

`build_world` is a pure function of its arguments: the same seed and sizes give the same
world, with no wall-clock time and no global random state involved. The world's "now"
(`generated_at`) is `end` at 00:00 UTC; everything in it happened before that.
"""

from __future__ import annotations

import gc
from datetime import UTC, date, datetime
from random import Random

from connectors.sandbox import generate_cast as cast
from connectors.sandbox.business_hours import day_ts
from connectors.sandbox.generate_agreements import generate_agreements
from connectors.sandbox.generate_surveys import generate_survey_results
from connectors.sandbox.generate_tickets import BOARDS, generate_tickets, sla_targets
from connectors.sandbox.generate_time import generate_time_entries
from connectors.sandbox.index import WorldIndex, monthly_amount_on
from connectors.sandbox.model import SandboxWorld
from connectors.sandbox.mutate import MutationSummary, mutate_world
from connectors.sandbox.roster import Roster, TimedPicker

__all__ = [
    "MutationSummary",
    "WorldIndex",
    "build_world",
    "default_clients",
    "default_technicians",
    "monthly_amount_on",
    "mutate_world",
]

TICKETS_PER_CLIENT = 75  # 3,000 tickets → 40 clients
TICKETS_PER_TECHNICIAN_YEAR = 250  # 3,000 tickets a year → 12 technicians


def default_clients(tickets: int) -> int:
    """Client companies for a ticket volume (the MSP's own company comes on top)."""
    return max(4, round(tickets / TICKETS_PER_CLIENT))


def default_technicians(tickets: int, start: date, end: date) -> int:
    """Technicians for a ticket volume over a period: enough hands that ~3 time entries per
    ticket add up to a believable working week (utilisation is what they must land on)."""
    years = max((end - start).days, 1) / 365.25
    return max(12, round(tickets / years / TICKETS_PER_TECHNICIAN_YEAR))


def build_world(
    *,
    seed: int = 7,
    tickets: int = 3000,
    start: date = date(2025, 1, 1),
    end: date = date(2026, 1, 1),
    clients: int | None = None,
    technicians: int | None = None,
    time_entries_per_ticket: float = 3.0,
) -> SandboxWorld:
    """A deterministic world of one MSP over `[start, end)`.

    `clients` (client companies; the MSP's own company comes on top) and `technicians`
    default to sizes scaled with `tickets` (40 and 12 for the defaults). The number of time
    entries is `round(tickets x time_entries_per_ticket)`. Technicians' counted hours are
    sized for 62-83 % utilisation over their working span, which holds as long as there are
    enough technicians for the entries to stay at 0.25 h or more.
    """
    if end <= start:
        raise ValueError("end must be after start")
    if tickets < 0 or time_entries_per_ticket < 0:
        raise ValueError("tickets and time_entries_per_ticket must not be negative")
    # The build allocates ~10 objects per record and none of them form cycles: the cyclic
    # collector's repeated scans of the growing heap cost ~25 % of the build for nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _build(seed, tickets, start, end, clients, technicians, time_entries_per_ticket)
    finally:
        if collecting:
            gc.enable()


def _build(
    seed: int,
    tickets: int,
    start: date,
    end: date,
    clients: int | None,
    technicians: int | None,
    time_entries_per_ticket: float,
) -> SandboxWorld:
    rng = Random(seed)
    start_ts, end_ts = day_ts(start), day_ts(end)
    n_clients = default_clients(tickets) if clients is None else clients
    n_techs = default_technicians(tickets, start, end) if technicians is None else technicians

    client_list, client_spans, client_sla = cast.clients(rng, n_clients, start_ts, end_ts)
    tech_list, tech_spans = cast.technicians(rng, n_techs, start_ts, end_ts)
    sla_list = cast.slas()
    roster = Roster(
        start_ts=start_ts,
        end_ts=end_ts,
        client_spans=client_spans,
        tech_spans=tech_spans,
        clients=TimedPicker(list(client_spans.values())),
        technicians=TimedPicker(list(tech_spans.values())),
        client_sla=client_sla,
        sla_targets=sla_targets(sla_list),
    )
    ticket_list, clocks = generate_tickets(rng, tickets, roster)
    entries = generate_time_entries(
        rng, ticket_list, clocks, tech_list, roster, time_entries_per_ticket
    )
    del clocks
    return SandboxWorld(
        seed=seed,
        msp_name=cast.MSP_NAME,
        clients=client_list,
        technicians=tech_list,
        priorities=cast.priorities(),
        boards=list(BOARDS),
        slas=sla_list,
        tickets=ticket_list,
        time_entries=entries,
        agreements=generate_agreements(rng, client_list, roster),
        survey_results=generate_survey_results(rng, ticket_list, roster),
        generated_at=datetime(end.year, end.month, end.day, tzinfo=UTC),
    )
