"""Everything a page of records needs from other entities, attached before normalisation.

`normalize` is pure: it sees one record and nothing else. So the reader attaches, under
`ENRICHMENT_KEY`, what normalisation needs from elsewhere: picklist labels and priority
levels, the winning SLA result row, a resource's availability row, a contract's service
units, a time entry's client and a survey's technician (`related.py` fetches them).

What only enriches may be missing: when Autotask refuses a picklist's metadata or the SLA
results (404, a client mistake, the API user's security level), the page is stored without
them and says so in `Enriched.warnings`, on every page it applies to. A transient failure
still fails the read: it resumes later, with everything.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.autotask.api import AutotaskApi
from connectors.autotask.directory import SourceDirectory
from connectors.autotask.fields import id_of, int_or_none
from connectors.autotask.picklists import Picklist, PicklistCache
from connectors.autotask.related import RelatedRows
from connectors.autotask.related_windows import RelatedWindow
from connectors.autotask.streams import (
    AVAILABILITY_FIELDS,
    CONTRACT_LOOKUP_FIELDS,
    CONTRACTS,
    DELETED_TASK_TIME_ENTRIES,
    DELETED_TIME_ENTRIES,
    RESOURCES,
    SERVICE_UNIT_FIELDS,
    SLA_RESULT_FIELDS,
    SURVEY_RESULTS,
    TICKET_LOOKUP_FIELDS,
    TICKET_PICKLISTS,
    TICKETS,
    TIME_ENTRIES,
)
from connectors.sdk import ConfigError, FatalError

ENRICHMENT_KEY = "_northstar"
SLA_RESULTS = "ServiceLevelAgreementResults"
Records = list[dict[str, Any]]

# What a page loses when Autotask will not give a picklist (entity, field).
PICKLIST_LOSSES: Mapping[tuple[str, str], str] = {
    ("Tickets", "status"): "tickets are stored without status labels",
    ("Tickets", "priority"): "tickets are stored without priority labels and levels",
    ("Tickets", "queueID"): "tickets are stored without queue (board) names",
    ("Tickets", "source"): "tickets are stored without source labels",
    ("Resources", "licenseType"): "API-only users are not told apart from technicians",
    ("DeletedTicketActivityLogs", "typeID"): "deleted time is told from notes by its hours",
    ("DeletedTaskActivityLogs", "typeID"): "deleted time is told from notes by its hours",
}
SLA_LOSS = "whether each SLA was met is taken from the tickets' due dates"


@dataclass(frozen=True, slots=True)
class Enriched:
    """A page's records with their related data, and what had to be done without."""

    records: Records
    warnings: tuple[str, ...] = ()


def unavailable(what: str, reason: str, loss: str) -> str:
    return f"Autotask would not give {what} ({reason}): {loss}."


def highest_id_by(rows: Iterable[Mapping[str, Any]], field: str) -> dict[int, Mapping[str, Any]]:
    """Per value of `field`, the row with the highest id (Autotask's latest word); a row
    without an id loses to any row with one."""
    best: dict[int, Mapping[str, Any]] = {}
    for row in rows:
        owner = int_or_none(row.get(field))
        if owner is None:
            continue
        current = best.get(owner)
        if current is None or (id_of(row) or -1) > (id_of(current) or -1):
            best[owner] = row
    return best


def _with(record: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    return {**record, ENRICHMENT_KEY: dict(extra)}


Handler = Callable[[Records, RelatedWindow | None], Awaitable[Enriched]]


# The entity whose field metadata (picklists) each stream's enrichment reads.
PICKLIST_ENTITY = {
    TICKETS: "Tickets",
    RESOURCES: "Resources",
    CONTRACTS: "Contracts",
    DELETED_TIME_ENTRIES: "DeletedTicketActivityLogs",
    DELETED_TASK_TIME_ENTRIES: "DeletedTaskActivityLogs",
}


class PageEnricher:
    """Attaches related data to each page of a stream; streams without needs pass through."""

    def __init__(
        self, api: AutotaskApi, picklists: PicklistCache, directory: SourceDirectory
    ) -> None:
        self._picklists = picklists
        self._directory = directory
        self.related = RelatedRows(api, directory)
        self._handlers: dict[str, Handler] = {
            TICKETS: self._tickets,
            RESOURCES: self._resources,
            TIME_ENTRIES: self._time_entries,
            CONTRACTS: self._contracts,
            SURVEY_RESULTS: self._survey_results,
            DELETED_TIME_ENTRIES: self._deleted_ticket_activities,
            DELETED_TASK_TIME_ENTRIES: self._deleted_task_activities,
        }

    def prefetch(self, stream: str) -> None:
        """Start loading the field metadata (picklists) `stream`'s pages need, so it arrives
        with the first page instead of after it (only where records will surely come)."""
        entity = PICKLIST_ENTITY.get(stream)
        if entity is None:
            return
        task = asyncio.ensure_future(self._picklists.optional_picklist(entity, "id"))
        # Its failure is the enrichment's to report (it asks again): only mark it seen.
        task.add_done_callback(lambda done: done.cancelled() or done.exception())

    def window(
        self, stream: str, after_id: int | None, up_to_id: int | None
    ) -> RelatedWindow | None:
        """For a pass reading every record of `stream` in (after_id, up_to_id]: the related
        rows read ahead by id range (tickets' SLA results); None when it has none."""
        if stream != TICKETS:
            return None

        async def read_chunk(low: int, high: int) -> Records:
            return await self.related.in_range(
                SLA_RESULTS, "ticketID", low, high, SLA_RESULT_FIELDS
            )

        return RelatedWindow(read_chunk, "ticketID", after_id=after_id, up_to_id=up_to_id)

    async def enrich(
        self, stream: str, records: Records, window: RelatedWindow | None = None
    ) -> Enriched:
        """`records` with what normalisation needs. With a `window` (see `window`), it is
        asked first, before anything is awaited: call in page order.

        A reassigned ticket's surveys are not read again: the KPI rollup attributes a survey
        to its ticket's current assignee (docs/kpis.md §2), and a ticket's change of assignee
        marks its surveys' days for re-aggregation."""
        handler = self._handlers.get(stream)
        if handler is None or not records:
            return Enriched(records)
        return await handler(records, window)

    async def _labels(
        self, entity: str, fields: Iterable[str]
    ) -> tuple[dict[str, Picklist], list[str]]:
        names = list(fields)
        found = await asyncio.gather(*(self._picklists.optional_picklist(entity, f) for f in names))
        warnings = [
            unavailable(f"the {entity} {name} picklist", reason, PICKLIST_LOSSES[(entity, name)])
            for name, (_, reason) in zip(names, found, strict=True)
            if reason is not None
        ]
        return {name: picklist for name, (picklist, _) in zip(names, found, strict=True)}, warnings

    async def _sla_rows(self, pending: Awaitable[Records]) -> tuple[Records, list[str]]:
        try:
            return await pending, []
        except (FatalError, ConfigError) as exc:
            return [], [unavailable("SLA results", exc.message, SLA_LOSS)]

    async def _tickets(self, records: Records, window: RelatedWindow | None) -> Enriched:
        pending = (
            window.rows_for(records)
            if window is not None
            else self.related.by_values(
                SLA_RESULTS, "ticketID", (r.get("id") for r in records), SLA_RESULT_FIELDS
            )
        )
        (by_field, label_warnings), (sla_rows, sla_warnings) = await asyncio.gather(
            self._labels("Tickets", TICKET_PICKLISTS), self._sla_rows(pending)
        )
        self._directory.note("Tickets", records)
        winning_sla = highest_id_by(sla_rows, "ticketID")
        priorities = by_field["priority"]
        levels: dict[Any, int | None] = {}  # a page holds a handful of priorities
        out = []
        for record in records:
            row_id = id_of(record)
            sla = winning_sla.get(row_id) if row_id is not None else None
            priority = record.get("priority")
            if priority not in levels:
                levels[priority] = priorities.urgency_level(priority)
            out.append(
                _with(
                    record,
                    {
                        "labels": {f: p.label(record.get(f)) for f, p in by_field.items()},
                        "priority_level": levels[priority],
                        "sla": dict(sla) if sla is not None else None,
                    },
                )
            )
        return Enriched(out, (*label_warnings, *sla_warnings))

    async def _resources(self, records: Records, window: RelatedWindow | None) -> Enriched:
        (labels, warnings), rows = await asyncio.gather(
            self._labels("Resources", ["licenseType"]),
            self.related.by_values(
                "ResourceDailyAvailabilities",
                "resourceID",
                (r.get("id") for r in records),
                AVAILABILITY_FIELDS,
            ),
        )
        availability = highest_id_by(rows, "resourceID")
        out = []
        for record in records:
            row_id = id_of(record)
            row = availability.get(row_id) if row_id is not None else None
            out.append(
                _with(
                    record,
                    {
                        "license_label": labels["licenseType"].label(record.get("licenseType")),
                        "availability": dict(row) if row is not None else None,
                    },
                )
            )
        return Enriched(out, tuple(warnings))

    async def _time_entries(self, records: Records, window: RelatedWindow | None) -> Enriched:
        tickets = await self.related.by_values(
            "Tickets", "id", (r.get("ticketID") for r in records), TICKET_LOOKUP_FIELDS
        )
        ticket_company = {id_of(t): t.get("companyID") for t in tickets}

        def via_ticket(record: Mapping[str, Any]) -> Any:
            ticket_id = int_or_none(record.get("ticketID"))
            return ticket_company.get(ticket_id) if ticket_id is not None else None

        contracts = await self.related.by_values(
            "Contracts",
            "id",
            (r.get("contractID") for r in records if via_ticket(r) is None),
            CONTRACT_LOOKUP_FIELDS,
        )
        contract_company = {id_of(c): c.get("companyID") for c in contracts}
        out = []
        for record in records:
            company = via_ticket(record)
            contract_id = int_or_none(record.get("contractID"))
            if company is None and contract_id is not None:
                company = contract_company.get(contract_id)
            out.append(_with(record, {"client_company_id": company}))
        return Enriched(out)

    async def _contracts(self, records: Records, window: RelatedWindow | None) -> Enriched:
        # The billing period is no mere label: without it no amount can be computed, so a
        # refusal fails the stream (`picklist`, not `optional_picklist`).
        period_types, units = await asyncio.gather(
            self._picklists.picklist("Contracts", "contractPeriodType"),
            # A contract has a row per service and billing period: many pages, so in parallel.
            self.related.by_values_uncached(
                "ContractServiceUnits",
                "contractID",
                (r.get("id") for r in records),
                SERVICE_UNIT_FIELDS,
                parts=3,
            ),
        )
        by_contract: dict[int, Records] = defaultdict(list)
        for row in sorted(units, key=lambda u: id_of(u) or 0):
            contract_id = int_or_none(row.get("contractID"))
            if contract_id is not None:
                by_contract[contract_id].append(row)
        out = []
        for record in records:
            row_id = id_of(record)
            out.append(
                _with(
                    record,
                    {
                        "period_label": period_types.label(record.get("contractPeriodType")),
                        "service_units": by_contract.get(row_id, []) if row_id is not None else [],
                    },
                )
            )
        return Enriched(out)

    async def _survey_results(self, records: Records, window: RelatedWindow | None) -> Enriched:
        tickets = await self.related.by_values(
            "Tickets", "id", (r.get("ticketID") for r in records), TICKET_LOOKUP_FIELDS
        )
        assignee = {id_of(t): t.get("assignedResourceID") for t in tickets}
        out = []
        for record in records:
            ticket_id = int_or_none(record.get("ticketID"))
            technician = assignee.get(ticket_id) if ticket_id is not None else None
            out.append(_with(record, {"ticket_assignee_id": technician}))
        return Enriched(out)

    async def _deleted_ticket_activities(
        self, records: Records, window: RelatedWindow | None
    ) -> Enriched:
        return await self._activity_types("DeletedTicketActivityLogs", records)

    async def _deleted_task_activities(
        self, records: Records, window: RelatedWindow | None
    ) -> Enriched:
        return await self._activity_types("DeletedTaskActivityLogs", records)

    async def _activity_types(self, entity: str, records: Records) -> Enriched:
        labels, warnings = await self._labels(entity, ["typeID"])
        types = labels["typeID"]
        out = [_with(r, {"type_label": types.label(r.get("typeID"))}) for r in records]
        return Enriched(out, tuple(warnings))
