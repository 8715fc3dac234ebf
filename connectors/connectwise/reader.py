"""Reading ConnectWise streams as resumable pages (cursor contract in `passes.py`).

Requests: `conditions=lastUpdated >= [pass_since] and id > last_id [and id <= upto]`,
`orderBy=id asc`, page 1 of `pageSize` (1,000 by default), `fields` limited to what
normalisation needs; every filter is resent with every page. A first full backfill (no lower
bound) splits the id space into up to `concurrency` windows read side by side; incremental
passes are usually small and use one window: at most ⌈changed ÷ page⌉ + 1 requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from connectors.connectwise.api import ConnectWiseApi, PageSizer, PageTooLarge, RecordGone
from connectors.connectwise.config import ConnectWiseConfig
from connectors.connectwise.passes import (
    FetchWindow,
    PassState,
    Record,
    Window,
    WindowPage,
    finished_cursor,
    next_pass_since,
    resume_state,
    run_pass,
)
from connectors.connectwise.queries import all_of, changed_since, id_window
from connectors.connectwise.reference import (
    ENRICHMENT_KEY,
    ReferenceData,
    read_collection,
)
from connectors.connectwise.revenue import CYCLE_FACTORS
from connectors.connectwise.streams import (
    ADDITION_FIELDS,
    READS,
    STREAMS,
    CollectionRead,
    Enrichment,
)
from connectors.sdk import (
    ConnectorContext,
    Cursor,
    FatalError,
    Page,
    StreamMode,
)

log = structlog.get_logger(__name__)

SWEEP_PAGE_SIZE = 1000
# Splitting into windows only pays when the collection spans more pages than this.
MIN_PAGES_FOR_WINDOWS = 2


class ConnectWiseReader:
    def __init__(
        self,
        api: ConnectWiseApi,
        reference: ReferenceData,
        config: ConnectWiseConfig,
        context: ConnectorContext,
    ) -> None:
        self._api = api
        self._reference = reference
        self._config = config
        self._context = context
        self._survey_filter_supported = config.survey_results_support_last_updated

    @property
    def _lookback(self) -> timedelta:
        if self._config.lookback_minutes is not None:
            return timedelta(minutes=self._config.lookback_minutes)
        return self._context.lookback

    def _now(self) -> datetime:
        return self._context.now or datetime.now(UTC)

    @property
    def _concurrency(self) -> int:
        return max(1, min(self._config.concurrency, self._context.limits.max_concurrency))

    async def read(
        self, stream: str, cursor: Cursor | None, since: datetime | None
    ) -> AsyncIterator[Page]:
        spec = STREAMS.get(stream)
        if spec is None:
            raise FatalError(f"ConnectWise has no stream called '{stream}'.")
        plan = READS[stream]
        if plan.parent_resource is not None:
            async for page in self._read_per_parent(plan, cursor, since):
                yield page
            return
        sweep = spec.mode is StreamMode.ID_SWEEP
        page_size = SWEEP_PAGE_SIZE if sweep else self._config.page_size
        state = resume_state(cursor)
        if state is None:
            pass_since = None if sweep else next_pass_since(cursor, since, self._lookback)
            started = self._now()
            windows = await self._plan_windows(plan.resource, pass_since, page_size)
            state = PassState(pass_since, started, windows)
        fetch = self._window_fetcher(plan, state.pass_since, PageSizer(page_size))
        async for records, page_cursor in run_pass(state, fetch):
            if sweep:
                yield Page(records=(), cursor=page_cursor, seen_ids=[str(r["id"]) for r in records])
            else:
                yield Page(records=records, cursor=page_cursor)

    async def _plan_windows(
        self, resource: str, pass_since: datetime | None, page_size: int
    ) -> list[Window]:
        """One open window, or for a full read of a big collection, one per concurrency slot."""
        if pass_since is not None or self._concurrency == 1:
            return [Window(0, None)]
        top = await self._api.get_list(resource, fields="id", order_by="id desc", page_size=1)
        if not top:
            return [Window(0, None)]
        max_id = int(top[0]["id"])
        pages = -(-max_id // page_size)
        if pages <= MIN_PAGES_FOR_WINDOWS:
            return [Window(0, None)]
        # Windows span whole pages of ids, so with dense ids every page but the last is full
        # and a window ends on its upper bound without asking for an empty page.
        span = -(-pages // self._concurrency) * page_size
        windows = [Window(after, after + span) for after in range(0, max_id, span)]
        windows[-1].upto_id = None  # ids created during the pass land in the last window
        return windows

    def _window_fetcher(
        self, plan: CollectionRead, pass_since: datetime | None, sizer: PageSizer
    ) -> FetchWindow:
        """Fetches one page of an id window: every filter resent, enriched for normalize."""
        fields = ",".join(plan.fields)

        async def fetch(after_id: int, upto_id: int | None) -> WindowPage:
            while True:
                size = sizer.size
                try:
                    records = await self._api.get_list(
                        plan.resource,
                        conditions=all_of(changed_since(pass_since), id_window(after_id, upto_id)),
                        fields=fields,
                        order_by="id asc",
                        page_size=size,
                    )
                except PageTooLarge:
                    sizer.shrink(plan.resource)
                    continue
                records = await self._enrich(plan.enrichment, records)
                reached_end = bool(records) and upto_id is not None and records[-1]["id"] >= upto_id
                return WindowPage(records, exhausted=len(records) < size or reached_end)

        return fetch

    async def _read_per_parent(
        self, plan: CollectionRead, cursor: Cursor | None, since: datetime | None
    ) -> AsyncIterator[Page]:
        """Survey results: one keyset walk per survey, surveys in id order.

        Cursor as in `passes.py`, plus `"parent_id"`: the survey being read.
        """
        assert plan.parent_resource is not None
        state = resume_state(cursor)
        if state is not None and cursor is not None:
            parent_from = int(cursor.get("parent_id") or 0)
            after_id = state.windows[0].after_id if state.windows else 0
        else:
            state = PassState(next_pass_since(cursor, since, self._lookback), self._now(), [])
            parent_from, after_id = 0, 0
        parents = [
            int(row["id"])
            for row in await read_collection(self._api, plan.parent_resource, fields="id")
        ]
        parents = sorted(parent for parent in parents if parent >= parent_from)
        sizer = PageSizer(self._config.page_size)
        for position, parent_id in enumerate(parents):
            resource = f"{plan.parent_resource}/{parent_id}{plan.resource}"
            start = after_id if parent_id == parent_from else 0
            following = parents[position + 1] if position + 1 < len(parents) else None
            async for records, last_id, exhausted in self._walk_parent(
                resource, plan, state.pass_since, start, sizer
            ):
                if not exhausted:
                    page_cursor = _parent_cursor(state, parent_id, last_id)
                elif following is not None:
                    page_cursor = _parent_cursor(state, following, 0)
                else:
                    page_cursor = finished_cursor(state.pass_started)
                if records or (following is None and exhausted):
                    yield Page(records=records, cursor=page_cursor)
        if not parents:
            yield Page(records=(), cursor=finished_cursor(state.pass_started))

    async def _walk_parent(
        self,
        resource: str,
        plan: CollectionRead,
        pass_since: datetime | None,
        after_id: int,
        sizer: PageSizer,
    ) -> AsyncIterator[tuple[list[Record], int, bool]]:
        fields = ",".join(plan.fields)
        while True:
            size = sizer.size
            since_filter = changed_since(pass_since) if self._survey_filter_supported else None
            try:
                records = await self._api.get_list(
                    resource,
                    conditions=all_of(since_filter, id_window(after_id, None)),
                    fields=fields,
                    order_by="id asc",
                    page_size=size,
                )
            except PageTooLarge:
                sizer.shrink(resource)
                continue
            except FatalError as error:
                # Older versions may refuse lastUpdated on survey results (unconfirmed,
                # reference §6.7): read them whole instead.
                if since_filter is None or error.code != "psa_http_400":
                    raise
                log.info("connectwise_survey_filter_unsupported", resource=resource)
                self._survey_filter_supported = False
                continue
            records = await self._enrich(plan.enrichment, records)
            if records:
                after_id = int(records[-1]["id"])
            exhausted = len(records) < size
            yield records, after_id, exhausted
            if exhausted:
                return

    # -- enrichment -----------------------------------------------------------------------

    async def _enrich(self, kind: Enrichment, records: list[Record]) -> list[Record]:
        """Attach what normalisation needs from reference data under `ENRICHMENT_KEY`."""
        if kind is Enrichment.NONE or not records:
            return records
        if kind is Enrichment.TICKET:
            levels = await self._reference.priority_levels()
            book = await self._reference.sla_book()
            for record in records:
                priority_id = _ref_id(record, "priority")
                sla_id = _ref_id(record, "sla")
                extra: dict[str, Any] = {}
                if priority_id is not None and priority_id in levels:
                    extra["priorityLevel"] = levels[priority_id]
                targets = book.targets(sla_id, priority_id) if sla_id is not None else None
                if targets is not None:
                    extra["respondHours"] = targets.respond_hours
                    extra["resolutionHours"] = targets.resolution_hours
                record[ENRICHMENT_KEY] = extra
        elif kind is Enrichment.TIME_ENTRY:
            owners = await self._reference.owner_company_ids()
            work_types = await self._reference.work_type_utilization()
            for record in records:
                extra = {"ownerCompanyIds": owners}
                work_type_id = _ref_id(record, "workType")
                if work_type_id is not None and work_type_id in work_types:
                    extra["utilizationFlag"] = work_types[work_type_id]
                record[ENRICHMENT_KEY] = extra
        elif kind is Enrichment.COMPANY:
            inactive = await self._reference.inactive_company_statuses()
            for record in records:
                record[ENRICHMENT_KEY] = {"statusInactive": _ref_id(record, "status") in inactive}
        elif kind is Enrichment.AGREEMENT:
            await self._enrich_agreements(records)
        elif kind is Enrichment.SURVEY_RESULT:
            for record in records:
                survey_id = record.get("surveyId")
                points = (
                    await self._reference.survey_max_points(survey_id)
                    if isinstance(survey_id, int)
                    else None
                )
                record[ENRICHMENT_KEY] = {"maxPoints": points}
        return records

    async def _enrich_agreements(self, records: list[Record]) -> None:
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

        cycles = [options.get(_ref_id(record, "billingCycle") or -1) for record in records]
        # ConnectWise has no list of all additions: one request per agreement, skipped where
        # the billing cycle does not recur (such an agreement has no amount anyway).
        additions = await asyncio.gather(
            *(
                additions_of(int(record["id"])) if cycle in CYCLE_FACTORS else no_additions()
                for record, cycle in zip(records, cycles, strict=True)
            )
        )
        for record, cycle, rows in zip(records, cycles, additions, strict=True):
            record[ENRICHMENT_KEY] = {
                "billingOptions": cycle,
                "additions": rows or [],
                "gone": rows is None,
            }


def _parent_cursor(state: PassState, parent_id: int, after_id: int) -> dict[str, Any]:
    """Mid-pass cursor of a per-parent stream: resume `parent_id` after `after_id`."""
    position = PassState(state.pass_since, state.pass_started, [Window(after_id, None)])
    return position.to_cursor() | {"parent_id": parent_id}


def _ref_id(record: Record, key: str) -> int | None:
    ref = record.get(key)
    value = ref.get("id") if isinstance(ref, dict) else None
    return value if isinstance(value, int) else None
