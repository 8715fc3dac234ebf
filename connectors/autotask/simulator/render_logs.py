"""The deletion logs of ticket and task activities, as Autotask keeps them.

`DeletedTicketActivityLogs` holds deleted ticket time entries, notes and attachments;
`DeletedTaskActivityLogs` deleted project-task time. A log row names no time entry: its `id`
is the log's own, numbered in deletion order from 1 like any Autotask table, so log ids
collide with live time-entry ids (a connector deleting by the log's id deletes live time).
What does identify the deleted entry is its ticket (or task), resource, start and hours,
copied from the entry as it was. Internal time leaves no log.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from connectors.autotask.simulator import schema
from connectors.sandbox.model import SandboxWorld, TimeEntry, TimeKind

Row = dict[str, Any]
TASK_ID_BASE = 900_000  # a project task per client
NOTES_EVERY = 50  # one ticket in 50 had a note deleted: logged beside the deleted time


def _numbered(rows: list[Row]) -> list[Row]:
    """Log ids in deletion order (ties by what was deleted), from 1."""
    rows.sort(key=lambda row: (row["deletedDateTime"], row["typeID"], row["_source"]))
    for number, row in enumerate(rows, 1):
        row["id"] = number
        del row["_source"]
    return rows


def _deleted_by(seed: int, world: SandboxWorld) -> int | None:
    if not world.technicians:
        return None
    return world.technicians[seed % len(world.technicians)].id


def _time_log(entry: TimeEntry, world: SandboxWorld) -> Row:
    return {
        "_source": entry.id,
        "typeID": schema.ACTIVITY_TIME_ENTRY,
        "noteOrAttachmentTitle": None,
        "createdByResourceID": entry.technician_id,
        "activityDateTime": entry.started_at,
        "startDateTime": entry.started_at,
        "endDateTime": entry.started_at + timedelta(hours=entry.hours),
        "hoursWorked": entry.hours,
        "deletedByResourceID": _deleted_by(entry.id, world),
        "deletedDateTime": entry.updated_at,
    }


def task_id_of(entry: TimeEntry) -> int | None:
    """The project task a project time entry is logged against (one per client)."""
    if entry.kind is not TimeKind.PROJECT:
        return None
    return TASK_ID_BASE + (entry.client_id or 0)


def deleted_ticket_activities(world: SandboxWorld) -> list[Row]:
    numbers = {ticket.id: ticket.number for ticket in world.tickets}
    rows: list[Row] = []
    for entry in world.time_entries:
        if entry.deleted and entry.kind is TimeKind.TICKET and entry.ticket_id is not None:
            row = _time_log(entry, world)
            row.update(ticketID=entry.ticket_id, ticketNumber=numbers.get(entry.ticket_id))
            rows.append(row)
    rows.extend(_deleted_notes(world))
    return _numbered(rows)


def _deleted_notes(world: SandboxWorld) -> Iterator[Row]:
    for ticket in world.tickets[::NOTES_EVERY]:
        noted_at: datetime = ticket.created_at + timedelta(hours=1)
        yield {
            "_source": ticket.id,
            "typeID": schema.ACTIVITY_NOTE,
            "ticketID": ticket.id,
            "ticketNumber": ticket.number,
            "noteOrAttachmentTitle": "Called the customer back",
            "createdByResourceID": ticket.assignee_id,
            "activityDateTime": noted_at,
            "startDateTime": None,
            "endDateTime": None,
            "hoursWorked": None,
            "deletedByResourceID": _deleted_by(ticket.id, world),
            "deletedDateTime": noted_at + timedelta(hours=1),
        }


def deleted_task_activities(world: SandboxWorld) -> list[Row]:
    rows: list[Row] = []
    for entry in world.time_entries:
        task_id = task_id_of(entry)
        if entry.deleted and task_id is not None:
            row = _time_log(entry, world)
            row.update(taskID=task_id, taskNumber=f"T{task_id}")
            rows.append(row)
    return _numbered(rows)
