"""The simulated Autotask tenant's entities, fields and picklists, declared as data.

Field types follow the swagger's `dataType`s; `date` marks date-only fields, which the API
sends as midnight datetimes. Picklist ids deliberately do not sort by severity, and some
values are inactive while old records still carry them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Picklist ids of the simulated tenant.
STATUS_NEW, STATUS_COMPLETE, STATUS_WAITING_CUSTOMER, STATUS_IN_PROGRESS = 1, 5, 7, 8
STATUS_WAITING_VENDOR_RETIRED, STATUS_RESOLVED = 12, 13
# World priority level -> Autotask priority id (ids do not sort by urgency).
PRIORITY_BY_LEVEL = {1: 4, 2: 1, 3: 2, 4: 3, 5: 5}
PRIORITY_LABELS = {4: "Critical", 1: "High", 2: "Medium", 3: "Low", 5: "Planned"}
RETIRED_PRIORITY = (6, "Emergency (retired)", 1)
QUEUE_BASE_ID = 29682833
SOURCES = ((2, "Phone"), (4, "E-mail"), (11, "Client Portal"), (13, "Monitoring Alert"))
LICENSE_FULL, LICENSE_COMANAGED_RETIRED, LICENSE_API = 1, 3, 7
CONTRACT_TYPE_TIME_AND_MATERIALS, CONTRACT_TYPE_RECURRING = 1, 7
PERIOD_MONTHLY, PERIOD_QUARTERLY, PERIOD_SEMI_ANNUAL, PERIOD_YEARLY = 1, 2, 3, 4
ACTIVITY_TIME_ENTRY, ACTIVITY_NOTE, ACTIVITY_ATTACHMENT = 1, 2, 3


@dataclass(frozen=True, slots=True)
class PicklistEntry:
    value: int
    label: str
    sort_order: int
    is_active: bool = True
    is_system: bool = False


# What the deletion logs of ticket and task activities share (the swagger's models).
_ACTIVITY_LOG_FIELDS = {
    "noteOrAttachmentTitle": "string",
    "createdByResourceID": "integer",
    "activityDateTime": "datetime",
    "startDateTime": "datetime",
    "endDateTime": "datetime",
    "hoursWorked": "double",
    "deletedByResourceID": "integer",
    "deletedDateTime": "datetime",
}

_ENTITY_FIELDS: dict[str, dict[str, str]] = {
    "Companies": {
        "id": "long",
        "companyName": "string",
        "companyType": "integer",
        "isActive": "boolean",
        "createDate": "datetime",
        "lastActivityDate": "datetime",
        "lastTrackedModifiedDateTime": "datetime",
    },
    "Resources": {
        "id": "long",
        "userName": "string",
        "firstName": "string",
        "lastName": "string",
        "email": "string",
        "isActive": "boolean",
        "licenseType": "integer",
        "resourceType": "string",
    },
    "ResourceDailyAvailabilities": {
        "id": "long",
        "resourceID": "integer",
        **{
            f"{day}AvailableHours": "double"
            for day in (
                "sunday",
                "monday",
                "tuesday",
                "wednesday",
                "thursday",
                "friday",
                "saturday",
            )
        },
        "weeklyBillableHoursGoal": "double",
    },
    "Tickets": {
        "id": "long",
        "ticketNumber": "string",
        "title": "string",
        "companyID": "integer",
        "queueID": "integer",
        "status": "integer",
        "priority": "integer",
        "source": "integer",
        "assignedResourceID": "integer",
        "serviceLevelAgreementID": "integer",
        "createDate": "datetime",
        "firstResponseDateTime": "datetime",
        "firstResponseDueDateTime": "datetime",
        "resolvedDateTime": "datetime",
        "resolvedDueDateTime": "datetime",
        "completedDate": "datetime",
        "lastActivityDate": "datetime",
        "lastTrackedModificationDateTime": "datetime",
    },
    "ServiceLevelAgreementResults": {
        "id": "long",
        "ticketID": "integer",
        "serviceLevelAgreementName": "string",
        "isFirstResponseMet": "boolean",
        "isResolutionPlanMet": "boolean",
        "isResolutionMet": "boolean",
    },
    "TimeEntries": {
        "id": "long",
        "resourceID": "integer",
        "ticketID": "integer",
        "taskID": "integer",
        "contractID": "integer",
        "dateWorked": "date",
        "startDateTime": "datetime",
        "endDateTime": "datetime",
        "hoursWorked": "double",
        "hoursToBill": "double",
        "isNonBillable": "boolean",
        "createDateTime": "datetime",
        "lastModifiedDateTime": "datetime",
    },
    "Contracts": {
        "id": "long",
        "contractName": "string",
        "companyID": "integer",
        "contractType": "integer",
        "contractPeriodType": "integer",
        "status": "integer",
        "startDate": "date",
        "endDate": "date",
    },
    "ContractServiceUnits": {
        "id": "long",
        "contractID": "integer",
        "serviceID": "integer",
        "units": "integer",
        "price": "double",
        "startDate": "date",
        "endDate": "date",
    },
    "SurveyResults": {
        "id": "long",
        "surveyID": "integer",
        "ticketID": "integer",
        "companyID": "integer",
        "sendDate": "datetime",
        "completeDate": "datetime",
        "surveyRating": "double",
    },
    "DeletedTicketLogs": {
        "id": "long",
        "ticketID": "integer",
        "ticketNumber": "string",
        "ticketTitle": "string",
        "deletedDateTime": "datetime",
    },
    "DeletedTicketActivityLogs": {
        "id": "long",
        "typeID": "integer",
        "ticketID": "integer",
        "ticketNumber": "string",
        **_ACTIVITY_LOG_FIELDS,
    },
    "DeletedTaskActivityLogs": {
        "id": "long",
        "typeID": "integer",
        "taskID": "integer",
        "taskNumber": "string",
        **_ACTIVITY_LOG_FIELDS,
    },
}

# Fields holding another entity's id: `render.shift_ids` moves them with that entity's ids.
REFERENCES: Mapping[str, str] = {
    "ticketID": "Tickets",
    "companyID": "Companies",
    "resourceID": "Resources",
    "assignedResourceID": "Resources",
    "createdByResourceID": "Resources",
    "deletedByResourceID": "Resources",
    "contractID": "Contracts",
}

_ACTIVITY_TYPES = (
    PicklistEntry(ACTIVITY_TIME_ENTRY, "Time Entry", 1, is_system=True),
    PicklistEntry(ACTIVITY_NOTE, "Note", 2, is_system=True),
    PicklistEntry(ACTIVITY_ATTACHMENT, "Attachment", 3, is_system=True),
)

PICKLISTS: Mapping[tuple[str, str], tuple[PicklistEntry, ...]] = {
    ("Tickets", "status"): (
        PicklistEntry(STATUS_NEW, "New", 1, is_system=True),
        PicklistEntry(STATUS_IN_PROGRESS, "In Progress", 2),
        PicklistEntry(STATUS_WAITING_CUSTOMER, "Waiting Customer", 3, is_system=True),
        PicklistEntry(STATUS_WAITING_VENDOR_RETIRED, "Waiting Vendor", 4, is_active=False),
        PicklistEntry(STATUS_RESOLVED, "Resolved", 8),
        PicklistEntry(STATUS_COMPLETE, "Complete", 9, is_system=True),
    ),
    ("Tickets", "source"): tuple(
        PicklistEntry(value, label, order) for order, (value, label) in enumerate(SOURCES, 1)
    ),
    ("Resources", "licenseType"): (
        PicklistEntry(LICENSE_FULL, "Full", 1),
        PicklistEntry(LICENSE_COMANAGED_RETIRED, "Co-managed Help Desk", 2, is_active=False),
        PicklistEntry(LICENSE_API, "API User (system) (API-only)", 3, is_system=True),
    ),
    ("Contracts", "contractType"): (
        PicklistEntry(CONTRACT_TYPE_TIME_AND_MATERIALS, "Time and Materials", 1, is_system=True),
        PicklistEntry(CONTRACT_TYPE_RECURRING, "Recurring Service", 6, is_system=True),
    ),
    ("Contracts", "contractPeriodType"): (
        PicklistEntry(PERIOD_MONTHLY, "Monthly", 1),
        PicklistEntry(PERIOD_QUARTERLY, "Quarterly", 2),
        PicklistEntry(PERIOD_SEMI_ANNUAL, "Semi-Annual", 3),
        PicklistEntry(PERIOD_YEARLY, "Yearly", 4),
    ),
    ("Contracts", "status"): (
        PicklistEntry(0, "Inactive", 2, is_system=True),
        PicklistEntry(1, "Active", 1, is_system=True),
    ),
    ("DeletedTicketActivityLogs", "typeID"): _ACTIVITY_TYPES,
    ("DeletedTaskActivityLogs", "typeID"): _ACTIVITY_TYPES,
}


def entity_fields(entity: str) -> dict[str, str]:
    """Field name -> type of an entity (KeyError for an unknown entity)."""
    return _ENTITY_FIELDS[entity]


def entity_names() -> tuple[str, ...]:
    return tuple(_ENTITY_FIELDS)


def describe_fields(
    entity: str, world_picklists: Mapping[tuple[str, str], tuple[PicklistEntry, ...]]
) -> list[dict[str, object]]:
    """The `entityInformation/fields` answer: picklist values as strings (the API's way).
    `world_picklists` adds the picklists that come from the world (queues, priorities)."""
    result: list[dict[str, object]] = []
    for name, kind in _ENTITY_FIELDS[entity].items():
        entries = world_picklists.get((entity, name)) or PICKLISTS.get((entity, name))
        result.append(
            {
                "name": name,
                "dataType": "datetime" if kind == "date" else kind,
                "length": 0,
                "isRequired": name == "id",
                "isReadOnly": False,
                "isQueryable": True,
                "isReference": name.endswith("ID") and name != "id",
                "referenceEntityType": "",
                "isPickList": entries is not None,
                "picklistValues": (
                    [
                        {
                            "value": str(entry.value),
                            "label": entry.label,
                            "isDefaultValue": False,
                            "sortOrder": entry.sort_order,
                            "parentValue": "",
                            "isActive": entry.is_active,
                            "isSystem": entry.is_system,
                        }
                        for entry in entries
                    ]
                    if entries is not None
                    else None
                ),
                "picklistParentValueField": "",
                "isSupportedWebhookField": False,
            }
        )
    return result
