"""The PSA facts as read (tickets, time entries, clients, technicians), the sources, and the
linked entities of the directory, each with Northstar's own ids for what it refers to so
that a BI model can relate the sets on one column (ClientId, TechnicianId, ...)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import FromClause, Integer, case, cast, func, null, select

from app.bi.odata.model import EntitySet, Nav, Prop
from app.directory.models import EntityLink, LinkedEntity
from app.facts.models import ClientRow, TechnicianRow, TicketRow, TimeEntryRow
from app.ingest.models import SyncCursor
from app.kpis.scope import LEVELS
from app.sources.models import Source

SOURCES = Source.__table__
LINKS = EntityLink.__table__
_LEVEL_NAMES = {int(value): name for name, value in LEVELS.items()}
_SOURCE = Nav("Source", "Sources", "SourceId")


def _fact(
    name: str,
    type_name: str,
    table: FromClause,
    columns: Any,
    extra: list[tuple[str, str, Any]],
    navs: tuple[Nav, ...],
    joined: FromClause | None = None,
) -> EntitySet:
    """`extra`: (OData name, EDM type, column or SQL expression)."""
    props = [
        Prop("Id", "Edm.Int64", columns.id, nullable=False),
        Prop("SourceId", "Edm.Int64", columns.source_id, nullable=False),
        Prop("ExternalId", "Edm.String", columns.external_id, nullable=False),
        # Columns of the set's own table say whether they may be null; anything joined may.
        *(
            Prop(odata, edm, expr, getattr(expr, "table", None) is not table or expr.nullable)
            for odata, edm, expr in extra
        ),
        Prop("SyncedAt", "Edm.DateTimeOffset", columns.synced_at, nullable=False),
    ]
    return EntitySet(
        name,
        type_name,
        table if joined is None else joined,
        ("Id",),
        tuple(props),
        f"{name} as read from the PSA.",
        navs=(_SOURCE, *navs),
    )


def _lookup(row_class: Any, alias: str, source: Any, external_id: Any) -> tuple[Any, Any]:
    """A fact table aliased, and the join condition of (source, PSA id) onto it."""
    table = row_class.__table__.alias(alias)
    return table, (table.c.source_id == source) & (table.c.external_id == external_id)


def _tickets() -> EntitySet:
    t = TicketRow.__table__
    c = t.c
    client, on_client = _lookup(ClientRow, "ticket_client", c.source_id, c.client_external_id)
    tech, on_tech = _lookup(TechnicianRow, "ticket_assignee", c.source_id, c.assignee_external_id)
    extra = [
        ("Number", "Edm.String", c.number),
        ("Title", "Edm.String", c.title),
        ("ClientId", "Edm.Int64", client.c.id),
        ("ClientExternalId", "Edm.String", c.client_external_id),
        ("Board", "Edm.String", c.board),
        ("Status", "Edm.String", c.status),
        ("IsClosed", "Edm.Boolean", c.is_closed),
        # As the REST API's `priority`: P1-P4, from the PSA's priority mapped to its level.
        ("Priority", "Edm.String", case(_LEVEL_NAMES, value=c.priority_level, else_=null())),
        ("PriorityLevel", "Edm.Int64", c.priority_level),
        ("PriorityLabel", "Edm.String", c.priority),
        ("AssigneeId", "Edm.Int64", tech.c.id),
        ("AssigneeExternalId", "Edm.String", c.assignee_external_id),
        ("CreatedAt", "Edm.DateTimeOffset", c.created_at),
        ("FirstResponseAt", "Edm.DateTimeOffset", c.first_response_at),
        ("ResolvedAt", "Edm.DateTimeOffset", c.resolved_at),
        ("ClosedAt", "Edm.DateTimeOffset", c.closed_at),
        ("ResponseMet", "Edm.Boolean", c.response_met),
        ("ResolutionMet", "Edm.Boolean", c.resolution_met),
        ("UpdatedAt", "Edm.DateTimeOffset", c.updated_at),
    ]
    navs = (Nav("Client", "Clients", "ClientId"), Nav("Assignee", "Technicians", "AssigneeId"))
    joined = t.outerjoin(client, on_client).outerjoin(tech, on_tech)
    return _fact("Tickets", "Ticket", t, c, extra, navs, joined)


def _time_entries() -> EntitySet:
    t = TimeEntryRow.__table__
    c = t.c
    tech, on_tech = _lookup(TechnicianRow, "entry_tech", c.source_id, c.technician_external_id)
    client, on_client = _lookup(ClientRow, "entry_client", c.source_id, c.client_external_id)
    ticket, on_ticket = _lookup(TicketRow, "entry_ticket", c.source_id, c.ticket_external_id)
    extra = [
        ("TechnicianId", "Edm.Int64", tech.c.id),
        ("TechnicianExternalId", "Edm.String", c.technician_external_id),
        ("ClientId", "Edm.Int64", client.c.id),
        ("ClientExternalId", "Edm.String", c.client_external_id),
        ("TicketId", "Edm.Int64", ticket.c.id),
        ("TicketExternalId", "Edm.String", c.ticket_external_id),
        ("WorkDate", "Edm.Date", c.work_date),
        ("Hours", "Edm.Double", c.hours),
        ("BillableHours", "Edm.Double", c.billable_hours),
        ("CountsTowardUtilization", "Edm.Boolean", c.counts_toward_utilization),
    ]
    navs = (
        Nav("Technician", "Technicians", "TechnicianId"),
        Nav("Client", "Clients", "ClientId"),
        Nav("Ticket", "Tickets", "TicketId"),
    )
    joined = t.outerjoin(tech, on_tech).outerjoin(client, on_client).outerjoin(ticket, on_ticket)
    return _fact("TimeEntries", "TimeEntry", t, c, extra, navs, joined)


def _member(
    row_class: Any, name: str, type_name: str, extra: list[tuple[str, str, Any]]
) -> EntitySet:
    """Clients or technicians, with the linked entity each belongs to (if any)."""
    t = row_class.__table__
    c = t.c
    member = LINKS.c.client_id if row_class is ClientRow else LINKS.c.technician_id
    linked = ("LinkedEntityId", "Edm.Int64", LINKS.c.linked_entity_id)
    navs = (
        Nav("LinkedEntity", "LinkedEntities", "LinkedEntityId"),
        Nav(
            "Tickets" if row_class is ClientRow else "AssignedTickets",
            "Tickets",
            "Id",
            "ClientId" if row_class is ClientRow else "AssigneeId",
            collection=True,
        ),
    )
    joined = t.outerjoin(LINKS, member == c.id)
    return _fact(name, type_name, t, c, [*extra, linked], navs, joined)


def _clients() -> EntitySet:
    c = ClientRow.__table__.c
    extra = [("Name", "Edm.String", c.name), ("Active", "Edm.Boolean", c.active)]
    return _member(ClientRow, "Clients", "Client", extra)


def _technicians() -> EntitySet:
    c = TechnicianRow.__table__.c
    extra = [
        ("Name", "Edm.String", c.name),
        ("Email", "Edm.String", c.email),
        ("Active", "Edm.Boolean", c.active),
        ("IncludedInUtilization", "Edm.Boolean", c.included_in_utilization),
        *(
            (f"Capacity{d.capitalize()}", "Edm.Double", c[f"capacity_{d}"])
            for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        ),
    ]
    return _member(TechnicianRow, "Technicians", "Technician", extra)


def _sources(name: str, type_name: str, description: str, navs: tuple[Nav, ...]) -> EntitySet:
    """Each source's data coverage, as `GET /api/v1/sources` gives it: the first day held
    in full, and the oldest last successful sync of its streams (null while one never
    succeeded)."""
    cursors = SyncCursor.__table__
    synced = (
        select(
            cursors.c.source_id,
            case(
                (func.count(cursors.c.last_success_at) < func.count(), null()),
                else_=func.min(cursors.c.last_success_at),
            ).label("synced_until"),
        )
        .group_by(cursors.c.source_id)
        .subquery(f"synced_{type_name.lower()}")
    )
    props = (
        Prop("Id", "Edm.Int64", SOURCES.c.id, nullable=False),  # the rows' SourceId
        Prop("Name", "Edm.String", SOURCES.c.name, nullable=False),
        Prop("Kind", "Edm.String", SOURCES.c.kind, nullable=False),
        Prop("HistoryFrom", "Edm.Date", SOURCES.c.history_from),
        Prop("SyncedUntil", "Edm.DateTimeOffset", synced.c.synced_until),
    )
    return EntitySet(
        name,
        type_name,
        SOURCES.outerjoin(synced, synced.c.source_id == SOURCES.c.id),
        ("Id",),
        props,
        description,
        navs=navs,
    )


def _linked_entities() -> EntitySet:
    t = LinkedEntity.__table__
    c = t.c
    members = (
        select(LINKS.c.linked_entity_id, func.count().label("members"))
        .group_by(LINKS.c.linked_entity_id)
        .subquery("link_members")
    )
    props = (
        Prop("Id", "Edm.Int64", c.id, nullable=False),
        Prop("Kind", "Edm.String", c.kind, nullable=False),
        Prop("Name", "Edm.String", c.name, nullable=False),
        Prop("Members", "Edm.Int64", cast(func.coalesce(members.c.members, 0), Integer), False),
        Prop("CreatedAt", "Edm.DateTimeOffset", c.created_at, nullable=False),
        Prop("UpdatedAt", "Edm.DateTimeOffset", c.updated_at, nullable=False),
    )
    return EntitySet(
        "LinkedEntities",
        "LinkedEntity",
        t.outerjoin(members, members.c.linked_entity_id == c.id),
        ("Id",),
        props,
        "A client or technician seen in several PSAs, linked into one (Kind 'client' or "
        "'technician'): its members are the Clients or Technicians whose LinkedEntityId is "
        "its Id. KPI values with Scope 'linked_client' or 'linked_technician' pool them.",
        navs=(
            Nav("Clients", "Clients", "Id", "LinkedEntityId", collection=True),
            Nav("Technicians", "Technicians", "Id", "LinkedEntityId", collection=True),
        ),
    )


def fact_sets() -> list[EntitySet]:
    sources_navs = (
        Nav("Clients", "Clients", "Id", "SourceId", collection=True),
        Nav("Technicians", "Technicians", "Id", "SourceId", collection=True),
    )
    return [
        _tickets(),
        _time_entries(),
        _clients(),
        _technicians(),
        _linked_entities(),
        _sources(
            "Sources",
            "Source",
            "The PSAs Northstar reads (the rows' SourceId): name, kind, the first day held "
            "in full (HistoryFrom) and how far they are synced (SyncedUntil).",
            sources_navs,
        ),
        _sources(
            "SourceCoverage",
            "SourceCoverage",
            "Which days of each PSA's data Northstar holds: periods before HistoryFrom are "
            "not measured, and a period that ends after SyncedUntil is only partly synced. "
            "(The same rows as Sources, kept for reports made before it.)",
            (),
        ),
    ]
