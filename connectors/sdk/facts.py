"""Canonical, vendor-neutral facts (docs/kpis.md §2).

A connector's `normalize` returns these; nothing downstream ever sees a vendor field name.
References between facts are the PSA's own ids (`*_external_id`) within the same source: the
store resolves them, so a connector never needs to know what Northstar assigned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class FactType(StrEnum):
    """The canonical fact tables, by name."""

    CLIENT = "client"
    TECHNICIAN = "technician"
    TICKET = "ticket"
    TIME_ENTRY = "time_entry"
    RECURRING_REVENUE = "recurring_revenue"
    SURVEY_RESPONSE = "survey_response"


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_CAPACITY: tuple[float, ...] = (8.0, 8.0, 8.0, 8.0, 8.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class ClientFact:
    external_id: str
    name: str
    active: bool = True

    fact_type = FactType.CLIENT


@dataclass(frozen=True, slots=True)
class TechnicianFact:
    external_id: str
    name: str
    email: str | None = None
    active: bool = True
    included_in_utilization: bool = True
    # Hours per weekday, Monday first (index 0) to Sunday (index 6).
    capacity_hours: tuple[float, ...] = DEFAULT_CAPACITY

    fact_type = FactType.TECHNICIAN

    def __post_init__(self) -> None:
        if len(self.capacity_hours) != 7:
            raise ValueError("capacity_hours needs exactly 7 values, Monday to Sunday")


@dataclass(frozen=True, slots=True)
class TicketFact:
    """A service-desk ticket. Merged tickets are not facts: emit a `Deletion` for them."""

    external_id: str
    created_at: datetime
    number: str | None = None
    title: str | None = None
    client_external_id: str | None = None
    board: str | None = None
    status: str | None = None
    is_closed: bool = False
    priority: str | None = None
    # 1 (most urgent) to 4; see docs/kpis.md §1 for how a source's priorities map to levels.
    priority_level: int | None = None
    assignee_external_id: str | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    response_met: bool | None = None
    resolution_met: bool | None = None
    updated_at: datetime | None = None

    fact_type = FactType.TICKET


@dataclass(frozen=True, slots=True)
class TimeEntryFact:
    external_id: str
    technician_external_id: str | None
    work_date: date
    hours: float
    billable_hours: float = 0.0
    counts_toward_utilization: bool = True
    client_external_id: str | None = None
    ticket_external_id: str | None = None
    # When the work started, where the PSA says (matches deletion logs to entries).
    started_at: datetime | None = None

    fact_type = FactType.TIME_ENTRY


@dataclass(frozen=True, slots=True)
class AmountPeriod:
    """The monthly recurring amount in force on every day of `[valid_from, valid_to)`.

    `valid_to` None means open-ended. Periods of one fact never overlap; days covered by
    no period contribute nothing.
    """

    valid_from: date
    valid_to: date | None
    monthly_amount: Decimal


@dataclass(frozen=True, slots=True)
class RecurringRevenueFact:
    """A recurring agreement/contract with its schedule of monthly amounts (docs/kpis.md §4.4).

    The connector applies the vendor's rules (start, end, cancellation, billing cycle,
    additions) and hands over the resulting schedule: the store only sums it.
    """

    external_id: str
    name: str
    starts_on: date
    client_external_id: str | None = None
    ends_on: date | None = None
    cancelled_on: date | None = None
    amount_schedule: tuple[AmountPeriod, ...] = field(default_factory=tuple)

    fact_type = FactType.RECURRING_REVENUE


@dataclass(frozen=True, slots=True)
class SurveyResponseFact:
    external_id: str
    completed_at: datetime
    score: float  # normalised to 0..1
    ticket_external_id: str | None = None
    client_external_id: str | None = None
    technician_external_id: str | None = None

    fact_type = FactType.SURVEY_RESPONSE

    def __post_init__(self) -> None:
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"survey score must be within 0..1, got {self.score}")


@dataclass(frozen=True, slots=True)
class Deletion:
    """The PSA says this record is gone (deleted, merged, flagged): it must stop counting."""

    fact_type: FactType
    external_id: str


@dataclass(frozen=True, slots=True)
class MatchedDeletion:
    """The PSA logged a deletion without the record's id (Autotask's deletion logs): remove
    the one stored fact whose fields equal every pair of `match` (canonical field names, e.g.
    `ticket_external_id`, `technician_external_id`, `started_at`, `hours`).

    Never a guess: when no stored fact or more than one matches, nothing is deleted and the
    runner says so on the run record; the stream's id sweep removes the record later.
    """

    fact_type: FactType
    match: tuple[tuple[str, object], ...]


Fact = (
    ClientFact
    | TechnicianFact
    | TicketFact
    | TimeEntryFact
    | RecurringRevenueFact
    | SurveyResponseFact
)
FactOrDeletion = Fact | Deletion | MatchedDeletion
