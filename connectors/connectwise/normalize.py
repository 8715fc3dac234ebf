"""ConnectWise records to canonical facts (docs/kpis.md §2, §3, §4.4). Pure functions.

Any optional property may be absent (ConnectWise omits null values); what a fact cannot do
without, or a value that is not what it claims, raises `RecordRejected` (`record_fields.py`).
Reference facts the reader attached live under `ENRICHMENT_KEY`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, tzinfo
from typing import Any

from connectors.connectwise.record_fields import (
    Record,
    calendar_day,
    info,
    instant,
    number,
    parse_instant,
    record_key,
    ref,
    ref_key,
    required_instant,
    required_number,
)
from connectors.connectwise.reference import ENRICHMENT_KEY
from connectors.connectwise.revenue import amount_schedule
from connectors.sdk import (
    ClientFact,
    Deletion,
    FactOrDeletion,
    FactType,
    RecordRejected,
    RecurringRevenueFact,
    SurveyResponseFact,
    TechnicianFact,
    TicketFact,
    TimeEntryFact,
)

__all__ = ["normalizers", "parse_instant"]

WORKDAYS = 5
# Only service tickets count (docs/kpis.md §3); project tickets never become ticket facts.
PROJECT_RECORD_TYPES = frozenset({"ProjectTicket", "ProjectIssue"})
DEFAULT_DAILY_CAPACITY = 8.0
ADDITION_NUMBERS = ("quantity", "lessIncluded", "unitPrice")


def _extra(record: Record) -> Mapping[str, Any]:
    extra = record.get(ENRICHMENT_KEY)
    return extra if isinstance(extra, Mapping) else {}


def _plain_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def stage_met(completed: datetime | None, minutes: float | None, target_hours: Any) -> bool | None:
    """met = elapsed business minutes ≤ target hours x 60; None without a target or while the
    stage is open."""
    hours = _plain_number(target_hours)
    if completed is None or minutes is None or hours is None:
        return None
    return minutes <= hours * 60


def _entered(record: Record) -> datetime:
    """When the ticket was entered: `_info.dateEntered` (older versions: top level)."""
    details = info(record)
    if details is not None and details.get("dateEntered") is not None:
        return required_instant(details, "dateEntered", label="_info/dateEntered")
    if record.get("dateEntered") is not None:
        return required_instant(record, "dateEntered")
    if details is None:
        raise RecordRejected("_info", "missing, so the ticket's dates are unknown")
    raise RecordRejected("_info/dateEntered", "missing")


def normalize_ticket(record: Record) -> list[FactOrDeletion]:
    external_id = record_key(record)
    merged = isinstance(record.get("mergedParentTicket"), Mapping)
    if merged or record.get("recordType") in PROJECT_RECORD_TYPES:
        return [Deletion(FactType.TICKET, external_id)]
    created = _entered(record)
    details = info(record) or {}
    closed = record.get("closedFlag") is True
    closed_at = instant(record, "closedDate") if closed else None
    resolved_at = instant(record, "dateResolved") or closed_at
    first_response_at = instant(record, "dateResponded")
    respond_minutes = number(record, "respondMinutes")
    resolve_minutes = number(record, "resolveMinutes")
    extra = _extra(record)
    has_sla = ref(record, "sla") is not None
    level = extra.get("priorityLevel")
    return [
        TicketFact(
            external_id=external_id,
            created_at=created,
            number=external_id,
            title=record.get("summary"),
            client_external_id=ref_key(record, "company"),
            board=ref(record, "board", "name"),
            status=ref(record, "status", "name"),
            is_closed=closed,
            priority=ref(record, "priority", "name"),
            priority_level=level if isinstance(level, int) else None,
            assignee_external_id=ref_key(record, "owner"),
            first_response_at=first_response_at,
            resolved_at=resolved_at,
            closed_at=closed_at,
            response_met=stage_met(first_response_at, respond_minutes, extra.get("respondHours"))
            if has_sla
            else None,
            resolution_met=stage_met(resolved_at, resolve_minutes, extra.get("resolutionHours"))
            if has_sla
            else None,
            updated_at=instant(details, "lastUpdated", label="_info/lastUpdated"),
        )
    ]


def normalize_time_entry(record: Record, reporting_tz: tzinfo) -> list[FactOrDeletion]:
    external_id = record_key(record)
    started = required_instant(record, "timeStart")
    hours = required_number(record, "actualHours")
    billable = 0.0
    if record.get("billableOption") == "Billable":
        billable = required_number(record, "hoursBilled", label="hoursBilled (billable entry)")
    extra = _extra(record)
    company_id = ref(record, "company")
    owners = extra.get("ownerCompanyIds") or ()
    client = None if company_id is None or company_id in owners else str(company_id)
    flag = ref(record, "workType", "utilizationFlag")
    if not isinstance(flag, bool):
        flag = extra.get("utilizationFlag")
    ticket = (
        str(record["chargeToId"])
        if record.get("chargeToType") == "ServiceTicket" and record.get("chargeToId") is not None
        else None
    )
    return [
        TimeEntryFact(
            external_id=external_id,
            technician_external_id=ref_key(record, "member"),
            work_date=started.astimezone(reporting_tz).date(),
            hours=hours,
            billable_hours=billable,
            counts_toward_utilization=flag is not False,
            client_external_id=client,
            ticket_external_id=ticket,
            started_at=started,
        )
    ]


def normalize_member(record: Record) -> list[FactOrDeletion]:
    external_id = record_key(record)
    capacity = number(record, "dailyCapacity")
    daily = DEFAULT_DAILY_CAPACITY if capacity is None else capacity
    name = " ".join(str(part) for part in (record.get("firstName"), record.get("lastName")) if part)
    return [
        TechnicianFact(
            external_id=external_id,
            name=name or str(record.get("identifier") or external_id),
            email=record.get("primaryEmail") or record.get("officeEmail"),
            active=record.get("inactiveFlag") is not True,
            included_in_utilization=record.get("includeInUtilizationReportingFlag") is True,
            capacity_hours=(daily,) * WORKDAYS + (0.0, 0.0),
        )
    ]


def normalize_company(record: Record) -> list[FactOrDeletion]:
    external_id = record_key(record)
    if record.get("deletedFlag") is True:
        return [Deletion(FactType.CLIENT, external_id)]
    inactive = _extra(record).get("statusInactive")
    if not isinstance(inactive, bool):
        inactive = "inactive" in str(ref(record, "status", "name") or "").lower()
    return [
        ClientFact(
            external_id=external_id,
            name=str(record.get("name") or record.get("identifier") or external_id),
            active=not inactive,
        )
    ]


def _check_amounts(record: Record, additions: list[Mapping[str, Any]]) -> None:
    """Money must be numbers: a bad one would silently count as 0."""
    number(record, "billAmount")
    for dated in ("endDate", "dateCancelled"):
        calendar_day(record, dated)
    for addition in additions:
        label = f"additions/{addition.get('id')}"
        for key in ADDITION_NUMBERS:
            number(addition, key, label=f"{label}/{key}")
        for dated in ("effectiveDate", "cancelledDate"):
            calendar_day(addition, dated, label=f"{label}/{dated}")


def normalize_agreement(record: Record) -> list[FactOrDeletion]:
    external_id = record_key(record)
    extra = _extra(record)
    if extra.get("gone") is True:
        return [Deletion(FactType.RECURRING_REVENUE, external_id)]
    starts_on = calendar_day(record, "startDate")
    if starts_on is None:
        raise RecordRejected("startDate", "missing")
    option = extra.get("billingOptions")
    additions = [row for row in extra.get("additions") or [] if isinstance(row, Mapping)]
    _check_amounts(record, additions)
    ends_on = None if record.get("noEndingDateFlag") is True else calendar_day(record, "endDate")
    return [
        RecurringRevenueFact(
            external_id=external_id,
            name=str(record.get("name") or external_id),
            starts_on=starts_on,
            client_external_id=ref_key(record, "company"),
            ends_on=ends_on,
            cancelled_on=calendar_day(record, "dateCancelled"),
            amount_schedule=amount_schedule(
                record, additions, option if isinstance(option, str) else None
            ),
        )
    ]


def normalize_survey_result(record: Record) -> list[FactOrDeletion]:
    external_id = record_key(record)
    details = info(record) or {}
    completed = instant(details, "dateEntered", label="_info/dateEntered") or instant(
        details, "lastUpdated", label="_info/lastUpdated"
    )
    if completed is None:
        raise RecordRejected("_info/dateEntered", "missing")
    points = required_number(record, "totalPoints")
    extra = _extra(record)
    if extra.get("questionsUnavailable") is True:
        raise RecordRejected(
            "surveyId",
            f"the questions of survey {record.get('surveyId')} are unavailable, so the "
            "result cannot be scored",
        )
    maximum = _plain_number(extra.get("maxPoints"))
    if not maximum:
        return []  # a survey whose questions score nothing measures no satisfaction
    ticket = record.get("ticketId")
    return [
        SurveyResponseFact(
            external_id=external_id,
            completed_at=completed,
            score=min(1.0, max(0.0, points / maximum)),
            ticket_external_id=None if ticket is None else str(ticket),
            client_external_id=ref_key(record, "company"),
        )
    ]


def normalizers(reporting_tz: tzinfo) -> dict[str, Callable[[Record], list[FactOrDeletion]]]:
    """Stream name -> its normaliser. Sweep streams carry ids only and normalise to nothing."""
    return {
        "companies": normalize_company,
        "members": normalize_member,
        "tickets": normalize_ticket,
        "time_entries": lambda record: normalize_time_entry(record, reporting_tz),
        "agreements": normalize_agreement,
        "survey_results": normalize_survey_result,
        "tickets_sweep": lambda record: [],
        "time_entries_sweep": lambda record: [],
        "agreements_sweep": lambda record: [],
    }
