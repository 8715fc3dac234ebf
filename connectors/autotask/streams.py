"""The Autotask streams, declared as data.

Each stream is an SDK `StreamSpec` (what the runner needs) plus an `EntityQuery` (what the
reader sends): the entity, the fields normalisation needs, the change stamps an incremental
pass filters on, and fixed filters. Streams are listed dependencies first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

from connectors.autotask.query import Filter, condition
from connectors.sdk import FactType, StreamMode, StreamSpec, SyncInterval

RECURRING_SERVICE_CONTRACT_TYPE = 7  # Autotask's system value for "Recurring Service"
COMPLETE_TICKET_STATUS = 5  # the one ticket status that is the same in every tenant


@dataclass(frozen=True, slots=True)
class EntityQuery:
    """How one stream is queried. `change_stamps` are OR'ed (`gte` the pass's lower bound);
    empty means the entity has no change stamp and is re-read whole."""

    entity: str
    include_fields: tuple[str, ...]
    change_stamps: tuple[str, ...] = ()
    fixed_filters: tuple[Filter, ...] = field(default=())


COMPANIES = "companies"
RESOURCES = "resources"
TICKETS = "tickets"
TIME_ENTRIES = "time_entries"
CONTRACTS = "contracts"
SURVEY_RESULTS = "survey_results"
DELETED_TICKETS = "deleted_tickets"
DELETED_TIME_ENTRIES = "deleted_time_entries"
DELETED_TASK_TIME_ENTRIES = "deleted_task_time_entries"
TIME_ENTRY_IDS = "time_entry_ids"

_SPECS = (
    StreamSpec(
        name=COMPANIES,
        path="Companies",
        produces=(FactType.CLIENT,),
        cursor_field="lastTrackedModifiedDateTime",
        page_size=500,
        description="Clients; changed since the last pass (modified or created).",
    ),
    StreamSpec(
        name=RESOURCES,
        path="Resources",
        produces=(FactType.TECHNICIAN,),
        mode=StreamMode.FULL_REFRESH,
        page_size=500,
        interval=SyncInterval.SLOW,
        description="Technicians with ResourceDailyAvailabilities; no change stamp.",
    ),
    StreamSpec(
        name=TICKETS,
        path="Tickets",
        produces=(FactType.TICKET,),
        cursor_field="lastActivityDate",
        page_size=500,
        interval=SyncInterval.LIVE,
        description=(
            "Service tickets with picklist labels and SLA results (read by ticket-id range "
            "alongside a full pass)."
        ),
    ),
    StreamSpec(
        name=TIME_ENTRIES,
        path="TimeEntries",
        produces=(FactType.TIME_ENTRY,),
        cursor_field="lastModifiedDateTime",
        page_size=500,
        interval=SyncInterval.LIVE,
        description="Time entries; client from the ticket, else the contract.",
    ),
    StreamSpec(
        name=CONTRACTS,
        path="Contracts",
        produces=(FactType.RECURRING_REVENUE,),
        mode=StreamMode.FULL_REFRESH,
        page_size=500,
        interval=SyncInterval.SLOW,
        sweeps=FactType.RECURRING_REVENUE,
        description="Recurring Service contracts with ContractServiceUnits; no change stamp.",
    ),
    StreamSpec(
        name=SURVEY_RESULTS,
        path="SurveyResults",
        produces=(FactType.SURVEY_RESPONSE,),
        cursor_field="completeDate",
        page_size=500,
        description="Answered surveys; technician from the ticket's assignee.",
    ),
    StreamSpec(
        name=DELETED_TICKETS,
        path="DeletedTicketLogs",
        deletion_log=True,
        produces=(FactType.TICKET,),
        cursor_field="deletedDateTime",
        page_size=500,
        description="Tickets deleted (or merged away) in Autotask become deletions.",
    ),
    StreamSpec(
        name=DELETED_TIME_ENTRIES,
        path="DeletedTicketActivityLogs",
        deletion_log=True,
        produces=(FactType.TIME_ENTRY,),
        cursor_field="deletedDateTime",
        page_size=500,
        description=(
            "Deleted ticket time entries: each log matches the one stored entry with its "
            "ticket, resource, start and hours (the log names no entry)."
        ),
    ),
    StreamSpec(
        name=DELETED_TASK_TIME_ENTRIES,
        path="DeletedTaskActivityLogs",
        deletion_log=True,
        produces=(FactType.TIME_ENTRY,),
        cursor_field="deletedDateTime",
        page_size=500,
        description=("Deleted project-task time entries, matched like ticket time (no ticket)."),
    ),
    StreamSpec(
        name=TIME_ENTRY_IDS,
        path="TimeEntries",
        mode=StreamMode.ID_SWEEP,
        page_size=500,
        interval=SyncInterval.SLOW,
        sweeps=FactType.TIME_ENTRY,
        description=(
            "All time-entry ids: internal time leaves no deletion log, so a sweep finds it."
        ),
    ),
)

STREAMS: MappingProxyType[str, StreamSpec] = MappingProxyType({s.name: s for s in _SPECS})

SURVEY_FIELDS = ("ticketID", "companyID", "completeDate", "surveyRating")
# What a deletion log says about the deleted time entry (it does not say which one it was).
DELETED_TIME_MATCH_FIELDS = (
    "typeID",
    "createdByResourceID",
    "startDateTime",
    "hoursWorked",
    "deletedDateTime",
)

QUERIES: MappingProxyType[str, EntityQuery] = MappingProxyType(
    {
        COMPANIES: EntityQuery(
            "Companies",
            ("companyName", "isActive", "createDate", "lastTrackedModifiedDateTime"),
            # New companies may carry no tracked-modification stamp yet.
            change_stamps=("lastTrackedModifiedDateTime", "createDate"),
        ),
        RESOURCES: EntityQuery(
            "Resources",
            ("firstName", "lastName", "email", "isActive", "licenseType"),
        ),
        TICKETS: EntityQuery(
            "Tickets",
            (
                "ticketNumber",
                "title",
                "companyID",
                "queueID",
                "status",
                "priority",
                "source",
                "assignedResourceID",
                "createDate",
                "firstResponseDateTime",
                "firstResponseDueDateTime",
                "resolvedDateTime",
                "resolvedDueDateTime",
                "completedDate",
                "lastActivityDate",
                "lastTrackedModificationDateTime",
            ),
            # Activity and field changes move separate stamps.
            change_stamps=("lastActivityDate", "lastTrackedModificationDateTime"),
        ),
        TIME_ENTRIES: EntityQuery(
            "TimeEntries",
            (
                "resourceID",
                "ticketID",
                "taskID",
                "contractID",
                "dateWorked",
                "startDateTime",
                "hoursWorked",
                "hoursToBill",
                "isNonBillable",
                "lastModifiedDateTime",
            ),
            change_stamps=("lastModifiedDateTime",),
        ),
        CONTRACTS: EntityQuery(
            "Contracts",
            (
                "contractName",
                "companyID",
                "contractType",
                "contractPeriodType",
                "startDate",
                "endDate",
            ),
            fixed_filters=(condition("eq", "contractType", RECURRING_SERVICE_CONTRACT_TYPE),),
        ),
        SURVEY_RESULTS: EntityQuery(
            "SurveyResults",
            SURVEY_FIELDS,
            change_stamps=("completeDate",),
        ),
        DELETED_TICKETS: EntityQuery(
            "DeletedTicketLogs",
            ("ticketID", "deletedDateTime"),
            change_stamps=("deletedDateTime",),
        ),
        DELETED_TIME_ENTRIES: EntityQuery(
            "DeletedTicketActivityLogs",
            ("ticketID", *DELETED_TIME_MATCH_FIELDS),
            change_stamps=("deletedDateTime",),
        ),
        DELETED_TASK_TIME_ENTRIES: EntityQuery(
            "DeletedTaskActivityLogs",
            ("taskID", *DELETED_TIME_MATCH_FIELDS),
            change_stamps=("deletedDateTime",),
        ),
        TIME_ENTRY_IDS: EntityQuery("TimeEntries", ()),
    }
)

# Related rows fetched per page with batched `in` queries.
SLA_RESULT_FIELDS = ("ticketID", "isFirstResponseMet", "isResolutionMet")
AVAILABILITY_FIELDS = (
    "resourceID",
    "mondayAvailableHours",
    "tuesdayAvailableHours",
    "wednesdayAvailableHours",
    "thursdayAvailableHours",
    "fridayAvailableHours",
    "saturdayAvailableHours",
    "sundayAvailableHours",
)
SERVICE_UNIT_FIELDS = ("contractID", "startDate", "endDate", "price", "units")
TICKET_LOOKUP_FIELDS = ("companyID", "assignedResourceID")
CONTRACT_LOOKUP_FIELDS = ("companyID",)

# Picklists whose labels normalisation needs, per entity.
TICKET_PICKLISTS = ("status", "priority", "queueID", "source")
