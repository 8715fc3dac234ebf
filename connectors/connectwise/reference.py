"""Reference data normalisation needs, loaded once per connector and cached.

Priorities, SLAs (with their per-priority rows), work types, billing cycles, company statuses,
the MSP's own company and survey questions are not streams of their own: they produce no
facts, they are small (a handful of requests), and what a ticket, time entry or agreement
*means* depends on them. The reader loads them on first need and attaches what a record needs
to the record itself (see `ENRICHMENT_KEY`), so `normalize` stays pure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from connectors.connectwise.api import ConnectWiseApi, PageSizer, PageTooLarge, RecordGone
from connectors.connectwise.config import ConnectWiseConfig
from connectors.connectwise.queries import all_of, condition_string, id_window
from connectors.sdk import FatalError

T = TypeVar("T")

# Key under which the reader attaches reference facts to a raw record.
ENRICHMENT_KEY = "_northstar"
PRIORITY_LEVELS = 4
OWNER_TYPE = "Owner"  # the company type ConnectWise gives the MSP's own company
# The smallest page worth asking for after ConnectWise timed out on bigger ones.
MIN_PAGE_SIZE = 25  # P1..P4: the first three by urgency, all others P4 (docs/kpis.md §1)


@dataclass(frozen=True, slots=True)
class StageTargets:
    respond_hours: float | None
    resolution_hours: float | None


@dataclass(frozen=True, slots=True)
class SlaBook:
    """Each SLA's own targets and its per-priority overrides."""

    defaults: dict[int, StageTargets]
    overrides: dict[tuple[int, int], StageTargets]

    def targets(self, sla_id: int, priority_id: int | None) -> StageTargets | None:
        """Stage targets of a ticket; an override's empty stage keeps the SLA's own target."""
        default = self.defaults.get(sla_id)
        if default is None:
            return None
        override = self.overrides.get((sla_id, priority_id)) if priority_id is not None else None
        if override is None:
            return default
        return StageTargets(
            respond_hours=_first(override.respond_hours, default.respond_hours),
            resolution_hours=_first(override.resolution_hours, default.resolution_hours),
        )


def _first(*values: float | None) -> float | None:
    return next((value for value in values if value is not None), None)


def _hours(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _has_type(company: dict[str, Any], name: str) -> bool:
    types = company.get("types") or []
    return any(isinstance(kind, dict) and kind.get("name") == name for kind in types)


def _ref_id(record: dict[str, Any], key: str) -> int | None:
    ref = record.get(key)
    value = ref.get("id") if isinstance(ref, dict) else None
    return int(value) if isinstance(value, int) else None


async def read_collection(
    api: ConnectWiseApi,
    resource: str,
    *,
    fields: str,
    conditions: str | None = None,
    child_conditions: str | None = None,
) -> list[dict[str, Any]]:
    """Every record of a small collection, by id keyset pages of 1,000."""
    records: list[dict[str, Any]] = []
    after_id = 0
    sizer = PageSizer(1000)
    while True:
        try:
            page = await api.get_list(
                resource,
                conditions=all_of(conditions, id_window(after_id, None)),
                child_conditions=child_conditions,
                fields=fields,
                order_by="id asc",
                page_size=sizer.size,
            )
        except PageTooLarge:
            sizer.shrink(resource)
            continue
        records.extend(page)
        if len(page) < sizer.size:
            return records
        after_id = int(page[-1]["id"])


class ReferenceData:
    """Lazily loaded, cached reference tables of one tenant. Safe under concurrent use."""

    def __init__(self, api: ConnectWiseApi, config: ConnectWiseConfig) -> None:
        self._api = api
        self._config = config
        self._loads: dict[str, asyncio.Task[Any]] = {}

    async def _once(self, key: str, load: Callable[[], Awaitable[T]]) -> T:
        task = self._loads.get(key)
        if task is None or (task.done() and task.exception() is not None):
            task = asyncio.ensure_future(load())
            self._loads[key] = task
        result: T = await asyncio.shield(task)
        return result

    async def priority_levels(self) -> dict[int, int]:
        """Priority id -> level 1..4, ranking priorities by their `sortOrder` (ties by id)."""

        async def load() -> dict[int, int]:
            rows = await read_collection(self._api, "/service/priorities", fields="id,sortOrder")
            ranked = sorted(
                rows,
                key=lambda row: (
                    row.get("sortOrder") if isinstance(row.get("sortOrder"), int) else 1 << 30,
                    int(row["id"]),
                ),
            )
            return {
                int(row["id"]): min(rank, PRIORITY_LEVELS)
                for rank, row in enumerate(ranked, start=1)
            }

        return await self._once("priorities", load)

    async def sla_book(self) -> SlaBook:
        async def load() -> SlaBook:
            slas = await read_collection(
                self._api, "/service/SLAs", fields="id,respondHours,resolutionHours"
            )
            defaults = {
                int(sla["id"]): StageTargets(
                    _hours(sla.get("respondHours")), _hours(sla.get("resolutionHours"))
                )
                for sla in slas
            }

            async def overrides_of(sla_id: int) -> list[dict[str, Any]]:
                try:
                    return await read_collection(
                        self._api,
                        f"/service/SLAs/{sla_id}/priorities",
                        fields="id,priority/id,respondHours,resolutionHours",
                    )
                except RecordGone:
                    return []

            rows = await asyncio.gather(*(overrides_of(sla_id) for sla_id in defaults))
            overrides: dict[tuple[int, int], StageTargets] = {}
            for sla_id, sla_rows in zip(defaults, rows, strict=True):
                for row in sla_rows:
                    priority_id = _ref_id(row, "priority")
                    if priority_id is not None:
                        overrides[(sla_id, priority_id)] = StageTargets(
                            _hours(row.get("respondHours")), _hours(row.get("resolutionHours"))
                        )
            return SlaBook(defaults, overrides)

        return await self._once("slas", load)

    async def work_type_utilization(self) -> dict[int, bool]:
        async def load() -> dict[int, bool]:
            rows = await read_collection(self._api, "/time/workTypes", fields="id,utilizationFlag")
            return {int(row["id"]): row.get("utilizationFlag") is not False for row in rows}

        return await self._once("work_types", load)

    async def owner_company_ids(self) -> list[int]:
        """The MSP's own company: the configured identifier, else companies typed "Owner"."""

        async def load() -> list[int]:
            identifier = self._config.owner_company_identifier
            if identifier:
                rows = await read_collection(
                    self._api,
                    "/company/companies",
                    fields="id",
                    conditions=f"identifier = {condition_string(identifier)}",
                )
            else:
                try:
                    rows = await read_collection(
                        self._api,
                        "/company/companies",
                        fields="id",
                        child_conditions='types/name = "Owner"',
                    )
                except FatalError as error:
                    if error.code != "psa_http_400":
                        raise
                    # A version that refuses the array filter: look at every company's types.
                    every = await read_collection(
                        self._api, "/company/companies", fields="id,types"
                    )
                    rows = [row for row in every if _has_type(row, OWNER_TYPE)]
            return sorted(int(row["id"]) for row in rows)

        return await self._once("owner", load)

    async def billing_options(self) -> dict[int, str]:
        """Billing cycle id -> its `billingOptions` (Monthly, Quarterly, NotRecurring, ...)."""

        async def load() -> dict[int, str]:
            rows = await read_collection(
                self._api, "/finance/billingCycles", fields="id,billingOptions"
            )
            return {
                int(row["id"]): str(row["billingOptions"])
                for row in rows
                if row.get("billingOptions")
            }

        return await self._once("billing_cycles", load)

    async def inactive_company_statuses(self) -> frozenset[int]:
        async def load() -> frozenset[int]:
            rows = await read_collection(
                self._api, "/company/companies/statuses", fields="id,inactiveFlag"
            )
            return frozenset(int(row["id"]) for row in rows if row.get("inactiveFlag") is True)

        return await self._once("company_statuses", load)

    async def survey_max_points(self, survey_id: int) -> float | None:
        """Sum over the survey's questions of their highest option `points` (None: no points)."""

        async def load() -> float | None:
            questions = await read_collection(
                self._api, f"/service/surveys/{survey_id}/questions", fields="id,options"
            )
            total = 0.0
            for question in questions:
                options = question.get("options") or []
                points = [
                    float(option["points"])
                    for option in options
                    if isinstance(option, dict) and isinstance(option.get("points"), int | float)
                ]
                if points:
                    total += max(points)
            return total or None

        return await self._once(f"survey:{survey_id}", load)
