"""ConnectWise records to canonical facts (docs/kpis.md §2, §3, §4.4). Pure functions.

Any property may be absent (ConnectWise omits null values), so every lookup tolerates a
missing key. Reference facts the reader attached live under `ENRICHMENT_KEY`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

from connectors.connectwise.reference import ENRICHMENT_KEY
from connectors.connectwise.revenue import amount_schedule, calendar_date
from connectors.sdk import (
    ClientFact,
    Deletion,
    FactOrDeletion,
    FactType,
    RecurringRevenueFact,
    SurveyResponseFact,
    TechnicianFact,
    TicketFact,
    TimeEntryFact,
)

Record = Mapping[str, Any]
WORKDAYS = 5
# Only service tickets count (docs/kpis.md §3); project tickets never become ticket facts.
PROJECT_RECORD_TYPES = frozenset({"ProjectTicket", "ProjectIssue"})
DEFAULT_DAILY_CAPACITY = 8.0


def parse_instant(value: Any) -> datetime | None:
    """A ConnectWise timestamp as an aware datetime (naive values are taken as UTC)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _ref(record: Record, key: str, field: str = "id") -> Any:
    ref = record.get(key)
    return ref.get(field) if isinstance(ref, Mapping) else None


def _ref_id(record: Record, key: str) -> str | None:
    value = _ref(record, key)
    return None if value is None else str(value)


def _info(record: Record, key: str) -> datetime | None:
    info = record.get("_info")
    return parse_instant(info.get(key)) if isinstance(info, Mapping) else None


def _extra(record: Record) -> Mapping[str, Any]:
    extra = record.get(ENRICHMENT_KEY)
    return extra if isinstance(extra, Mapping) else {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def stage_met(completed: datetime | None, elapsed_minutes: Any, target_hours: Any) -> bool | None:
    """met = elapsed business minutes ≤ target hours x 60; None without a target or while the
    stage is open."""
    minutes = _number(elapsed_minutes)
    hours = _number(target_hours)
    if completed is None or minutes is None or hours is None:
        return None
    return minutes <= hours * 60


def normalize_ticket(record: Record) -> list[FactOrDeletion]:
    external_id = str(record["id"])
    merged = isinstance(record.get("mergedParentTicket"), Mapping)
    if merged or record.get("recordType") in PROJECT_RECORD_TYPES:
        return [Deletion(FactType.TICKET, external_id)]
    created = _info(record, "dateEntered") or parse_instant(record.get("dateEntered"))
    created = created or _info(record, "lastUpdated")
    if created is None:
        return []
    closed = record.get("closedFlag") is True
    closed_at = parse_instant(record.get("closedDate")) if closed else None
    resolved_at = parse_instant(record.get("dateResolved")) or closed_at
    first_response_at = parse_instant(record.get("dateResponded"))
    extra = _extra(record)
    has_sla = _ref(record, "sla") is not None
    level = extra.get("priorityLevel")
    return [
        TicketFact(
            external_id=external_id,
            created_at=created,
            number=external_id,
            title=record.get("summary"),
            client_external_id=_ref_id(record, "company"),
            board=_ref(record, "board", "name"),
            status=_ref(record, "status", "name"),
            is_closed=closed,
            priority=_ref(record, "priority", "name"),
            priority_level=level if isinstance(level, int) else None,
            assignee_external_id=_ref_id(record, "owner"),
            first_response_at=first_response_at,
            resolved_at=resolved_at,
            closed_at=closed_at,
            response_met=stage_met(
                first_response_at, record.get("respondMinutes"), extra.get("respondHours")
            )
            if has_sla
            else None,
            resolution_met=stage_met(
                resolved_at, record.get("resolveMinutes"), extra.get("resolutionHours")
            )
            if has_sla
            else None,
            updated_at=_info(record, "lastUpdated"),
        )
    ]


def normalize_time_entry(record: Record, reporting_tz: tzinfo) -> list[FactOrDeletion]:
    started = parse_instant(record.get("timeStart"))
    if started is None:
        return []
    extra = _extra(record)
    company_id = _ref(record, "company")
    owners = extra.get("ownerCompanyIds") or ()
    client = None if company_id is None or company_id in owners else str(company_id)
    hours = _number(record.get("actualHours")) or 0.0
    billable = (
        _number(record.get("hoursBilled")) or 0.0
        if record.get("billableOption") == "Billable"
        else 0.0
    )
    flag = _ref(record, "workType", "utilizationFlag")
    if not isinstance(flag, bool):
        flag = extra.get("utilizationFlag")
    ticket = (
        str(record["chargeToId"])
        if record.get("chargeToType") == "ServiceTicket" and record.get("chargeToId") is not None
        else None
    )
    return [
        TimeEntryFact(
            external_id=str(record["id"]),
            technician_external_id=_ref_id(record, "member"),
            work_date=started.astimezone(reporting_tz).date(),
            hours=hours,
            billable_hours=billable,
            counts_toward_utilization=flag is not False,
            client_external_id=client,
            ticket_external_id=ticket,
        )
    ]


def normalize_member(record: Record) -> list[FactOrDeletion]:
    capacity = _number(record.get("dailyCapacity"))
    daily = DEFAULT_DAILY_CAPACITY if capacity is None else capacity
    name = " ".join(str(part) for part in (record.get("firstName"), record.get("lastName")) if part)
    return [
        TechnicianFact(
            external_id=str(record["id"]),
            name=name or str(record.get("identifier") or record["id"]),
            email=record.get("primaryEmail") or record.get("officeEmail"),
            active=record.get("inactiveFlag") is not True,
            included_in_utilization=record.get("includeInUtilizationReportingFlag") is True,
            capacity_hours=(daily,) * WORKDAYS + (0.0, 0.0),
        )
    ]


def normalize_company(record: Record) -> list[FactOrDeletion]:
    external_id = str(record["id"])
    if record.get("deletedFlag") is True:
        return [Deletion(FactType.CLIENT, external_id)]
    inactive = _extra(record).get("statusInactive")
    if not isinstance(inactive, bool):
        inactive = "inactive" in str(_ref(record, "status", "name") or "").lower()
    return [
        ClientFact(
            external_id=external_id,
            name=str(record.get("name") or record.get("identifier") or external_id),
            active=not inactive,
        )
    ]


def normalize_agreement(record: Record) -> list[FactOrDeletion]:
    external_id = str(record["id"])
    extra = _extra(record)
    if extra.get("gone") is True:
        return [Deletion(FactType.RECURRING_REVENUE, external_id)]
    starts_on = calendar_date(record.get("startDate"))
    if starts_on is None:
        return []
    option = extra.get("billingOptions")
    additions = extra.get("additions") or []
    ends_on = (
        None if record.get("noEndingDateFlag") is True else calendar_date(record.get("endDate"))
    )
    return [
        RecurringRevenueFact(
            external_id=external_id,
            name=str(record.get("name") or external_id),
            starts_on=starts_on,
            client_external_id=_ref_id(record, "company"),
            ends_on=ends_on,
            cancelled_on=calendar_date(record.get("dateCancelled")),
            amount_schedule=amount_schedule(
                record, additions, option if isinstance(option, str) else None
            ),
        )
    ]


def normalize_survey_result(record: Record) -> list[FactOrDeletion]:
    completed = _info(record, "dateEntered") or _info(record, "lastUpdated")
    points = _number(record.get("totalPoints"))
    maximum = _number(_extra(record).get("maxPoints"))
    if completed is None or points is None or not maximum:
        return []
    ticket = record.get("ticketId")
    return [
        SurveyResponseFact(
            external_id=str(record["id"]),
            completed_at=completed,
            score=min(1.0, max(0.0, points / maximum)),
            ticket_external_id=None if ticket is None else str(ticket),
            client_external_id=_ref_id(record, "company"),
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
