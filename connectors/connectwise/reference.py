"""Reference data normalisation needs, loaded once per connector and cached.

Priorities, SLAs (with their per-priority rows), work types, billing cycles, company statuses,
the MSP's own company and survey questions are not streams of their own: they produce no
facts, they are small (a handful of requests), and what a ticket, time entry or agreement
*means* depends on them. The reader loads them on first need and attaches what a record needs
to the record itself (see `ENRICHMENT_KEY`), so `normalize` stays pure.

Two kinds of table. *Enrich-only* tables (company statuses, priorities, SLAs, work types,
survey questions) add detail a record can be stored without: when ConnectWise will not serve
one (404, 403, a 400 from a version without it), the table loads as `Loaded.unavailable` with
a fallback value and a warning in plain words, the stream goes on, and the records are read
again once the table answers (see `passes.py`, "degraded"). *Required* tables (billing
cycles, the MSP's own company) decide what a record means, money or whose time it is: guessing
would store wrong facts, so their errors fail the stream and it is retried.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from connectors.connectwise.api import (
    ConnectWiseApi,
    NotPermitted,
    PageTooLarge,
    RecordGone,
)
from connectors.connectwise.config import ConnectWiseConfig
from connectors.connectwise.queries import all_of, condition_string, id_window
from connectors.connectwise.reference_cache import MISSING, ReferenceCache
from connectors.connectwise.reference_tables import (
    OWNER_TYPE,
    SlaBook,
    StageTargets,
    has_type,
    hours,
    max_points,
    priority_levels,
    ref_id,
)
from connectors.connectwise.window_pages import PageSizer, last_id, record_id
from connectors.sdk import FatalError

T = TypeVar("T")

# Key under which the reader attaches reference facts to a raw record.
ENRICHMENT_KEY = "_northstar"
# Statuses that mean "this PSA will not serve that table", not "try again later".
UNAVAILABLE_CODES = frozenset({"psa_http_400", "psa_http_405", "psa_http_410", "psa_http_501"})


@dataclass(frozen=True, slots=True)
class Unavailable:
    """An enrich-only table ConnectWise would not serve. `key` names it in cursors
    ("priorities", "survey_questions:1"); `warning` says the consequence in plain words."""

    key: str
    warning: str


@dataclass(frozen=True, slots=True)
class Loaded(Generic[T]):
    value: T
    unavailable: Unavailable | None = None


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
        size = sizer.size
        try:
            page = await api.get_list(
                resource,
                conditions=all_of(conditions, id_window(after_id, None)),
                child_conditions=child_conditions,
                fields=fields,
                order_by="id asc",
                page_size=size,
            )
        except PageTooLarge:
            sizer.shrink(resource)
            continue
        sizer.succeeded()
        records.extend(page)
        following = last_id(page)
        if len(page) < size or following is None or following <= after_id:
            return records
        after_id = following


def _status_of(error: Exception) -> str | None:
    """ "HTTP 404" when `error` says ConnectWise will not serve a table; None otherwise."""
    if isinstance(error, RecordGone):
        return "HTTP 404"
    if isinstance(error, NotPermitted):
        return "HTTP 403"
    if isinstance(error, FatalError) and error.code in UNAVAILABLE_CODES:
        return "HTTP " + error.code.rsplit("_", 1)[1]
    return None


def _ids(rows: list[dict[str, Any]]) -> list[int]:
    return [found for row in rows if (found := record_id(row)) is not None]


class ReferenceData:
    """Lazily loaded, cached reference tables of one tenant. Safe under concurrent use."""

    def __init__(
        self, api: ConnectWiseApi, config: ConnectWiseConfig, kept: ReferenceCache | None = None
    ) -> None:
        self._api = api
        self._config = config
        self._loads: dict[str, asyncio.Task[Any]] = {}
        # Kept between syncs of the source (`reference_cache`); None: this connector only.
        self._kept = kept or ReferenceCache()

    async def _once(self, key: str, load: Callable[[], Awaitable[T]]) -> T:
        kept = self._kept.get(key)
        if kept is not MISSING:
            return kept  # type: ignore[no-any-return]
        task = self._loads.get(key)
        if task is None or (task.done() and task.exception() is not None):
            task = asyncio.ensure_future(load())
            self._loads[key] = task
        result: T = await asyncio.shield(task)
        if not (isinstance(result, Loaded) and result.unavailable is not None):
            self._kept.put(key, result)
        return result

    async def _optional(
        self, key: str, what: str, consequence: str, load: Callable[[], Awaitable[T]], fallback: T
    ) -> Loaded[T]:
        """An enrich-only table: its value, or the fallback with a warning when ConnectWise
        will not serve it (cached like a success: asking again in this sync cannot help)."""

        async def guarded() -> Loaded[T]:
            try:
                return Loaded(await load())
            except (RecordGone, NotPermitted, FatalError) as error:
                status = _status_of(error)
                if status is None:
                    raise
                warning = f"ConnectWise did not answer for {what} ({status}): {consequence}"
                return Loaded(fallback, Unavailable(key, warning))

        return await self._once(key, guarded)

    async def available(self, key: str) -> bool:
        """Load the enrich-only table named `key` (as in `Unavailable.key`): does it answer?"""
        loaders: dict[str, Callable[[], Awaitable[Loaded[Any]]]] = {
            "company_statuses": self.inactive_company_statuses,
            "priorities": self.priority_levels,
            "slas": self.sla_book,
            "work_types": self.work_type_utilization,
        }
        if key.startswith("survey_questions:") and key.partition(":")[2].isdigit():
            return (await self.survey_max_points(int(key.partition(":")[2]))).unavailable is None
        loader = loaders.get(key)
        return loader is not None and (await loader()).unavailable is None

    async def priority_levels(self) -> Loaded[dict[int, int]]:
        """Priority id -> level 1..4, ranking priorities by their `sortOrder` (ties by id)."""

        async def load() -> dict[int, int]:
            rows = await read_collection(self._api, "/service/priorities", fields="id,sortOrder")
            return priority_levels(rows)

        return await self._optional(
            "priorities",
            "ticket priorities",
            "tickets are stored without a priority level (P1 to P4), so figures by priority "
            "leave them out until ConnectWise answers and they are read again.",
            load,
            {},
        )

    async def sla_book(self) -> Loaded[SlaBook]:
        async def load() -> SlaBook:
            slas = await read_collection(
                self._api, "/service/SLAs", fields="id,respondHours,resolutionHours"
            )
            defaults = {
                sla_id: StageTargets(
                    hours(sla.get("respondHours")), hours(sla.get("resolutionHours"))
                )
                for sla in slas
                if (sla_id := record_id(sla)) is not None
            }

            async def overrides_of(sla_id: int) -> list[dict[str, Any]]:
                try:
                    return await read_collection(
                        self._api,
                        f"/service/SLAs/{sla_id}/priorities",
                        fields="id,priority/id,respondHours,resolutionHours",
                    )
                except RecordGone:
                    return []  # removed since the SLAs were listed

            rows = await asyncio.gather(*(overrides_of(sla_id) for sla_id in defaults))
            overrides: dict[tuple[int, int], StageTargets] = {}
            for sla_id, sla_rows in zip(defaults, rows, strict=True):
                for row in sla_rows:
                    priority_id = ref_id(row, "priority")
                    if priority_id is not None:
                        overrides[(sla_id, priority_id)] = StageTargets(
                            hours(row.get("respondHours")), hours(row.get("resolutionHours"))
                        )
            return SlaBook(defaults, overrides)

        return await self._optional(
            "slas",
            "SLAs",
            "tickets are stored without SLA results (met or missed), so SLA figures leave them "
            "out until ConnectWise answers and they are read again.",
            load,
            SlaBook({}, {}),
        )

    async def work_type_utilization(self) -> Loaded[dict[int, bool]]:
        async def load() -> dict[int, bool]:
            rows = await read_collection(self._api, "/time/workTypes", fields="id,utilizationFlag")
            return {
                work_type: row.get("utilizationFlag") is not False
                for row in rows
                if (work_type := record_id(row)) is not None
            }

        return await self._optional(
            "work_types",
            "work types",
            "a time entry counts toward utilisation unless its own work type says otherwise; "
            "time entries are read again once ConnectWise answers.",
            load,
            {},
        )

    async def inactive_company_statuses(self) -> Loaded[frozenset[int]]:
        async def load() -> frozenset[int]:
            rows = await read_collection(
                self._api, "/company/companies/statuses", fields="id,inactiveFlag"
            )
            return frozenset(
                found
                for row in rows
                if row.get("inactiveFlag") is True and (found := record_id(row)) is not None
            )

        return await self._optional(
            "company_statuses",
            "company statuses",
            "a client counts as inactive only when its status is named 'Inactive'; clients "
            "are read again once ConnectWise answers.",
            load,
            frozenset(),
        )

    async def survey_max_points(self, survey_id: int) -> Loaded[float | None]:
        """Sum over the survey's questions of their highest option `points` (None: no points)."""

        async def load() -> float | None:
            questions = await read_collection(
                self._api, f"/service/surveys/{survey_id}/questions", fields="id,options"
            )
            return max_points(questions)

        return await self._optional(
            f"survey_questions:{survey_id}",
            f"the questions of survey {survey_id}",
            "its results cannot be scored, so they are set aside as rejected records and read "
            "again once ConnectWise answers.",
            load,
            None,
        )

    # -- required tables ------------------------------------------------------------------

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
                        child_conditions=f'types/name = "{OWNER_TYPE}"',
                    )
                except FatalError as error:
                    if error.code != "psa_http_400":
                        raise
                    # A version that refuses the array filter: look at every company's types.
                    every = await read_collection(
                        self._api, "/company/companies", fields="id,types"
                    )
                    rows = [row for row in every if has_type(row, OWNER_TYPE)]
            return sorted(_ids(rows))

        return await self._once("owner", load)

    async def billing_options(self) -> dict[int, str]:
        """Billing cycle id -> its `billingOptions` (Monthly, Quarterly, NotRecurring, ...)."""

        async def load() -> dict[int, str]:
            rows = await read_collection(
                self._api, "/finance/billingCycles", fields="id,billingOptions"
            )
            return {
                cycle: str(row["billingOptions"])
                for row in rows
                if row.get("billingOptions") and (cycle := record_id(row)) is not None
            }

        return await self._once("billing_cycles", load)
