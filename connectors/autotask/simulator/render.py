"""The sandbox world in Autotask's shapes: one list of records per entity, sorted by id.

Rendering choices (each one is how Autotask would hold the world's truth):
- Merged tickets are not rendered: Autotask has no merged-into link like ConnectWise, and a
  merged-away ticket must stop counting, so it appears in `DeletedTicketLogs` like a deleted
  one. Deleted time entries appear in the activity deletion logs (`render_logs`).
- Every client has a Time & Materials contract (type 1); time with a client carries it as
  `contractID`, project time carries a `taskID`, internal time neither.
- SLA results: one row per SLA ticket holding the truth; every 5th also has an older row
  (lower id) saying the opposite; every 13th has no row but due timestamps that give the
  truth by actual ≤ due.
- Agreements become Recurring Service contracts (type 7) ending on their end date, the day
  before cancellation, or 2099-12-31 when open-ended, with one ContractServiceUnits row per
  line and billing period up to `SERVICE_UNIT_HORIZON` past the world's now, then one row
  per line to the contract's end (same amounts, far fewer rows).
- Technicians without a capacity record get no ResourceDailyAvailabilities row; every 3rd
  one with a record also has an older, different row.
Datetimes stay Python objects here; the simulator formats them on the way out. Ids are the
world's; `shift_ids` moves an entity's ids (and the references to them) up to where a real
tenant's start.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from connectors.autotask.simulator import schema
from connectors.autotask.simulator.render_logs import (
    deleted_task_activities,
    deleted_ticket_activities,
    task_id_of,
)
from connectors.sandbox.model import (
    CYCLE_MONTHS,
    Agreement,
    BillingCycle,
    SandboxWorld,
    Ticket,
    TicketState,
    TimeKind,
)

Row = dict[str, Any]
OPEN_ENDED_END = date(2099, 12, 31)
SERVICE_UNIT_HORIZON = timedelta(days=400)
TM_CONTRACT_ID_BASE = 1_000_000  # a Time & Materials contract per client
_STATUS = {
    TicketState.NEW: schema.STATUS_NEW,
    TicketState.IN_PROGRESS: schema.STATUS_IN_PROGRESS,
    TicketState.WAITING: schema.STATUS_WAITING_CUSTOMER,
    TicketState.RESOLVED: schema.STATUS_RESOLVED,
    TicketState.CLOSED: schema.STATUS_COMPLETE,
}
_PERIOD = {
    BillingCycle.MONTHLY: schema.PERIOD_MONTHLY,
    BillingCycle.QUARTERLY: schema.PERIOD_QUARTERLY,
    BillingCycle.YEARLY: schema.PERIOD_YEARLY,
}
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(slots=True)
class RenderedTenant:
    tables: dict[str, list[tuple[Any, ...]]]  # rows in the schema's field order, by id
    world_picklists: dict[tuple[str, str], tuple[schema.PicklistEntry, ...]]


def _packed(entity: str, rows: Iterable[Row]) -> list[tuple[Any, ...]]:
    """Rows as tuples in the schema's field order (`id` first), sorted by id."""
    names = tuple(schema.entity_fields(entity))
    packed = [tuple(row.get(name) for name in names) for row in rows]
    packed.sort(key=lambda row: int(row[0] or 0))
    return packed


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def render_world(world: SandboxWorld) -> RenderedTenant:
    """All entities of the simulated tenant, each sorted by id."""
    queue_ids = {board: schema.QUEUE_BASE_ID + i for i, board in enumerate(world.boards)}
    sla_names = {sla.id: sla.name for sla in world.slas}
    live_tickets = {t.id: t for t in world.tickets if not t.deleted and t.merged_into is None}
    sources: dict[str, Iterable[Row]] = {
        "Companies": (_company(c) for c in world.clients if not c.deleted),
        "Resources": (_resource(t) for t in world.technicians),
        "ResourceDailyAvailabilities": _availabilities(world),
        "Tickets": (_ticket(t, queue_ids) for t in live_tickets.values()),
        "ServiceLevelAgreementResults": _sla_results(live_tickets.values(), sla_names),
        "TimeEntries": (_time_entry(e) for e in world.time_entries if not e.deleted),
        "Contracts": itertools.chain(
            (_contract(a) for a in world.agreements if not a.deleted),
            (_tm_contract(c.id) for c in world.clients if not c.deleted),
        ),
        "ContractServiceUnits": _service_units(world),
        "SurveyResults": (_survey(s) for s in world.survey_results),
        "DeletedTicketLogs": (
            {
                "id": t.id,
                "ticketID": t.id,
                "ticketNumber": t.number,
                "ticketTitle": t.title,
                "deletedDateTime": t.updated_at,
            }
            for t in world.tickets
            if t.deleted or t.merged_into is not None
        ),
        "DeletedTicketActivityLogs": deleted_ticket_activities(world),
        "DeletedTaskActivityLogs": deleted_task_activities(world),
    }
    tables = {entity: _packed(entity, rows) for entity, rows in sources.items()}
    priority_entries = tuple(
        schema.PicklistEntry(
            schema.PRIORITY_BY_LEVEL[p.level],
            schema.PRIORITY_LABELS.get(schema.PRIORITY_BY_LEVEL[p.level], f"P{p.level}"),
            p.sort_order,
        )
        for p in world.priorities
        if p.level in schema.PRIORITY_BY_LEVEL
    )
    retired = schema.PicklistEntry(*schema.RETIRED_PRIORITY, is_active=False)
    return RenderedTenant(
        tables=tables,
        world_picklists={
            ("Tickets", "queueID"): tuple(
                schema.PicklistEntry(value, board, order)
                for order, (board, value) in enumerate(queue_ids.items(), 1)
            ),
            ("Tickets", "priority"): (*priority_entries, retired),
        },
    )


def _company(client: Any) -> Row:
    return {
        "id": client.id,
        "companyName": client.name,
        "companyType": 5 if client.is_msp_itself else 1,
        "isActive": client.active,
        "createDate": client.updated_at - timedelta(days=30 + client.id % 400),
        "lastActivityDate": client.updated_at,
        "lastTrackedModifiedDateTime": client.updated_at,
    }


def _resource(tech: Any) -> Row:
    license_type = schema.LICENSE_FULL
    if tech.is_api_user:
        license_type = schema.LICENSE_API
    elif not tech.active:
        license_type = schema.LICENSE_COMANAGED_RETIRED  # an inactive picklist value
    return {
        "id": tech.id,
        "userName": tech.email.split("@")[0],
        "firstName": tech.first_name,
        "lastName": tech.last_name,
        "email": tech.email,
        "isActive": tech.active,
        "licenseType": license_type,
        "resourceType": "Employee",
    }


def _availability_row(row_id: int, resource_id: int, hours: tuple[float, ...]) -> Row:
    row: Row = {"id": row_id, "resourceID": resource_id, "weeklyBillableHoursGoal": None}
    for day, value in zip(_WEEKDAYS, hours, strict=True):
        row[f"{day}AvailableHours"] = value
    return row


def _availabilities(world: SandboxWorld) -> Iterator[Row]:
    for tech in world.technicians:
        if tech.capacity_hours is None:
            continue
        if tech.id % 3 == 0:  # a superseded row: only the highest id counts
            yield _availability_row(tech.id * 2 - 1, tech.id, (9.0,) * 5 + (1.0, 0.0))
        yield _availability_row(tech.id * 2, tech.id, tech.capacity_hours)


def _ticket(ticket: Ticket, queue_ids: dict[str, int]) -> Row:
    status = _STATUS[ticket.state]
    if ticket.state is TicketState.WAITING and ticket.id % 10 == 0:
        status = schema.STATUS_WAITING_VENDOR_RETIRED  # an inactive value on old tickets
    completed = ticket.closed_at if ticket.state is TicketState.CLOSED else None
    if completed is None and ticket.id % 17 == 0 and ticket.state is not TicketState.NEW:
        completed = ticket.created_at + timedelta(hours=1)  # left over from a reopen
    resolved = ticket.resolved_at
    if ticket.state is TicketState.CLOSED and resolved == ticket.closed_at and ticket.id % 3 == 0:
        resolved = None  # Autotask only stamped completion
    response_due, resolution_due = None, None
    if ticket.id % 13 == 0:
        response_due = _due(ticket.first_response_at, ticket.response_met)
        resolution_due = _due(ticket.resolved_at, ticket.resolution_met)
    return {
        "id": ticket.id,
        "ticketNumber": ticket.number,
        "title": ticket.title,
        "companyID": ticket.client_id,
        "queueID": queue_ids[ticket.board],
        "status": status,
        "priority": schema.PRIORITY_BY_LEVEL[ticket.priority_level],
        "source": schema.SOURCES[ticket.id % len(schema.SOURCES)][0],
        "assignedResourceID": ticket.assignee_id,
        "serviceLevelAgreementID": ticket.sla_id,
        "createDate": ticket.created_at,
        "firstResponseDateTime": ticket.first_response_at,
        "firstResponseDueDateTime": response_due,
        "resolvedDateTime": resolved if ticket.id % 13 else ticket.resolved_at,
        "resolvedDueDateTime": resolution_due,
        "completedDate": completed,
        "lastActivityDate": ticket.updated_at,
        "lastTrackedModificationDateTime": ticket.updated_at,
    }


def _due(actual: datetime | None, met: bool | None) -> datetime | None:
    if actual is None or met is None:
        return None
    return actual if met else actual - timedelta(minutes=1)


def _sla_results(tickets: Any, sla_names: dict[int, str]) -> Iterator[Row]:
    for ticket in tickets:
        if ticket.sla_id is None or ticket.id % 13 == 0:
            continue
        name = sla_names.get(ticket.sla_id, "SLA")
        if ticket.id % 5 == 0:
            yield {
                "id": ticket.id * 2 - 1,
                "ticketID": ticket.id,
                "serviceLevelAgreementName": name,
                "isFirstResponseMet": ticket.response_met is False,
                "isResolutionPlanMet": None,
                "isResolutionMet": not ticket.resolution_met,
            }
        yield {
            "id": ticket.id * 2,
            "ticketID": ticket.id,
            "serviceLevelAgreementName": name,
            "isFirstResponseMet": ticket.response_met,
            "isResolutionPlanMet": None,
            "isResolutionMet": ticket.resolution_met,
        }


def _time_entry(entry: Any) -> Row:
    has_client = entry.client_id is not None
    billable = entry.billable_hours > 0
    return {
        "id": entry.id,
        "resourceID": entry.technician_id,
        "ticketID": entry.ticket_id if entry.kind is TimeKind.TICKET else None,
        "taskID": task_id_of(entry),
        "contractID": TM_CONTRACT_ID_BASE + entry.client_id if has_client else None,
        "dateWorked": _midnight(entry.work_date),
        "startDateTime": entry.started_at,
        "endDateTime": entry.started_at + timedelta(hours=entry.hours),
        "hoursWorked": entry.hours,
        # Non-billable time keeps its hours to bill: the flag is what makes it non-billable.
        "hoursToBill": entry.billable_hours if billable else entry.hours,
        "isNonBillable": not billable,
        "createDateTime": entry.updated_at,
        "lastModifiedDateTime": entry.updated_at,
    }


def _contract_end(agreement: Agreement) -> date:
    ends = [OPEN_ENDED_END]
    if agreement.ends_on is not None:
        ends.append(agreement.ends_on)
    if agreement.cancelled_on is not None:
        ends.append(agreement.cancelled_on - timedelta(days=1))
    return min(ends)


def _contract(agreement: Agreement) -> Row:
    end = _contract_end(agreement)
    return {
        "id": agreement.id,
        "contractName": agreement.name,
        "companyID": agreement.client_id,
        "contractType": schema.CONTRACT_TYPE_RECURRING,
        "contractPeriodType": _PERIOD[agreement.cycle],
        "status": 1 if end >= agreement.updated_at.date() else 0,
        "startDate": _midnight(agreement.starts_on),
        "endDate": _midnight(end),
    }


def _tm_contract(client_id: int) -> Row:
    return {
        "id": TM_CONTRACT_ID_BASE + client_id,
        "contractName": "Time and Materials",
        "companyID": client_id,
        "contractType": schema.CONTRACT_TYPE_TIME_AND_MATERIALS,
        "contractPeriodType": None,
        "status": 1,
        "startDate": _midnight(date(2000, 1, 1)),
        "endDate": _midnight(OPEN_ENDED_END),
    }


def _service_unit(row_id: int, agreement: Agreement, line: Any, first: date, last: date) -> Row:
    return {
        "id": row_id,
        "contractID": agreement.id,
        "serviceID": line.id,
        "units": line.quantity,
        "price": float(line.price_per_cycle),
        "startDate": _midnight(first),
        "endDate": _midnight(last),
    }


def _service_units(world: SandboxWorld) -> Iterator[Row]:
    """A row per line and billing period up to the horizon; beyond it (open-ended or long
    contracts) one row per line to the contract's end, with the same price per period, so
    the monthly amounts are the same as period rows would give, at a fraction of the rows."""
    horizon = (world.generated_at + SERVICE_UNIT_HORIZON).date()
    next_id = 1
    for agreement in world.agreements:
        if agreement.deleted:
            continue
        contract_end = _contract_end(agreement)
        end = min(contract_end, horizon)
        months = CYCLE_MONTHS[agreement.cycle]
        period = 0
        while (period_start := _add_months(agreement.starts_on, period * months)) <= end:
            period_end = _add_months(agreement.starts_on, (period + 1) * months) - timedelta(1)
            for line in agreement.lines:
                first = max(period_start, line.starts_on)
                last = min(period_end, _line_end(line), end)
                if first <= last:
                    yield _service_unit(next_id, agreement, line, first, last)
                    next_id += 1
            period += 1
        if contract_end > horizon:
            for line in agreement.lines:
                first = max(horizon + timedelta(days=1), line.starts_on)
                last = min(_line_end(line), contract_end)
                if first <= last:
                    yield _service_unit(next_id, agreement, line, first, last)
                    next_id += 1


def _line_end(line: Any) -> date:
    """A line's last billed day (its `ends_on` is exclusive)."""
    return line.ends_on - timedelta(days=1) if line.ends_on else OPEN_ENDED_END


def _survey(result: Any) -> Row:
    return {
        "id": result.id,
        "surveyID": 1,
        "ticketID": result.ticket_id,
        "companyID": result.client_id,
        "sendDate": result.updated_at if result.completed_at is None else None,
        "completeDate": result.completed_at,
        "surveyRating": None if result.rating is None else float(result.rating),
    }


def shift_ids(tenant: RenderedTenant, offsets: Mapping[str, int]) -> None:
    """Move each entity's ids up by its offset, and every field referring to them
    (`schema.REFERENCES`): real tenants' ids start in the hundreds of thousands."""
    for entity, offset in offsets.items():
        if not offset:
            continue
        for name, rows in tenant.tables.items():
            fields = tuple(schema.entity_fields(name))
            columns = {
                i
                for i, field in enumerate(fields)
                if (field == "id" and name == entity) or schema.REFERENCES.get(field) == entity
            }
            if columns:
                tenant.tables[name] = [
                    tuple(
                        v + offset if i in columns and isinstance(v, int) else v
                        for i, v in enumerate(row)
                    )
                    for row in rows
                ]
