"""The ConnectWise streams, declared as data.

Each stream is a `StreamSpec` (what the runner sees) plus a `CollectionRead` (what the reader
asks ConnectWise for: resource, the `fields` normalisation needs, and which reference data to
attach). Reference tables (priorities, SLAs, work types, billing cycles, company statuses,
survey questions) are not streams: see `reference.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from connectors.sdk import FactType, StreamMode, StreamSpec, SyncInterval


class Enrichment(StrEnum):
    """Which reference data the reader attaches to a stream's records."""

    NONE = "none"
    COMPANY = "company"  # whether the company's status is an inactive one
    TICKET = "ticket"  # priority level, SLA stage targets
    TIME_ENTRY = "time_entry"  # owner company, work type utilisation flag
    AGREEMENT = "agreement"  # additions, billing cycle option
    SURVEY_RESULT = "survey_result"  # the survey's maximum points


@dataclass(frozen=True, slots=True)
class CollectionRead:
    resource: str
    fields: tuple[str, ...]
    enrichment: Enrichment = Enrichment.NONE
    # A per-parent collection (survey results): read once per parent in `parent_resource`.
    parent_resource: str | None = None


TICKET_FIELDS = (
    "id", "summary", "recordType", "board/name", "status/name", "company/id", "owner/id",
    "priority/id", "priority/name", "sla/id", "closedFlag", "closedDate", "dateResolved",
    "dateResponded", "respondMinutes", "resolveMinutes", "mergedParentTicket/id",
    "_info/dateEntered", "_info/lastUpdated",
)  # fmt: skip
TIME_FIELDS = (
    "id", "member/id", "company/id", "chargeToId", "chargeToType", "workType/id",
    "workType/utilizationFlag", "timeStart", "actualHours", "billableOption", "hoursBilled",
    "_info/lastUpdated",
)  # fmt: skip
COMPANY_FIELDS = (
    "id", "identifier", "name", "status/id", "status/name", "deletedFlag", "_info/lastUpdated",
)  # fmt: skip
MEMBER_FIELDS = (
    "id", "identifier", "firstName", "lastName", "primaryEmail", "officeEmail", "inactiveFlag",
    "includeInUtilizationReportingFlag", "dailyCapacity", "_info/lastUpdated",
)  # fmt: skip
AGREEMENT_FIELDS = (
    "id", "name", "company/id", "startDate", "endDate", "noEndingDateFlag", "cancelledFlag",
    "dateCancelled", "billingCycle/id", "billingCycle/name", "billAmount", "_info/lastUpdated",
)  # fmt: skip
ADDITION_FIELDS = (
    "id", "quantity", "lessIncluded", "unitPrice", "billCustomer", "effectiveDate",
    "cancelledDate",
)  # fmt: skip
SURVEY_RESULT_FIELDS = (
    "id", "ticketId", "company/id", "surveyId", "totalPoints", "_info/dateEntered",
    "_info/lastUpdated",
)  # fmt: skip

STREAMS: dict[str, StreamSpec] = {
    spec.name: spec
    for spec in (
        StreamSpec(
            name="companies",
            path="/company/companies",
            produces=(FactType.CLIENT,),
            cursor_field="_info/lastUpdated",
            interval=SyncInterval.SLOW,
            description="Clients; a company with deletedFlag is removed.",
        ),
        StreamSpec(
            name="members",
            path="/system/members",
            produces=(FactType.TECHNICIAN,),
            cursor_field="_info/lastUpdated",
            interval=SyncInterval.SLOW,
            description="Technicians with daily capacity and utilisation flag.",
        ),
        StreamSpec(
            name="tickets",
            path="/service/tickets",
            produces=(FactType.TICKET,),
            cursor_field="_info/lastUpdated",
            interval=SyncInterval.LIVE,
            description="Service tickets with SLA stage results; merged children are removed.",
        ),
        StreamSpec(
            name="time_entries",
            path="/time/entries",
            produces=(FactType.TIME_ENTRY,),
            cursor_field="_info/lastUpdated",
            interval=SyncInterval.LIVE,
            description="Time entries with billable hours and utilisation flag.",
        ),
        StreamSpec(
            name="agreements",
            path="/finance/agreements",
            produces=(FactType.RECURRING_REVENUE,),
            cursor_field="_info/lastUpdated",
            interval=SyncInterval.SLOW,
            description="Agreements with their additions, as monthly amount schedules.",
        ),
        StreamSpec(
            name="survey_results",
            path="/service/surveys/{surveyId}/results",
            produces=(FactType.SURVEY_RESPONSE,),
            cursor_field="_info/lastUpdated",
            description="Ticket survey results, scored against each survey's maximum points.",
        ),
        StreamSpec(
            name="tickets_sweep",
            path="/service/tickets",
            mode=StreamMode.ID_SWEEP,
            sweeps=FactType.TICKET,
            interval=SyncInterval.SLOW,
            description="Ids of all tickets; tickets no longer listed are removed.",
        ),
        StreamSpec(
            name="time_entries_sweep",
            path="/time/entries",
            mode=StreamMode.ID_SWEEP,
            sweeps=FactType.TIME_ENTRY,
            interval=SyncInterval.SLOW,
            description="Ids of all time entries; entries no longer listed are removed.",
        ),
        StreamSpec(
            name="agreements_sweep",
            path="/finance/agreements",
            mode=StreamMode.ID_SWEEP,
            sweeps=FactType.RECURRING_REVENUE,
            interval=SyncInterval.SLOW,
            description="Ids of all agreements; agreements no longer listed are removed.",
        ),
    )
}

READS: dict[str, CollectionRead] = {
    "companies": CollectionRead("/company/companies", COMPANY_FIELDS, Enrichment.COMPANY),
    "members": CollectionRead("/system/members", MEMBER_FIELDS),
    "tickets": CollectionRead("/service/tickets", TICKET_FIELDS, Enrichment.TICKET),
    "time_entries": CollectionRead("/time/entries", TIME_FIELDS, Enrichment.TIME_ENTRY),
    "agreements": CollectionRead("/finance/agreements", AGREEMENT_FIELDS, Enrichment.AGREEMENT),
    "survey_results": CollectionRead(
        "/results",
        SURVEY_RESULT_FIELDS,
        Enrichment.SURVEY_RESULT,
        parent_resource="/service/surveys",
    ),
    "tickets_sweep": CollectionRead("/service/tickets", ("id",)),
    "time_entries_sweep": CollectionRead("/time/entries", ("id",)),
    "agreements_sweep": CollectionRead("/finance/agreements", ("id",)),
}
