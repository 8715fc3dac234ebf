"""Attaching reference facts to raw records, so `normalize` stays pure (see `reference.py`).

Each page's records get what their normalisation needs under `ENRICHMENT_KEY`. An enrich-only
table ConnectWise would not serve leaves its part out; the page then carries the table's
warning and its key, so the pass can warn the user and read those records again later.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from connectors.connectwise.api import ConnectWiseApi, RecordGone
from connectors.connectwise.reference import (
    ENRICHMENT_KEY,
    Loaded,
    ReferenceData,
    read_collection,
)
from connectors.connectwise.reference_tables import SlaBook, ref_id
from connectors.connectwise.revenue import CYCLE_FACTORS
from connectors.connectwise.streams import ADDITION_FIELDS, Enrichment

Record = dict[str, Any]


@dataclass(slots=True)
class Shortfall:
    """What one page's enrichment had to do without: warnings and the tables' keys."""

    warnings: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    def take(self, loaded: Loaded[Any]) -> None:
        missing = loaded.unavailable
        if missing is not None and missing.key not in self.keys:
            self.keys.append(missing.key)
            self.warnings.append(missing.warning)


class Enricher:
    def __init__(self, api: ConnectWiseApi, reference: ReferenceData) -> None:
        self._api = api
        self._reference = reference

    def prefetch(self, kind: Enrichment) -> None:
        """Start loading the tables `kind` needs, so they arrive with the first page (only
        where records will surely come: an empty incremental pass needs none)."""
        reference = self._reference
        loads: dict[Enrichment, tuple[Callable[[], Awaitable[Any]], ...]] = {
            Enrichment.TICKET: (reference.priority_levels, reference.sla_book),
            Enrichment.TIME_ENTRY: (reference.owner_company_ids, reference.work_type_utilization),
            Enrichment.COMPANY: (reference.inactive_company_statuses,),
            Enrichment.AGREEMENT: (reference.billing_options,),
        }
        for load in loads.get(kind, ()):
            _in_background(load())

    def prefetch_survey(self, survey_id: int) -> None:
        """Start loading a survey's questions, so they arrive with its first results page."""
        _in_background(self._reference.survey_max_points(survey_id))

    async def enrich(self, kind: Enrichment, records: list[Record]) -> Shortfall:
        """Attach what normalisation needs from reference data under `ENRICHMENT_KEY`."""
        short = Shortfall()
        if kind is Enrichment.NONE or not records:
            return short
        if kind is Enrichment.TICKET:
            await self._tickets(records, short)
        elif kind is Enrichment.TIME_ENTRY:
            await self._time_entries(records, short)
        elif kind is Enrichment.COMPANY:
            inactive = await self._reference.inactive_company_statuses()
            short.take(inactive)
            for record in records:
                extra: dict[str, Any] = {}
                if inactive.unavailable is None:
                    extra["statusInactive"] = ref_id(record, "status") in inactive.value
                record[ENRICHMENT_KEY] = extra
        elif kind is Enrichment.AGREEMENT:
            await self._agreements(records)
        elif kind is Enrichment.SURVEY_RESULT:
            await self._survey_results(records, short)
        return short

    async def _tickets(self, records: list[Record], short: Shortfall) -> None:
        levels = await self._reference.priority_levels()
        book = await self._reference.sla_book()
        short.take(levels)
        short.take(book)
        known: dict[tuple[int | None, int | None], dict[str, Any]] = {}
        for record in records:
            key = (ref_id(record, "sla"), ref_id(record, "priority"))
            extra = known.get(key)
            if extra is None:
                extra = known[key] = self._ticket_extra(levels.value, book.value, *key)
            record[ENRICHMENT_KEY] = dict(extra)

    @staticmethod
    def _ticket_extra(
        levels: dict[int, int], book: SlaBook, sla_id: int | None, priority_id: int | None
    ) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if priority_id is not None and priority_id in levels:
            extra["priorityLevel"] = levels[priority_id]
        targets = book.targets(sla_id, priority_id) if sla_id is not None else None
        if targets is not None:
            extra["respondHours"] = targets.respond_hours
            extra["resolutionHours"] = targets.resolution_hours
        return extra

    async def _time_entries(self, records: list[Record], short: Shortfall) -> None:
        owners = await self._reference.owner_company_ids()
        work_types = await self._reference.work_type_utilization()
        short.take(work_types)
        for record in records:
            extra: dict[str, Any] = {"ownerCompanyIds": owners}
            work_type_id = ref_id(record, "workType")
            if work_type_id is not None and work_type_id in work_types.value:
                extra["utilizationFlag"] = work_types.value[work_type_id]
            record[ENRICHMENT_KEY] = extra

    async def _survey_results(self, records: list[Record], short: Shortfall) -> None:
        for record in records:
            survey_id = record.get("surveyId")
            extra: dict[str, Any] = {"maxPoints": None}
            if isinstance(survey_id, int) and not isinstance(survey_id, bool):
                points = await self._reference.survey_max_points(survey_id)
                short.take(points)
                extra["maxPoints"] = points.value
                if points.unavailable is not None:
                    extra["questionsUnavailable"] = True
            record[ENRICHMENT_KEY] = extra

    async def _agreements(self, records: list[Record]) -> None:
        options = await self._reference.billing_options()

        async def additions_of(agreement_id: int) -> list[Record] | None:
            try:
                return await read_collection(
                    self._api,
                    f"/finance/agreements/{agreement_id}/additions",
                    fields=",".join(ADDITION_FIELDS),
                )
            except RecordGone:
                return None  # deleted since it was listed

        async def no_additions() -> list[Record]:
            return []

        cycles = [options.get(ref_id(record, "billingCycle") or -1) for record in records]
        agreement_ids = [record.get("id") for record in records]
        # ConnectWise has no list of all additions: one request per agreement, skipped where
        # the billing cycle does not recur (such an agreement has no amount anyway).
        additions = await asyncio.gather(
            *(
                additions_of(agreement_id)
                if cycle in CYCLE_FACTORS and isinstance(agreement_id, int)
                else no_additions()
                for agreement_id, cycle in zip(agreement_ids, cycles, strict=True)
            )
        )
        for record, cycle, rows in zip(records, cycles, additions, strict=True):
            record[ENRICHMENT_KEY] = {
                "billingOptions": cycle,
                "additions": rows or [],
                "gone": rows is None,
            }


def _in_background(load: Awaitable[Any]) -> None:
    task = asyncio.ensure_future(load)
    # Its failure is the enrichment's to report (it asks again): only mark it seen.
    task.add_done_callback(lambda done: done.cancelled() or done.exception())
