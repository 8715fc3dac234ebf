"""Which fields an Autotask webhook watches: Northstar's choice, and Autotask's ids for it.

A webhook fires on an update only when one of its subscribed fields changed (at least one
is required before it fires at all), and a `<Entity>WebhookFields` row names a field by
Autotask's internal numeric `FieldID`, which Autotask does not document per field.

How Northstar learns those ids (unconfirmed, so tolerant): `FieldID` is a picklist of the
`<Entity>WebhookFields` entity (third-party clients generated from the field info list it
as one), so `GET <Entity>WebhookFields/entityInformation/fields` names every field a webhook
can watch, its `value` the id and its `label` the field. The labels are REST field names for
Companies (Autotask's help says so for Account/Contact webhook fields) and may be the
interface's labels elsewhere ("Primary Resource"), so a label is matched, ignoring case,
spaces and punctuation, against the REST name and the labels listed here. Ids the settings
list (`AutotaskConfig.webhook_field_ids`, per webhook entity) are subscribed as well: for a
tenant whose field info names no field Northstar knows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from connectors.autotask.fields import int_or_none

TICKET_WEBHOOKS = "TicketWebhooks"
COMPANY_WEBHOOKS = "CompanyWebhooks"

# Per webhook entity: the fields Northstar's normalisation reads (a change to any of them
# changes a fact), each with the labels Autotask may give it besides its REST name.
WATCHED_FIELDS: Mapping[str, Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        TICKET_WEBHOOKS: {
            "status": ("Ticket Status",),
            "priority": ("Ticket Priority",),
            "assignedResourceID": ("Assigned Resource", "Primary Resource", "Resource"),
            "companyID": ("Company", "Account", "Account Name", "Company Name"),
            "queueID": ("Queue",),
            "source": ("Ticket Source",),
            "title": ("Ticket Title",),
            "createDate": ("Create Date", "Created", "Created Date"),
            "completedDate": ("Complete Date", "Completed Date", "Date Completed"),
            "firstResponseDateTime": ("First Response Date", "First Response"),
            "firstResponseDueDateTime": ("First Response Due Date",),
            "resolvedDateTime": ("Resolved Date", "Resolved"),
            "resolvedDueDateTime": ("Resolved Due Date", "Resolution Due Date"),
        },
        COMPANY_WEBHOOKS: {
            "companyName": ("Company Name", "Account Name", "Name"),
            "isActive": ("Active", "Is Active"),
            "createDate": ("Create Date", "Created"),
        },
    }
)


def fields_entity(webhook_entity: str) -> str:
    """`TicketWebhooks` -> `TicketWebhookFields` (the child entity's own name)."""
    return webhook_entity.removesuffix("s") + "Fields"


def _folded(text: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


def _picklist_of(field_info: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    for field in field_info:
        if str(field.get("name", "")).lower() == "fieldid":
            values = field.get("picklistValues")
            return [v for v in values if isinstance(v, Mapping)] if isinstance(values, list) else []
    return []


def resolve_field_ids(
    webhook_entity: str,
    field_info: Sequence[Mapping[str, Any]],
    configured: Iterable[int] = (),
) -> list[int]:
    """The `FieldID`s to subscribe for `webhook_entity`: those of the watched fields the
    field info's `FieldID` picklist names, plus `configured`, distinct and ascending."""
    wanted: set[str] = set()
    for name, labels in WATCHED_FIELDS.get(webhook_entity, {}).items():
        wanted.update(_folded(label) for label in (name, *labels))
    ids = set(configured)
    for entry in _picklist_of(field_info):
        value = int_or_none(entry.get("value"))
        if value is not None and _folded(entry.get("label", "")) in wanted:
            ids.add(value)
    return sorted(ids)
