"""The MSP's fixed cast: its clients, technicians, priorities and SLAs.

Capacities are uniform Monday to Friday (or absent) because ConnectWise holds one
`dailyCapacity` per member: anything finer could not be rendered by both simulators. A
technician excluded from utilisation who is not an API user has zero capacity, which is how
Autotask expresses "not measured" (docs/kpis.md §2).
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

from connectors.sandbox.business_hours import DAY, from_ts
from connectors.sandbox.model import Client, Priority, Sla, SlaTarget, Technician
from connectors.sandbox.roster import FOREVER, Span

MSP_NAME = "Northwind IT"
MSP_DOMAIN = "northwind-it.example"

_FULL = (8.0, 8.0, 8.0, 8.0, 8.0, 0.0, 0.0)
_SIX = (6.0, 6.0, 6.0, 6.0, 6.0, 0.0, 0.0)
_FOUR = (4.0, 4.0, 4.0, 4.0, 4.0, 0.0, 0.0)
_NONE = (0.0,) * 7


@dataclass(frozen=True, slots=True)
class _Profile:
    capacity: tuple[float, ...] | None
    active: bool = True
    included: bool = True
    api_user: bool = False
    joins_at: float | None = None  # share of the period after which they start working
    leaves_at: float | None = None  # share of the period after which they stop working


# The first twelve technicians, in id order: every case the KPI rules distinguish.
_PROFILES = (
    _Profile(None),
    _Profile(_FULL),
    _Profile(_SIX),  # part-time
    _Profile(None),
    _Profile(_FULL),
    _Profile(None, active=False, leaves_at=0.4),
    _Profile(_FOUR),  # part-time
    _Profile(None),
    _Profile(_FULL, joins_at=0.3),
    _Profile(_FULL, active=False, leaves_at=0.75),
    _Profile(_NONE, included=False),  # service manager: works tickets, not measured
    _Profile(None, included=False, api_user=True),
)
_REGULAR = (_Profile(None), _Profile(_FULL), _Profile(_SIX), _Profile(None), _Profile(_FOUR))

_FIRST_NAMES = (
    "Alice", "Ben", "Chloe", "Daniel", "Eva", "Farid", "Grace", "Hugo", "Isla", "Jonas",
    "Kim", "Leo", "Maya", "Noah", "Olivia", "Pavel", "Quinn", "Rosa", "Sam", "Tara",
)  # fmt: skip
_LAST_NAMES = (
    "Morgan", "Okafor", "Lindqvist", "Reyes", "Novak", "Haddad", "Kowalski", "Brennan",
    "Tanaka", "Fischer", "Moreau", "Singh", "Costa", "Walsh", "Ivanova", "Dubois", "Kaur",
    "Olsen", "Romero", "Baker", "Sato", "Nguyen", "Keller",
)  # fmt: skip
_CLIENT_WORDS = (
    "Acme", "Harbor", "Summit", "Bluebird", "Cedar", "Granite", "Meridian", "Oakridge",
    "Pioneer", "Riverside", "Silverline", "Trinity", "Vertex", "Willow", "Lakeside", "Beacon",
    "Crescent", "Evergreen", "Falcon", "Horizon", "Juniper", "Keystone", "Lighthouse", "Maple",
)  # fmt: skip
_CLIENT_KINDS = (
    "Dental", "Logistics", "Law Group", "Accounting", "Architects", "Clinic", "Manufacturing",
    "Realty", "Foods", "Engineering", "Insurance", "Academy", "Hotels", "Pharmacy", "Studios",
)  # fmt: skip


def priorities() -> list[Priority]:
    """P1..P4 plus a fifth, lowest level ("Planned") that the level mapping folds into P4."""
    return [Priority(level=level, sort_order=sort) for level, sort in enumerate((2, 4, 6, 8, 9), 1)]


def slas() -> list[Sla]:
    """Two SLAs whose overrides exercise stage-by-stage inheritance.

    "Standard" has no resolution target of its own, so P4/P5 tickets on it have none;
    its P3 override leaves the response stage to the SLA. "Premium" overrides P2's response only.
    """
    return [
        Sla(
            id=1,
            name="Standard",
            default=SlaTarget(response_hours=4.0, resolution_hours=None),
            overrides={
                1: SlaTarget(response_hours=1.0, resolution_hours=8.0),
                2: SlaTarget(response_hours=2.0, resolution_hours=16.0),
                3: SlaTarget(response_hours=None, resolution_hours=40.0),
            },
        ),
        Sla(
            id=2,
            name="Premium",
            default=SlaTarget(response_hours=2.0, resolution_hours=24.0),
            overrides={
                1: SlaTarget(response_hours=0.5, resolution_hours=4.0),
                2: SlaTarget(response_hours=1.0, resolution_hours=None),
            },
        ),
    ]


def _between(rng: Random, low: int, high: int) -> int:
    return low + int(rng.random() * max(high - low, 1))


def clients(
    rng: Random, count: int, start_ts: int, end_ts: int
) -> tuple[list[Client], dict[int, Span], dict[int, int | None]]:
    """The MSP's own company (id 1) and `count` clients, their spans and SLA ids.

    About 5 % (at least two when there are ten or more) churned mid-period and are inactive;
    two joined mid-period. Ticket volume per client is heavy-tailed.
    """
    period = max(end_ts - start_ts, DAY)
    msp = Client(1, MSP_NAME, True, from_ts(_between(rng, start_ts, end_ts)), is_msp_itself=True)
    result = [msp]
    spans: dict[int, Span] = {}
    sla_of: dict[int, int | None] = {}
    inactive = max(2, count // 20) if count >= 10 else 0
    inactive_ids = set(range(2, 2 + count))
    inactive_ids = set(rng.sample(sorted(inactive_ids), inactive)) if inactive else set()
    joiners = [cid for cid in range(2 + count - 4, 2 + count - 2) if cid not in inactive_ids]
    for client_id in range(2, 2 + count):
        index = client_id - 2
        word = _CLIENT_WORDS[index % len(_CLIENT_WORDS)]
        kind = _CLIENT_KINDS[(index // len(_CLIENT_WORDS) + index) % len(_CLIENT_KINDS)]
        suffix = index // (len(_CLIENT_WORDS) * len(_CLIENT_KINDS))
        name = f"{word} {kind}" + (f" {suffix + 1}" if suffix else "")
        weight = min(rng.paretovariate(1.6), 12.0)
        since, until = 0, FOREVER
        if client_id in inactive_ids:
            until = start_ts + int(period * rng.uniform(0.25, 0.8))
        elif count >= 10 and client_id in joiners:
            since = start_ts + int(period * rng.uniform(0.3, 0.6))
        changed = _between(rng, max(since, start_ts - 200 * DAY), end_ts)
        if until < FOREVER:
            changed = min(until + _between(rng, 0, 5 * DAY), end_ts - 1)
        result.append(Client(client_id, name, until == FOREVER, from_ts(changed)))
        spans[client_id] = Span(client_id, weight, since, until)
        draw = rng.random()
        sla_of[client_id] = 2 if draw < 0.2 else (None if draw > 0.95 else 1)
    return result, spans, sla_of


def technicians(
    rng: Random, count: int, start_ts: int, end_ts: int
) -> tuple[list[Technician], dict[int, Span]]:
    """`count` technicians (the first twelve from the fixed profiles) and their spans.

    Assignment weight is weekly capacity (8 h days when absent); the service manager works a
    little; the API user never works.
    """
    period = max(end_ts - start_ts, DAY)
    result: list[Technician] = []
    spans: dict[int, Span] = {}
    emails: set[str] = set()
    for index in range(count):
        tech_id = index + 1
        if index < len(_PROFILES):
            profile = _PROFILES[index]
        else:
            profile = _REGULAR[index % len(_REGULAR)]
            if index % 15 == 0:
                profile = _Profile(profile.capacity, active=False, leaves_at=rng.random())
        first = _FIRST_NAMES[index % len(_FIRST_NAMES)]
        last = _LAST_NAMES[(index + index // len(_FIRST_NAMES)) % len(_LAST_NAMES)]
        if profile.api_user:
            first, last = "Integration", "API"
        email = f"{first}.{last}@{MSP_DOMAIN}".lower()
        if email in emails:
            email = f"{first}.{last}.{tech_id}@{MSP_DOMAIN}".lower()
        emails.add(email)
        since = 0 if profile.joins_at is None else start_ts + int(period * profile.joins_at)
        until = FOREVER if profile.leaves_at is None else start_ts + int(period * profile.leaves_at)
        changed = _between(rng, start_ts - 100 * DAY, end_ts)
        if profile.joins_at is not None:
            changed = max(changed, since - 7 * DAY)
        if profile.leaves_at is not None:
            changed = min(until + _between(rng, 0, 3 * DAY), end_ts - 1)
        result.append(
            Technician(
                id=tech_id,
                first_name=first,
                last_name=last,
                email=email,
                active=profile.active,
                included_in_utilization=profile.included,
                capacity_hours=profile.capacity,
                updated_at=from_ts(changed),
                is_api_user=profile.api_user,
            )
        )
        weekly = sum(profile.capacity if profile.capacity is not None else _FULL)
        weight = 0.0 if profile.api_user else (weekly if profile.included else 6.0)
        spans[tech_id] = Span(tech_id, weight, since, until)
    return result, spans
