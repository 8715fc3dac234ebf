"""The sandbox world in ConnectWise shapes (reference §6, §8), for the simulator.

Conventions kept: null-valued properties are omitted, timestamps are `Z` without fractions,
references carry `_info` `*_href` links, every entity has `_info.lastUpdated`. Records are
rendered on demand (see `simulator_collections`); the fixed setup lives in
`simulator_catalog`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from connectors.connectwise.simulator_catalog import (
    BILLING_CYCLES,
    CLIENT_TYPE,
    COMPANY_STATUSES,
    CYCLE_ID,
    NO_CHARGE_ADDITION_OFFSET,
    OWNER_TYPE,
    PRIORITY_ID_BASE,
    PRIORITY_NAMES,
    STATUS_NAMES,
    STATUS_ORDER,
    SURVEY_ID,
    WORK_TYPE_OF,
)
from connectors.connectwise.simulator_collections import Json, LazyCollection
from connectors.sandbox.index import WorldIndex
from connectors.sandbox.model import (
    Agreement,
    Client,
    SandboxWorld,
    SurveyResult,
    Technician,
    Ticket,
    TicketState,
    TimeEntry,
    TimeKind,
)

HREF_ROOT = "https://api-na.myconnectwise.net/v4_6_release/apis/3.0"


def stamp(moment: datetime) -> str:
    """`2025-03-04T16:20:11Z` (UTC, no fractions)."""
    return moment.isoformat()[:19] + "Z"


def day_stamp(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _href(kind: str, path: str) -> Json:
    return {f"{kind}_href": f"{HREF_ROOT}{path}"}


def _compact(record: Json) -> Json:
    """Drop null-valued properties, as ConnectWise does."""
    return {key: value for key, value in record.items() if value is not None}


def member_identifier(technician: Technician) -> str:
    return (technician.first_name[:1] + technician.last_name).lower().replace(" ", "")


def company_identifier(client: Client) -> str:
    return "".join(ch for ch in client.name.title() if ch.isalnum())[:30]


class WorldRenderer:
    """Renders one world; collections are created once and follow the world's changes."""

    def __init__(self, world: SandboxWorld) -> None:
        self.world = world
        self.index = WorldIndex(world)
        self.boards = [
            {"id": number, "name": name, "inactiveFlag": False, "projectFlag": False}
            for number, name in enumerate(world.boards, start=1)
        ]
        self.board_ids: dict[str, int] = {
            name: number for number, name in enumerate(world.boards, start=1)
        }
        self._refs: dict[tuple[str, int], Json] = {}
        self._refs_version: Any = None

        def version() -> Any:
            return world.generated_at

        def never(_: Any) -> bool:
            return False

        def deleted(item: Any) -> bool:
            return bool(item.deleted)

        def unanswered(result: SurveyResult) -> bool:
            return result.rating is None or result.completed_at is None

        self.tickets = LazyCollection(world.tickets, self.ticket, deleted, version)
        self.time_entries = LazyCollection(world.time_entries, self.time_entry, deleted, version)
        self.companies = LazyCollection(world.clients, self.company, never, version)
        self.members = LazyCollection(world.technicians, self.member, never, version)
        self.agreements = LazyCollection(world.agreements, self.agreement, deleted, version)
        self.survey_results = LazyCollection(
            world.survey_results, self.survey_result, unanswered, version
        )

    def invalidate(self) -> None:
        """Forget derived state after editing the world by hand (mutate_world needs no call)."""
        for collection in (
            self.tickets,
            self.time_entries,
            self.companies,
            self.members,
            self.agreements,
            self.survey_results,
        ):
            collection.invalidate()
        self._refs_version = None

    # -- references ------------------------------------------------------------------

    def _cached_ref(self, kind: str, ref_id: int, build: Callable[[], Json]) -> Json:
        """References are shared between rendered records (never mutated), rebuilt per
        world version so renamed clients show their new names."""
        if self._refs_version != self.world.generated_at:
            self._refs.clear()
            self._refs_version = self.world.generated_at
        ref = self._refs.get((kind, ref_id))
        if ref is None:
            ref = self._refs[(kind, ref_id)] = build()
        return ref

    def company_ref(self, client_id: int) -> Json:
        def build() -> Json:
            client = self.index.client(client_id)
            ref: Json = {"id": client_id}
            if client is not None:
                ref |= {"identifier": company_identifier(client), "name": client.name}
            return ref | {"_info": _href("company", f"/company/companies/{client_id}")}

        return self._cached_ref("company", client_id, build)

    def member_ref(self, technician_id: int) -> Json:
        def build() -> Json:
            technician = self.index.technician(technician_id)
            ref: Json = {"id": technician_id}
            if technician is not None:
                ref |= {"identifier": member_identifier(technician), "name": technician.name}
            return ref | {"_info": _href("member", f"/system/members/{technician_id}")}

        return self._cached_ref("member", technician_id, build)

    def priority_id(self, level: int) -> int:
        return PRIORITY_ID_BASE - level

    def status_id(self, board_id: int, state: TicketState) -> int:
        return board_id * 10 + STATUS_ORDER.index(state) + 1

    def msp_company_id(self) -> int:
        return self.index.msp_client().id

    # -- small collections ------------------------------------------------------------

    def priorities(self) -> list[Json]:
        rows = [
            {
                "id": self.priority_id(p.level),
                "name": PRIORITY_NAMES.get(p.level, f"Priority {p.level}"),
                "sortOrder": p.sort_order,
                "defaultFlag": p.level == 3,
                "color": "Red" if p.level == 1 else "Blue",
                "_info": {"lastUpdated": stamp(self.world.generated_at)},
            }
            for p in self.world.priorities
        ]
        return sorted(rows, key=lambda row: row["id"])

    def board_statuses(self, board_id: int) -> list[Json]:
        board = next((b for b in self.boards if b["id"] == board_id), None)
        if board is None:
            return []
        return [
            {
                "id": self.status_id(board_id, state),
                "name": name,
                "board": {"id": board_id, "name": board["name"]},
                "sortOrder": position,
                "closedStatus": closed,
                "escalationStatus": "Resolved" if closed else "NotResponded",
            }
            for position, (state, (name, closed)) in enumerate(STATUS_NAMES.items())
        ]

    def slas(self) -> list[Json]:
        return [
            _compact(
                {
                    "id": sla.id,
                    "name": sla.name,
                    "basedOn": "MyCalendar",
                    "respondHours": sla.default.response_hours,
                    "resolutionHours": sla.default.resolution_hours,
                    "_info": {"lastUpdated": stamp(self.world.generated_at)},
                }
            )
            for sla in self.world.slas
        ]

    def sla_priorities(self, sla_id: int) -> list[Json] | None:
        sla = self.index.sla(sla_id)
        if sla is None:
            return None
        return [
            _compact(
                {
                    "id": sla_id * 100 + level,
                    "priority": {"id": self.priority_id(level), "name": PRIORITY_NAMES.get(level)},
                    "respondHours": target.response_hours,
                    "resolutionHours": target.resolution_hours,
                    "sla": {"id": sla_id, "name": sla.name},
                }
            )
            for level, target in sorted(sla.overrides.items())
        ]

    # -- entities -------------------------------------------------------------------------

    def company(self, client: Client) -> Json:
        status = COMPANY_STATUSES[0] if client.active else COMPANY_STATUSES[1]
        return _compact(
            {
                "id": client.id,
                "identifier": company_identifier(client),
                "name": client.name,
                "status": {"id": status["id"], "name": status["name"]},
                "types": [OWNER_TYPE if client.is_msp_itself else CLIENT_TYPE],
                "deletedFlag": client.deleted,
                "dateDeleted": stamp(client.updated_at) if client.deleted else None,
                "_info": {"lastUpdated": stamp(client.updated_at), "updatedBy": "admin1"},
            }
        )

    def member(self, technician: Technician) -> Json:
        capacity = technician.capacity_hours
        return _compact(
            {
                "id": technician.id,
                "identifier": member_identifier(technician),
                "firstName": technician.first_name,
                "lastName": technician.last_name,
                "primaryEmail": technician.email,
                "licenseClass": "X" if technician.is_api_user else "F",
                "inactiveFlag": not technician.active,
                "includeInUtilizationReportingFlag": (
                    technician.included_in_utilization and not technician.is_api_user
                ),
                "dailyCapacity": None if capacity is None else capacity[0],
                "_info": {"lastUpdated": stamp(technician.updated_at), "updatedBy": "admin1"},
            }
        )

    def ticket(self, ticket: Ticket) -> Json | None:
        if ticket.deleted:
            return None
        board_id = self.board_ids.get(ticket.board, 1)
        status_name, _closed = STATUS_NAMES[ticket.state]
        closed = ticket.state is TicketState.CLOSED
        sla = self.index.sla(ticket.sla_id) if ticket.sla_id is not None else None
        assignee = self.index.technician(ticket.assignee_id) if ticket.assignee_id else None
        return _compact(
            {
                "id": ticket.id,
                "summary": ticket.title,
                "recordType": "ServiceTicket",
                "board": {"id": board_id, "name": ticket.board}
                | {"_info": _href("board", f"/service/boards/{board_id}")},
                "status": {
                    "id": self.status_id(board_id, ticket.state),
                    "name": status_name,
                    "sort": STATUS_ORDER.index(ticket.state),
                },
                "company": self.company_ref(ticket.client_id),
                "owner": None
                if ticket.assignee_id is None
                else self.member_ref(ticket.assignee_id),
                "priority": {
                    "id": self.priority_id(ticket.priority_level),
                    "name": PRIORITY_NAMES.get(ticket.priority_level),
                    "sort": _sort_of(self.world, ticket.priority_level),
                },
                "sla": None if sla is None else {"id": sla.id, "name": sla.name},
                "severity": "Medium",
                "impact": "Medium",
                "closedFlag": closed,
                "closedDate": stamp(ticket.closed_at) if closed and ticket.closed_at else None,
                "closedBy": member_identifier(assignee) if closed and assignee else None,
                "dateResponded": _maybe(ticket.first_response_at),
                "dateResolved": _maybe(ticket.resolved_at),
                "respondMinutes": ticket.respond_minutes or 0,
                "resPlanMinutes": 0,
                "resolveMinutes": ticket.resolve_minutes or 0,
                "isInSla": None
                if sla is None
                else ticket.response_met is not False and ticket.resolution_met is not False,
                "mergedParentTicket": None
                if ticket.merged_into is None
                else {"id": ticket.merged_into, "summary": "Merged"},
                "hasChildTicket": False,
                "customFields": [
                    {
                        "id": 7,
                        "caption": "Escalated",
                        "type": "Checkbox",
                        "entryMethod": "EntryField",
                        "numberOfDecimals": 0,
                        "value": ticket.priority_level == 1,
                    }
                ],
                "_info": {
                    "lastUpdated": stamp(ticket.updated_at),
                    "updatedBy": "jsmith",
                    "dateEntered": stamp(ticket.created_at),
                    "enteredBy": "Email Connector",
                },
            }
        )

    def time_entry(self, entry: TimeEntry) -> Json | None:
        if entry.deleted:
            return None
        company_id = entry.client_id if entry.client_id is not None else self.msp_company_id()
        billable = entry.billable_hours > 0
        charge_type, charge_id = {
            TimeKind.TICKET: ("ServiceTicket", entry.ticket_id),
            TimeKind.PROJECT: ("ProjectTicket", 500_000 + entry.id),
            TimeKind.INTERNAL: ("ChargeCode", 7),
        }[entry.kind]
        work_type = WORK_TYPE_OF[entry.kind]
        return _compact(
            {
                "id": entry.id,
                "company": self.company_ref(company_id),
                "chargeToId": charge_id,
                "chargeToType": charge_type,
                "member": self.member_ref(entry.technician_id),
                "workType": {
                    "id": work_type["id"],
                    "name": work_type["name"],
                    "utilizationFlag": work_type["utilizationFlag"],
                },
                "timeStart": stamp(entry.started_at),
                "timeEnd": stamp(entry.started_at + timedelta(hours=entry.hours)),
                "actualHours": entry.hours,
                "billableOption": "Billable" if billable else "NoCharge",
                # NoCharge time still reports its hours as billed: only the option decides.
                "hoursBilled": entry.billable_hours if billable else entry.hours,
                "notes": "Worked on it.",
                "status": "Open",
                "dateEntered": stamp(entry.started_at + timedelta(hours=entry.hours)),
                "_info": {"lastUpdated": stamp(entry.updated_at), "updatedBy": "jsmith"},
            }
        )

    def agreement(self, agreement: Agreement) -> Json | None:
        if agreement.deleted:
            return None
        base, _ = split_base_fee(agreement)
        cycle_id = CYCLE_ID[agreement.cycle]
        cycle = BILLING_CYCLES[cycle_id - 1]
        cancelled = agreement.cancelled_on is not None
        return _compact(
            {
                "id": agreement.id,
                "name": agreement.name,
                "type": {"id": 5, "name": "Managed Services"},
                "company": self.company_ref(agreement.client_id),
                "startDate": day_stamp(agreement.starts_on),
                "endDate": None if agreement.ends_on is None else day_stamp(agreement.ends_on),
                "noEndingDateFlag": agreement.ends_on is None,
                "cancelledFlag": cancelled,
                "dateCancelled": _maybe_day(agreement.cancelled_on),
                "agreementStatus": "Cancelled" if cancelled else "Active",
                "billingCycle": {"id": cycle_id, "name": cycle["name"]},
                "billAmount": float(base),
                "billTime": "Billable",
                "_info": {"lastUpdated": stamp(agreement.updated_at), "updatedBy": "billing1"},
            }
        )

    def additions(self, agreement_id: int) -> list[Json] | None:
        agreement = self.index.agreements.get(agreement_id)
        if agreement is None or agreement.deleted:
            return None
        _, lines = split_base_fee(agreement)
        rows = [
            _compact(
                {
                    "id": line.id,
                    "product": {"id": 70 + line.id % 5, "identifier": line.description[:25]},
                    "quantity": float(line.quantity),
                    "lessIncluded": 0.0,
                    "unitPrice": float(line.unit_price),
                    "billCustomer": "Billable",
                    "effectiveDate": day_stamp(line.starts_on),
                    "cancelledDate": _maybe_day(line.ends_on),
                    "agreementId": agreement.id,
                    "description": line.description,
                    "extPrice": float(line.price_per_cycle),
                    "_info": {"lastUpdated": stamp(agreement.updated_at)},
                }
            )
            for line in lines
        ]
        if agreement.id % 2 == 0:  # a line the customer is not billed for: must not count
            rows.append(
                {
                    "id": NO_CHARGE_ADDITION_OFFSET + agreement.id,
                    "product": {"id": 99, "identifier": "ONBOARDING"},
                    "quantity": 1.0,
                    "lessIncluded": 0.0,
                    "unitPrice": 250.0,
                    "billCustomer": "NoCharge",
                    "effectiveDate": day_stamp(agreement.starts_on),
                    "agreementId": agreement.id,
                    "description": "Onboarding (no charge)",
                    "_info": {"lastUpdated": stamp(agreement.updated_at)},
                }
            )
        return rows

    def survey_result(self, result: SurveyResult) -> Json | None:
        if result.rating is None or result.completed_at is None:
            return None  # sent, never answered: ConnectWise has no result row
        return {
            "id": result.id,
            "ticketId": result.ticket_id,
            "contactMeFlag": False,
            "company": self.company_ref(result.client_id),
            "surveyId": SURVEY_ID,
            "results": [
                {"questionId": 1, "answer": result.rating - 1},
                {"questionId": 2, "answer": "Thanks"},
            ],
            "totalPoints": result.rating - 1,
            "_info": {
                "lastUpdated": stamp(result.updated_at),
                "dateEntered": stamp(result.completed_at),
            },
        }


def split_base_fee(agreement: Agreement) -> tuple[Decimal, list[Any]]:
    """The base fee (`billAmount`) and the lines rendered as additions.

    The first line is the base fee when it runs for the agreement's whole life; otherwise
    every line is an addition and `billAmount` is 0.
    """
    lines = list(agreement.lines)
    if lines and lines[0].starts_on <= agreement.starts_on and lines[0].ends_on is None:
        return lines[0].price_per_cycle, lines[1:]
    return Decimal(0), lines


def _sort_of(world: SandboxWorld, level: int) -> int | None:
    return next((p.sort_order for p in world.priorities if p.level == level), None)


def _maybe(moment: datetime | None) -> str | None:
    return None if moment is None else stamp(moment)


def _maybe_day(day: date | None) -> str | None:
    return None if day is None else day_stamp(day)
