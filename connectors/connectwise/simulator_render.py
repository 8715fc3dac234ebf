"""The sandbox world in ConnectWise shapes (reference §6, §8), for the simulator.

Conventions kept: null-valued properties are omitted, timestamps are `Z` without fractions,
references carry `_info` `*_href` links, every entity has `_info.lastUpdated`. Records are
rendered on demand (see `simulator_collections`); the fixed setup lives in
`simulator_catalog` and `simulator_shapes`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from connectors.connectwise.simulator_catalog import (
    BILLING_CYCLES,
    CLIENT_TYPE,
    COMPANY_STATUSES,
    CYCLE_ID,
    NO_CHARGE_ADDITION_OFFSET,
    OWNER_TYPE,
    PRIORITY_NAMES,
    STATUS_NAMES,
    STATUS_ORDER,
    SURVEY_ID,
    WORK_TYPE_OF,
)
from connectors.connectwise.simulator_collections import Json, LazyCollection
from connectors.connectwise.simulator_shapes import (
    SetupRenderer,
    compact,
    company_identifier,
    day_stamp,
    href,
    maybe,
    maybe_day,
    member_identifier,
    split_base_fee,
    stamp,
)
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


class WorldRenderer(SetupRenderer):
    """Renders one world; collections are created once and follow the world's changes."""

    def __init__(self, world: SandboxWorld) -> None:
        super().__init__(world)
        self.sort_orders = {p.level: p.sort_order for p in world.priorities}  # fixed per world
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
            return ref | {"_info": href("company", f"/company/companies/{client_id}")}

        return self._cached_ref("company", client_id, build)

    def member_ref(self, technician_id: int) -> Json:
        def build() -> Json:
            technician = self.index.technician(technician_id)
            ref: Json = {"id": technician_id}
            if technician is not None:
                ref |= {"identifier": member_identifier(technician), "name": technician.name}
            return ref | {"_info": href("member", f"/system/members/{technician_id}")}

        return self._cached_ref("member", technician_id, build)

    def msp_company_id(self) -> int:
        return self.index.msp_client().id

    # -- entities -------------------------------------------------------------------------

    def company(self, client: Client) -> Json:
        status = COMPANY_STATUSES[0] if client.active else COMPANY_STATUSES[1]
        return compact(
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
        return compact(
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
        return compact(
            {
                "id": ticket.id,
                "summary": ticket.title,
                "recordType": "ServiceTicket",
                "board": {"id": board_id, "name": ticket.board}
                | {"_info": href("board", f"/service/boards/{board_id}")},
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
                    "sort": self.sort_orders.get(ticket.priority_level),
                },
                "sla": None if sla is None else {"id": sla.id, "name": sla.name},
                "severity": "Medium",
                "impact": "Medium",
                "closedFlag": closed,
                "closedDate": stamp(ticket.closed_at) if closed and ticket.closed_at else None,
                "closedBy": member_identifier(assignee) if closed and assignee else None,
                "dateResponded": maybe(ticket.first_response_at),
                "dateResolved": maybe(ticket.resolved_at),
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
        return compact(
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
        return compact(
            {
                "id": agreement.id,
                "name": agreement.name,
                "type": {"id": 5, "name": "Managed Services"},
                "company": self.company_ref(agreement.client_id),
                "startDate": day_stamp(agreement.starts_on),
                "endDate": None if agreement.ends_on is None else day_stamp(agreement.ends_on),
                "noEndingDateFlag": agreement.ends_on is None,
                "cancelledFlag": cancelled,
                "dateCancelled": maybe_day(agreement.cancelled_on),
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
            compact(
                {
                    "id": line.id,
                    "product": {"id": 70 + line.id % 5, "identifier": line.description[:25]},
                    "quantity": float(line.quantity),
                    "lessIncluded": 0.0,
                    "unitPrice": float(line.unit_price),
                    "billCustomer": "Billable",
                    "effectiveDate": day_stamp(line.starts_on),
                    "cancelledDate": maybe_day(line.ends_on),
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
