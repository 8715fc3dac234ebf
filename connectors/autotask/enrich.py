"""Everything a page of records needs from other entities, attached before normalisation.

`normalize` is pure: it sees one record and nothing else. So the reader attaches, under
`ENRICHMENT_KEY`, what normalisation needs from elsewhere: picklist labels and priority
levels, the winning SLA result row, a resource's availability row, a contract's service
units, a time entry's client and a survey's technician. Related rows are fetched per page
with `in` batches (at most 500 values each, walked by id like any query); tickets and
contracts looked up by id come from the source's `SourceDirectory` when it knows them.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from connectors.autotask.api import AutotaskApi
from connectors.autotask.directory import SourceDirectory
from connectors.autotask.picklists import PicklistCache
from connectors.autotask.query import MAX_RECORDS, condition, query_body
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

ENRICHMENT_KEY = "_northstar"
# Looked up by id often, and few: read whole (only the looked-up fields) on the first miss.
READ_WHOLE = frozenset({"Contracts"})
Records = list[dict[str, Any]]


def _ids(values: Iterable[Any]) -> list[int]:
    return sorted({int(v) for v in values if v is not None})


def highest_id_by(rows: Iterable[Mapping[str, Any]], field: str) -> dict[int, Mapping[str, Any]]:
    """Per value of `field`, the row with the highest id (Autotask's latest word)."""
    best: dict[int, Mapping[str, Any]] = {}
    for row in rows:
        owner = row.get(field)
        if owner is None:
            continue
        key = int(owner)
        if key not in best or int(row["id"]) > int(best[key]["id"]):
            best[key] = row
    return best


def _with(record: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    return {**record, ENRICHMENT_KEY: dict(extra)}


class PageEnricher:
    """Attaches related data to each page of a stream; streams without needs pass through."""

    def __init__(
        self, api: AutotaskApi, picklists: PicklistCache, directory: SourceDirectory
    ) -> None:
        self._api = api
        self._picklists = picklists
        self._directory = directory
        self._handlers: dict[str, Callable[[Records], Awaitable[Records]]] = {
            TICKETS: self._tickets,
            RESOURCES: self._resources,
            TIME_ENTRIES: self._time_entries,
            CONTRACTS: self._contracts,
            SURVEY_RESULTS: self._survey_results,
            DELETED_TIME_ENTRIES: self._deleted_activities,
            DELETED_TASK_TIME_ENTRIES: self._deleted_task_activities,
        }

    async def enrich(self, stream: str, records: Records) -> Records:
        """`records` with what normalisation needs.

        A reassigned ticket's surveys are not read again: the KPI rollup attributes a survey
        to its ticket's current assignee (docs/kpis.md §2), and a ticket's change of assignee
        marks its surveys' days for re-aggregation."""
        handler = self._handlers.get(stream)
        if handler is None or not records:
            return records
        return await handler(records)  # the tickets handler notes them in the directory

    async def related(
        self, entity: str, field: str, values: Iterable[Any], include_fields: Sequence[str]
    ) -> Records:
        """All rows of `entity` whose `field` is one of `values`, in batches of 500; by id,
        what the source's directory knows is not asked again."""
        wanted = _ids(values)
        if field == "id" and self._directory.knows(entity):
            known, missing = self._directory.split(entity, wanted)
            if missing and entity in READ_WHOLE and entity not in self._directory.loaded_whole:
                self._directory.loaded_whole.add(entity)
                self._directory.note(entity, await self._every_row(entity, include_fields))
                known, missing = self._directory.split(entity, wanted)
            fetched = await self.related_uncached(entity, field, missing, include_fields)
            self._directory.note(entity, fetched)
            return known + fetched
        return await self.related_uncached(entity, field, wanted, include_fields)

    async def related_uncached(
        self,
        entity: str,
        field: str,
        values: Iterable[Any],
        include_fields: Sequence[str],
        *,
        parts: int = 1,
    ) -> Records:
        """Like `related`; `parts` > 1 splits the values into that many batches at least,
        walked in parallel (for rows that run to many pages per value)."""
        wanted = _ids(values)
        size = max(1, min(MAX_RECORDS, -(-len(wanted) // parts)))
        batches = [wanted[i : i + size] for i in range(0, len(wanted), size)]
        results = await asyncio.gather(
            *(self._all_rows(entity, field, batch, include_fields) for batch in batches)
        )
        return [row for rows in results for row in rows]

    async def _every_row(self, entity: str, include_fields: Sequence[str]) -> Records:
        rows: Records = []
        after_id: int | None = None
        while True:
            body = query_body([], include_fields=include_fields, after_id=after_id)
            page = await self._api.query(entity, body)
            rows.extend(page)
            if len(page) < MAX_RECORDS:
                return rows
            after_id = int(page[-1]["id"])

    async def _all_rows(
        self, entity: str, field: str, batch: list[int], include_fields: Sequence[str]
    ) -> Records:
        rows: Records = []
        after_id: int | None = None
        keep = [condition("in", field, batch)]
        while True:
            body = query_body(keep, include_fields=include_fields, after_id=after_id)
            page = await self._api.query(entity, body)
            rows.extend(page)
            # Ids are unique: a batch of ids is complete once every one has come back.
            if len(page) < MAX_RECORDS or (field == "id" and len(rows) >= len(batch)):
                return rows
            after_id = int(page[-1]["id"])

    async def _tickets(self, records: Records) -> Records:
        picklists, sla_rows = await asyncio.gather(
            asyncio.gather(*(self._picklists.picklist("Tickets", f) for f in TICKET_PICKLISTS)),
            self.related(
                "ServiceLevelAgreementResults",
                "ticketID",
                (r["id"] for r in records),
                SLA_RESULT_FIELDS,
            ),
        )
        self._directory.note("Tickets", records)
        by_field = dict(zip(TICKET_PICKLISTS, picklists, strict=True))
        winning_sla = highest_id_by(sla_rows, "ticketID")
        out = []
        for record in records:
            sla = winning_sla.get(int(record["id"]))
            out.append(
                _with(
                    record,
                    {
                        "labels": {f: p.label(record.get(f)) for f, p in by_field.items()},
                        "priority_level": by_field["priority"].urgency_level(
                            record.get("priority")
                        ),
                        "sla": dict(sla) if sla is not None else None,
                    },
                )
            )
        return out

    async def _resources(self, records: Records) -> Records:
        license_types, rows = await asyncio.gather(
            self._picklists.picklist("Resources", "licenseType"),
            self.related(
                "ResourceDailyAvailabilities",
                "resourceID",
                (r["id"] for r in records),
                AVAILABILITY_FIELDS,
            ),
        )
        availability = highest_id_by(rows, "resourceID")
        return [
            _with(
                record,
                {
                    "license_label": license_types.label(record.get("licenseType")),
                    "availability": (
                        dict(availability[int(record["id"])])
                        if int(record["id"]) in availability
                        else None
                    ),
                },
            )
            for record in records
        ]

    async def _time_entries(self, records: Records) -> Records:
        tickets = await self.related(
            "Tickets", "id", (r.get("ticketID") for r in records), TICKET_LOOKUP_FIELDS
        )
        ticket_company = {int(t["id"]): t.get("companyID") for t in tickets}

        def via_ticket(record: Mapping[str, Any]) -> Any:
            ticket_id = record.get("ticketID")
            return ticket_company.get(int(ticket_id)) if ticket_id is not None else None

        contracts = await self.related(
            "Contracts",
            "id",
            (r.get("contractID") for r in records if via_ticket(r) is None),
            CONTRACT_LOOKUP_FIELDS,
        )
        contract_company = {int(c["id"]): c.get("companyID") for c in contracts}
        out = []
        for record in records:
            company = via_ticket(record)
            if company is None and record.get("contractID") is not None:
                company = contract_company.get(int(record["contractID"]))
            out.append(_with(record, {"client_company_id": company}))
        return out

    async def _contracts(self, records: Records) -> Records:
        period_types, units = await asyncio.gather(
            self._picklists.picklist("Contracts", "contractPeriodType"),
            # A contract has a row per service and billing period: many pages, so in parallel.
            self.related_uncached(
                "ContractServiceUnits",
                "contractID",
                (r["id"] for r in records),
                SERVICE_UNIT_FIELDS,
                parts=3,
            ),
        )
        by_contract: dict[int, Records] = defaultdict(list)
        for row in sorted(units, key=lambda u: int(u["id"])):
            by_contract[int(row["contractID"])].append(row)
        return [
            _with(
                record,
                {
                    "period_label": period_types.label(record.get("contractPeriodType")),
                    "service_units": by_contract.get(int(record["id"]), []),
                },
            )
            for record in records
        ]

    async def _survey_results(self, records: Records) -> Records:
        tickets = await self.related(
            "Tickets", "id", (r.get("ticketID") for r in records), TICKET_LOOKUP_FIELDS
        )
        assignee = {int(t["id"]): t.get("assignedResourceID") for t in tickets}
        return [
            _with(
                record,
                {
                    "ticket_assignee_id": (
                        assignee.get(int(record["ticketID"]))
                        if record.get("ticketID") is not None
                        else None
                    )
                },
            )
            for record in records
        ]

    async def _deleted_activities(self, records: Records) -> Records:
        return await self._activity_types("DeletedTicketActivityLogs", records)

    async def _deleted_task_activities(self, records: Records) -> Records:
        return await self._activity_types("DeletedTaskActivityLogs", records)

    async def _activity_types(self, entity: str, records: Records) -> Records:
        types = await self._picklists.picklist(entity, "typeID")
        return [_with(r, {"type_label": types.label(r.get("typeID"))}) for r in records]
