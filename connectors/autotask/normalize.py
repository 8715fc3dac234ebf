"""Autotask records to canonical facts (docs/kpis.md §2, §3, §4.4). Pure functions.

Each function takes one record as the reader yields it (with what it needs from other
entities under `ENRICHMENT_KEY`, see `enrich.py`) and the source's config. Vendor field names
end here. A record that cannot become a fact (no id, a missing required date, a number that
is not one) raises `RecordRejected` naming the field: the runner quarantines it and stores
the rest of the page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from connectors.autotask.config import AutotaskConfig
from connectors.autotask.enrich import ENRICHMENT_KEY
from connectors.autotask.fields import (
    int_or_none,
    number,
    reference,
    required_day,
    required_id,
    required_when,
    when,
    whole_number,
)
from connectors.autotask.revenue import amount_schedule, months_per_period
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
    ClientFact,
    Deletion,
    FactOrDeletion,
    FactType,
    FatalError,
    MatchedDeletion,
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
_API_LICENSE = re.compile(r"\bAPI\b", re.IGNORECASE)


def _extra(record: Record) -> Mapping[str, Any]:
    value = record.get(ENRICHMENT_KEY)
    return value if isinstance(value, Mapping) else {}


def _ref(value: Any) -> str | None:
    """An id the reader attached (already an Autotask id, or None)."""
    ref = int_or_none(value)
    return None if ref is None else str(ref)


def _flag(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _met(actual: datetime | None, due: datetime | None) -> bool | None:
    return None if actual is None or due is None else actual <= due


def company(record: Record, config: AutotaskConfig) -> list[FactOrDeletion]:
    return [
        ClientFact(
            external_id=required_id(record),
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
        tuple(number(row, f, default=0.0) or 0.0 for f in WEEKDAY_FIELDS)
        if isinstance(row, Mapping)
        else DEFAULT_CAPACITY
    )
    license_label = str(extra.get("license_label") or "")
    name = " ".join(str(record.get(f) or "").strip() for f in ("firstName", "lastName")).strip()
    return [
        TechnicianFact(
            external_id=required_id(record),
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
    external_id = required_id(record)
    is_closed = whole_number(record, "status") == COMPLETE_TICKET_STATUS
    first_response_at = when(record, "firstResponseDateTime")
    resolved = when(record, "resolvedDateTime")
    closed_at = when(record, "completedDate") if is_closed else None
    sla = extra.get("sla")
    if isinstance(sla, Mapping):
        response_met = _flag(sla.get("isFirstResponseMet"))
        resolution_met = _flag(sla.get("isResolutionMet"))
    else:
        response_met = _met(first_response_at, when(record, "firstResponseDueDateTime"))
        resolution_met = _met(resolved, when(record, "resolvedDueDateTime"))
    stamps = [
        s
        for s in (
            when(record, "lastActivityDate"),
            when(record, "lastTrackedModificationDateTime"),
        )
        if s is not None
    ]
    return [
        TicketFact(
            external_id=external_id,
            created_at=required_when(record, "createDate"),
            number=_text(record.get("ticketNumber")),
            title=_text(record.get("title")),
            client_external_id=reference(record, "companyID"),
            board=labels.get("queueID"),
            status=labels.get("status"),
            is_closed=is_closed,
            priority=labels.get("priority"),
            priority_level=extra.get("priority_level"),
            assignee_external_id=reference(record, "assignedResourceID"),
            first_response_at=first_response_at,
            resolved_at=resolved or closed_at,
            closed_at=closed_at,
            response_met=response_met,
            resolution_met=resolution_met,
            updated_at=max(stamps) if stamps else None,
        )
    ]


def time_entry(record: Record, config: AutotaskConfig) -> list[FactOrDeletion]:
    """`started_at` is `startDateTime` (absent when the tenant does not require start and
    stop times); the deletion logs are matched against it (`deleted_activity`)."""
    external_id = required_id(record)
    work_date = required_day(record, "dateWorked")
    hours = number(record, "hoursWorked", default=0.0) or 0.0
    to_bill = number(record, "hoursToBill", default=0.0) or 0.0
    ticket_id = reference(record, "ticketID")
    task_id = reference(record, "taskID")
    return [
        TimeEntryFact(
            external_id=external_id,
            technician_external_id=reference(record, "resourceID"),
            work_date=work_date,
            hours=hours,
            billable_hours=0.0 if record.get("isNonBillable") else to_bill,
            counts_toward_utilization=ticket_id is not None or task_id is not None,
            client_external_id=_ref(_extra(record).get("client_company_id")),
            ticket_external_id=ticket_id,
            started_at=when(record, "startDateTime"),
        )
    ]


def contract(record: Record, config: AutotaskConfig) -> list[FactOrDeletion]:
    """A Recurring Service contract; status is not consulted (§4.4). Autotask has no
    cancellation date: a cancelled contract simply ends earlier."""
    extra = _extra(record)
    external_id = required_id(record)
    starts_on = required_day(record, "startDate")
    end = required_day(record, "endDate")
    open_ended = end >= config.open_ended_from
    months = months_per_period(extra.get("period_label"))
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
            external_id=external_id,
            name=str(record.get("contractName") or ""),
            starts_on=starts_on,
            client_external_id=reference(record, "companyID"),
            ends_on=None if open_ended else end,
            amount_schedule=schedule,
        )
    ]


def survey_result(record: Record, config: AutotaskConfig) -> list[FactOrDeletion]:
    """Only answered surveys (both `completeDate` and `surveyRating`) are responses."""
    external_id = required_id(record)
    completed_at = when(record, "completeDate")
    rating = number(record, "surveyRating")
    if completed_at is None or rating is None:
        return []
    low, high = config.survey_rating_min, config.survey_rating_max
    score = min(1.0, max(0.0, (rating - low) / (high - low)))
    return [
        SurveyResponseFact(
            external_id=external_id,
            completed_at=completed_at,
            score=score,
            ticket_external_id=reference(record, "ticketID"),
            client_external_id=reference(record, "companyID"),
            technician_external_id=_ref(_extra(record).get("ticket_assignee_id")),
        )
    ]


def deleted_ticket(record: Record, config: AutotaskConfig) -> list[FactOrDeletion]:
    ticket_id = reference(record, "ticketID")
    return [] if ticket_id is None else [Deletion(FactType.TICKET, ticket_id)]


def _is_time_activity(record: Record, config: AutotaskConfig) -> bool:
    """Whether a deletion log row is a time entry's (notes and attachments are logged in
    the same entities): by the configured type ids, else by the typeID picklist's label,
    else (no label known) by having hours worked."""
    if config.time_entry_activity_type_ids:
        return int_or_none(record.get("typeID")) in config.time_entry_activity_type_ids
    label = _extra(record).get("type_label")
    if label:
        return "time" in str(label).lower()
    return record.get("hoursWorked") is not None


def _deleted_time(
    record: Record, config: AutotaskConfig, *, on_ticket: bool
) -> list[FactOrDeletion]:
    """The logs name no time entry (their `id` is the log row's own): the deletion matches
    the stored entry by what the log does say. A log without a start time, resource or
    hours could match the wrong entry: nothing is deleted, the id sweep removes it."""
    if not config.time_entry_deletions_from_logs or not _is_time_activity(record, config):
        return []
    ticket = reference(record, "ticketID") if on_ticket else None
    resource = reference(record, "createdByResourceID")
    started_at = when(record, "startDateTime")
    hours = number(record, "hoursWorked")
    if resource is None or started_at is None or hours is None or (on_ticket and ticket is None):
        return []
    return [
        MatchedDeletion(
            FactType.TIME_ENTRY,
            match=(
                # Task time has no ticket: None keeps it from matching a ticket's entry.
                ("ticket_external_id", ticket),
                ("technician_external_id", resource),
                ("started_at", started_at),
                ("hours", hours),
            ),
        )
    ]


def deleted_ticket_activity(record: Record, config: AutotaskConfig) -> list[FactOrDeletion]:
    """A DeletedTicketActivityLogs row: a deleted ticket time entry, or nothing."""
    return _deleted_time(record, config, on_ticket=True)


def deleted_task_activity(record: Record, config: AutotaskConfig) -> list[FactOrDeletion]:
    """A DeletedTaskActivityLogs row: a deleted project-task time entry, or nothing."""
    return _deleted_time(record, config, on_ticket=False)


NORMALIZERS: Mapping[str, Normalizer] = {
    COMPANIES: company,
    RESOURCES: resource,
    TICKETS: ticket,
    TIME_ENTRIES: time_entry,
    CONTRACTS: contract,
    SURVEY_RESULTS: survey_result,
    DELETED_TICKETS: deleted_ticket,
    DELETED_TIME_ENTRIES: deleted_ticket_activity,
    DELETED_TASK_TIME_ENTRIES: deleted_task_activity,
}


def normalize_record(stream: str, record: Record, config: AutotaskConfig) -> list[FactOrDeletion]:
    """One record of `stream` to canonical facts. Raises RecordRejected for a record that
    cannot become one (a ticket without createDate, say), FatalError for an unknown stream."""
    normalizer = NORMALIZERS.get(stream)
    if normalizer is None:
        raise FatalError(f"Autotask has no stream named {stream!r}.")
    return normalizer(record, config)
