"""Autotask records to canonical facts (docs/kpis.md §2, §3, §4.4). Pure functions.

Each function takes one record as the reader yields it (with what it needs from other
entities under `ENRICHMENT_KEY`, see `enrich.py`) and the source's config. Vendor field names
end here.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from connectors.autotask.config import AutotaskConfig
from connectors.autotask.enrich import ENRICHMENT_KEY
from connectors.autotask.query import parse_date, parse_datetime
from connectors.autotask.streams import (
    COMPANIES,
    COMPLETE_TICKET_STATUS,
    CONTRACTS,
    DELETED_TASK_TIME_ENTRIES,
    DELETED_TICKETS,
    DELETED_TIME_ENTRIES,
    RESOURCES,
    SURVEY_RESULTS,
    TICKETS,
    TIME_ENTRIES,
)
from connectors.sdk import (
    AmountPeriod,
    ClientFact,
    Deletion,
    FactOrDeletion,
    FactType,
    FatalError,
    Record,
    RecurringRevenueFact,
    SurveyResponseFact,
    TechnicianFact,
    TicketFact,
    TimeEntryFact,
)
from connectors.sdk.facts import DEFAULT_CAPACITY

Normalizer = Callable[[Record, AutotaskConfig], list[FactOrDeletion]]

# ResourceDailyAvailabilities columns, Monday first (TechnicianFact's order).
WEEKDAY_FIELDS = (
    "mondayAvailableHours",
    "tuesdayAvailableHours",
    "wednesdayAvailableHours",
    "thursdayAvailableHours",
    "fridayAvailableHours",
    "saturdayAvailableHours",
    "sundayAvailableHours",
)
# contractPeriodType label (lower-cased, letters only) -> months per billing period.
PERIOD_MONTHS: Mapping[str, int] = {
    "monthly": 1,
    "quarterly": 3,
    "semiannual": 6,
    "semiannually": 6,
    "yearly": 12,
    "annual": 12,
    "annually": 12,
}
_API_LICENSE = re.compile(r"\bAPI\b", re.IGNORECASE)


def _extra(record: Record) -> Mapping[str, Any]:
    value = record.get(ENRICHMENT_KEY)
    return value if isinstance(value, Mapping) else {}


def _ref(value: Any) -> str | None:
    return None if value is None else str(int(value))


def _flag(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _when(record: Record, field: str) -> datetime | None:
    try:
        return parse_datetime(record.get(field))
    except ValueError as exc:
        raise FatalError(f"Autotask record {record.get('id')} has an unreadable {field}") from exc


def _required_when(record: Record, field: str) -> datetime:
    value = _when(record, field)
    if value is None:
        raise FatalError(f"Autotask record {record.get('id')} has no {field}")
    return value


def _met(actual: datetime | None, due: datetime | None) -> bool | None:
    return None if actual is None or due is None else actual <= due


def company(record: Record, config: AutotaskConfig) -> list[FactOrDeletion]:
    return [
        ClientFact(
            external_id=str(record["id"]),
            name=str(record.get("companyName") or ""),
            active=record.get("isActive") is not False,
        )
    ]


def resource(record: Record, config: AutotaskConfig) -> list[FactOrDeletion]:
    """Capacity from the winning availability row (8 h Mon-Fri without one); included in
    utilisation unless an API-only licence or a weekly availability of 0."""
    extra = _extra(record)
    row = extra.get("availability")
    capacity = (
        tuple(float(row.get(f) or 0.0) for f in WEEKDAY_FIELDS)
        if isinstance(row, Mapping)
        else DEFAULT_CAPACITY
    )
    license_label = str(extra.get("license_label") or "")
    name = " ".join(str(record.get(f) or "").strip() for f in ("firstName", "lastName")).strip()
    return [
        TechnicianFact(
            external_id=str(record["id"]),
            name=name,
            email=record.get("email") or None,
            active=record.get("isActive") is not False,
            included_in_utilization=not _API_LICENSE.search(license_label) and sum(capacity) > 0,
            capacity_hours=capacity,
        )
    ]


def ticket(record: Record, config: AutotaskConfig) -> list[FactOrDeletion]:
    """`completedDate` counts only while the status is Complete (5), also as the fallback
    for `resolved_at`: a stamp left on a reopened ticket is ignored. SLA stages come from
    the winning result row (a null stage there: no SLA); without any row, from actual vs due.
    """
    extra = _extra(record)
    labels = extra.get("labels") or {}
    status = record.get("status")
    is_closed = status is not None and int(status) == COMPLETE_TICKET_STATUS
    closed_at = _when(record, "completedDate") if is_closed else None
    resolved_at = _when(record, "resolvedDateTime") or closed_at
    sla = extra.get("sla")
    if isinstance(sla, Mapping):
        response_met = _flag(sla.get("isFirstResponseMet"))
        resolution_met = _flag(sla.get("isResolutionMet"))
    else:
        response_met = _met(
            _when(record, "firstResponseDateTime"), _when(record, "firstResponseDueDateTime")
        )
        resolution_met = _met(
            _when(record, "resolvedDateTime"), _when(record, "resolvedDueDateTime")
        )
    stamps = [
        s
        for s in (
            _when(record, "lastActivityDate"),
            _when(record, "lastTrackedModificationDateTime"),
        )
        if s is not None
    ]
    return [
        TicketFact(
            external_id=str(record["id"]),
            created_at=_required_when(record, "createDate"),
            number=record.get("ticketNumber"),
            title=record.get("title"),
            client_external_id=_ref(record.get("companyID")),
            board=labels.get("queueID"),
            status=labels.get("status"),
            is_closed=is_closed,
            priority=labels.get("priority"),
            priority_level=extra.get("priority_level"),
            assignee_external_id=_ref(record.get("assignedResourceID")),
            first_response_at=_when(record, "firstResponseDateTime"),
            resolved_at=resolved_at,
            closed_at=closed_at,
            response_met=response_met,
            resolution_met=resolution_met,
            updated_at=max(stamps) if stamps else None,
        )
    ]


def time_entry(record: Record, config: AutotaskConfig) -> list[FactOrDeletion]:
    work_date = parse_date(record.get("dateWorked"))
    if work_date is None:
        raise FatalError(f"Autotask time entry {record.get('id')} has no dateWorked")
    billable = 0.0 if record.get("isNonBillable") else float(record.get("hoursToBill") or 0.0)
    return [
        TimeEntryFact(
            external_id=str(record["id"]),
            technician_external_id=_ref(record.get("resourceID")),
            work_date=work_date,
            hours=float(record.get("hoursWorked") or 0.0),
            billable_hours=billable,
            counts_toward_utilization=(
                record.get("ticketID") is not None or record.get("taskID") is not None
            ),
            client_external_id=_ref(_extra(record).get("client_company_id")),
            ticket_external_id=_ref(record.get("ticketID")),
        )
    ]


def _period_months(label: object) -> int | None:
    key = re.sub(r"[^a-z]", "", str(label or "").lower())
    return PERIOD_MONTHS.get(key)


def amount_schedule(
    rows: Sequence[Mapping[str, Any]],
    *,
    starts_on: date,
    ends_on: date,
    period_months: int,
    price_is_extended: bool,
    open_ended: bool,
) -> tuple[AmountPeriod, ...]:
    """docs/kpis.md §4.4: the monthly amount on day d is Σ over service-unit rows whose
    `[startDate, endDate]` covers d (and d within the contract) of price ÷ months per period.
    Returned as non-overlapping periods of equal amount; days worth 0 are left out."""
    spans: list[tuple[date, date, Decimal]] = []
    for row in rows:
        row_start, row_end = parse_date(row.get("startDate")), parse_date(row.get("endDate"))
        if row_start is None or row_end is None:
            continue
        first, last = max(row_start, starts_on), min(row_end, ends_on)
        if first > last:
            continue
        price = Decimal(str(row.get("price") or 0))
        if not price_is_extended:
            price *= Decimal(str(row.get("units") or 0))
        spans.append((first, last, price))
    # Sweep the edges in order with a running sum: the amount changes only at row edges.
    changes: dict[date, Decimal] = {}
    for first, last, price in spans:
        changes[first] = changes.get(first, Decimal(0)) + price
        after = last + timedelta(days=1)
        changes[after] = changes.get(after, Decimal(0)) - price
    edges = sorted(changes)
    periods: list[AmountPeriod] = []
    per_period = Decimal(0)
    for valid_from, valid_to in itertools.pairwise(edges):
        per_period += changes[valid_from]
        if not per_period:
            continue
        # Divide the period's sum, as a monthly amount of the summed prices is computed.
        amount = per_period / period_months
        if periods and periods[-1].valid_to == valid_from and periods[-1].monthly_amount == amount:
            valid_from = periods.pop().valid_from
        periods.append(AmountPeriod(valid_from, valid_to, amount))
    if open_ended and periods and periods[-1].valid_to == ends_on + timedelta(days=1):
        periods[-1] = AmountPeriod(periods[-1].valid_from, None, periods[-1].monthly_amount)
    return tuple(periods)


def contract(record: Record, config: AutotaskConfig) -> list[FactOrDeletion]:
    """A Recurring Service contract; status is not consulted (§4.4). Autotask has no
    cancellation date: a cancelled contract simply ends earlier."""
    extra = _extra(record)
    starts_on = parse_date(record.get("startDate"))
    end = parse_date(record.get("endDate"))
    if starts_on is None or end is None:
        raise FatalError(f"Autotask contract {record.get('id')} has no start or end date")
    open_ended = end >= config.open_ended_from
    months = _period_months(extra.get("period_label"))
    schedule = (
        amount_schedule(
            extra.get("service_units") or [],
            starts_on=starts_on,
            ends_on=end,
            period_months=months,
            price_is_extended=config.service_unit_price_is_extended,
            open_ended=open_ended,
        )
        if months is not None
        else ()
    )
    return [
        RecurringRevenueFact(
            external_id=str(record["id"]),
            name=str(record.get("contractName") or ""),
            starts_on=starts_on,
            client_external_id=_ref(record.get("companyID")),
            ends_on=None if open_ended else end,
            amount_schedule=schedule,
        )
    ]


def survey_result(record: Record, config: AutotaskConfig) -> list[FactOrDeletion]:
    """Only answered surveys (both `completeDate` and `surveyRating`) are responses."""
    completed_at = _when(record, "completeDate")
    rating = record.get("surveyRating")
    if completed_at is None or rating is None:
        return []
    low, high = config.survey_rating_min, config.survey_rating_max
    score = min(1.0, max(0.0, (float(rating) - low) / (high - low)))
    return [
        SurveyResponseFact(
            external_id=str(record["id"]),
            completed_at=completed_at,
            score=score,
            ticket_external_id=_ref(record.get("ticketID")),
            client_external_id=_ref(record.get("companyID")),
            technician_external_id=_ref(_extra(record).get("ticket_assignee_id")),
        )
    ]


def deleted_ticket(record: Record, config: AutotaskConfig) -> list[FactOrDeletion]:
    ticket_id = record.get("ticketID")
    return [] if ticket_id is None else [Deletion(FactType.TICKET, str(int(ticket_id)))]


def deleted_activity(record: Record, config: AutotaskConfig) -> list[FactOrDeletion]:
    """A deleted time entry (notes and attachments are logged here too: skipped). The log's
    `id` is taken as the time entry's (the log has no other reference to it). Without a
    type label, a row with hours worked is taken for time."""
    label = _extra(record).get("type_label")
    is_time = "time" in label.lower() if label else record.get("hoursWorked") is not None
    if not config.time_entry_deletions_from_logs or not is_time:
        return []
    return [Deletion(FactType.TIME_ENTRY, str(record["id"]))]


NORMALIZERS: Mapping[str, Normalizer] = {
    COMPANIES: company,
    RESOURCES: resource,
    TICKETS: ticket,
    TIME_ENTRIES: time_entry,
    CONTRACTS: contract,
    SURVEY_RESULTS: survey_result,
    DELETED_TICKETS: deleted_ticket,
    DELETED_TIME_ENTRIES: deleted_activity,
    DELETED_TASK_TIME_ENTRIES: deleted_activity,
}


def normalize_record(stream: str, record: Record, config: AutotaskConfig) -> list[FactOrDeletion]:
    """One record of `stream` to canonical facts. Raises FatalError for an unknown stream or
    a record missing what every such record has (a ticket's createDate, say)."""
    normalizer = NORMALIZERS.get(stream)
    if normalizer is None:
        raise FatalError(f"Autotask has no stream named {stream!r}.")
    return normalizer(record, config)
