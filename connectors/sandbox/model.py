"""The sandbox world, declared as data. Vendor-neutral: simulators map it to their shapes.

Conventions every generator and simulator keeps:
- ids are positive ints, unique per entity kind, assigned in creation order;
- datetimes are timezone-aware UTC; dates are calendar dates;
- every record carries `updated_at`, the last time it changed (drives incremental reads);
- the values below are the *truth*: a faithful simulator renders them so that a correct
  connector normalises them back to exactly these values (docs/kpis.md §2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


@dataclass(slots=True)
class Client:
    id: int
    name: str
    active: bool
    updated_at: datetime
    is_msp_itself: bool = False  # the MSP's own company: time charged to it is internal
    deleted: bool = False


@dataclass(slots=True)
class Technician:
    id: int
    first_name: str
    last_name: str
    email: str
    active: bool
    included_in_utilization: bool
    # Hours per weekday, Monday first; None: no capacity record (vendors default 8 h Mon-Fri).
    capacity_hours: tuple[float, ...] | None
    updated_at: datetime
    is_api_user: bool = False  # an API-only account: never counted for utilisation

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True, slots=True)
class Priority:
    level: int  # 1 (most urgent) .. 5; vendors rank by their own sort order
    sort_order: int  # the vendor-visible urgency rank (lower = more urgent)


@dataclass(frozen=True, slots=True)
class SlaTarget:
    """Targets in business hours for one priority level; None: no target for that stage."""

    response_hours: float | None
    resolution_hours: float | None


@dataclass(frozen=True, slots=True)
class Sla:
    id: int
    name: str
    # The SLA's own stage targets, and per-priority-level overrides (a None stage in an
    # override keeps the SLA's own target).
    default: SlaTarget
    overrides: dict[int, SlaTarget] = field(default_factory=dict)

    def target_for(self, level: int) -> SlaTarget:
        override = self.overrides.get(level)
        if override is None:
            return self.default
        return SlaTarget(
            response_hours=(
                override.response_hours
                if override.response_hours is not None
                else self.default.response_hours
            ),
            resolution_hours=(
                override.resolution_hours
                if override.resolution_hours is not None
                else self.default.resolution_hours
            ),
        )


class TicketState(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting_customer"
    RESOLVED = "resolved"  # resolved, not yet closed: still in the open backlog
    CLOSED = "closed"


@dataclass(slots=True)
class Ticket:
    id: int
    number: str
    title: str
    client_id: int
    board: str  # ConnectWise board / Autotask queue name
    state: TicketState
    priority_level: int
    assignee_id: int | None
    created_at: datetime
    updated_at: datetime
    sla_id: int | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None  # only set while state is CLOSED
    # Elapsed business minutes as the PSA computes them (None while the stage is open).
    respond_minutes: int | None = None
    resolve_minutes: int | None = None
    # The truth the PSA's SLA engine reports: None where there is no SLA or the stage is open.
    response_met: bool | None = None
    resolution_met: bool | None = None
    merged_into: int | None = None  # merged children never count
    deleted: bool = False


class TimeKind(StrEnum):
    TICKET = "ticket"  # against a service ticket (counts for utilisation)
    PROJECT = "project"  # project task time (counts for utilisation, no service ticket)
    INTERNAL = "internal"  # admin/training time charged to the MSP itself (does not count)


@dataclass(slots=True)
class TimeEntry:
    id: int
    technician_id: int
    kind: TimeKind
    ticket_id: int | None  # set when kind is TICKET
    client_id: int | None  # the ticket's client, the project's client, or None for internal
    started_at: datetime  # UTC; its date in UTC equals work_date
    work_date: date
    hours: float
    billable_hours: float  # 0 when not billable
    updated_at: datetime
    deleted: bool = False

    @property
    def counts_toward_utilization(self) -> bool:
        return self.kind is not TimeKind.INTERNAL


class BillingCycle(StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


CYCLE_MONTHS = {BillingCycle.MONTHLY: 1, BillingCycle.QUARTERLY: 3, BillingCycle.YEARLY: 12}


@dataclass(slots=True)
class RevenueLine:
    """One priced line of an agreement, billed once per cycle while `[starts_on, ends_on)` holds.

    `price_per_cycle` is the extended price (quantity x unit price) for one billing cycle.
    """

    id: int
    description: str
    quantity: int
    unit_price: Decimal
    starts_on: date
    ends_on: date | None = None  # exclusive; None = open-ended

    @property
    def price_per_cycle(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(slots=True)
class Agreement:
    """A recurring agreement. Monthly amount on day d (when in force) = Σ lines in force on d
    of price_per_cycle ÷ cycle months; the first line is the base fee."""

    id: int
    client_id: int
    name: str
    cycle: BillingCycle
    starts_on: date
    ends_on: date | None  # last day in force (inclusive); None = no end date
    cancelled_on: date | None  # first day no longer in force
    lines: list[RevenueLine]
    updated_at: datetime
    deleted: bool = False


@dataclass(slots=True)
class SurveyResult:
    id: int
    ticket_id: int
    client_id: int
    completed_at: datetime | None  # None: sent but never answered
    rating: int | None  # 1..5 on the survey's scale
    updated_at: datetime

    @property
    def score(self) -> float | None:
        """The canonical score in 0..1 ((rating - 1) / 4)."""
        return None if self.rating is None else (self.rating - 1) / 4


@dataclass(slots=True)
class SandboxWorld:
    seed: int
    msp_name: str
    clients: list[Client]
    technicians: list[Technician]
    priorities: list[Priority]
    boards: list[str]
    slas: list[Sla]
    tickets: list[Ticket]
    time_entries: list[TimeEntry]
    agreements: list[Agreement]
    survey_results: list[SurveyResult]
    generated_at: datetime
