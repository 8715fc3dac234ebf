"""Reading ConnectWise streams as resumable pages (cursor contract in `passes.py`).

Requests: `conditions=lastUpdated >= [pass_since] [and id <= upto]`, forward-only paging from
`pageId` where the PSA offers it (else page 1 with `id > last_id` and `orderBy=id asc`, see
`window_pages.py`), `pageSize` 1,000 by default, `fields` limited to what normalisation needs;
every filter is resent with every page.

A new pass reads its first page alone, the navigable way: a short one is the whole pass (one
request for a small collection or a quiet incremental pass), and its `Link` says how many
pages follow. With more than one to come, the rest is split into up to `concurrency` windows
of equal expected size (by the first page's id density, so ids that start at 184,000 still
fill every window) read side by side; only when the `Link` is missing does one `orderBy=id
desc` request find the highest id to plan them. The windows' first pages are asked for while
the first page is stored. A full pass starts loading its reference tables (a survey's
questions included) with the first page.

Agreements: every `agreement_additions_refresh_hours` a pass reads every agreement still in
force with its additions, whatever its `lastUpdated` says (ConnectWise may change an addition
without touching its agreement; cursor key `additions_read_at`).

Id sweeps are never resumed; one given `{"id_range": [low, high]}` (a slice of a rolling
sweep) reads the one window `(low - 1, high - 1]` (`id > low - 1 and id <= high - 1`), split
like any pass within it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from math import ceil
from typing import Any

import structlog

from connectors.connectwise.api import ConnectWiseApi, PageTooLarge
from connectors.connectwise.config import ConnectWiseConfig
from connectors.connectwise.enrich import Enricher
from connectors.connectwise.parent_reads import read_per_parent
from connectors.connectwise.passes import (
    FetchWindow,
    PassState,
    Record,
    Window,
    WindowPage,
    advance,
    degraded_of,
    lower_bound,
    newest_stamp,
    next_pass_since,
    parse_cursor_time,
    resume_state,
    run_pass,
)
from connectors.connectwise.queries import changed_since
from connectors.connectwise.reference import ReferenceData
from connectors.connectwise.revenue import in_force_until
from connectors.connectwise.streams import READS, STREAMS, CollectionRead
from connectors.connectwise.window_pages import (
    PageSizer,
    PagingModes,
    fetch_window_page,
    record_id,
)
from connectors.sdk import ConnectorContext, Cursor, FatalError, Page, StreamMode
from connectors.sdk.paging import PrimedFetch, sweep_id_range

log = structlog.get_logger(__name__)

SWEEP_PAGE_SIZE = 1000
AGREEMENTS = "agreements"


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
        self._enricher = Enricher(api, reference)
        self._config = config
        self._context = context
        self._modes = PagingModes(enabled=config.forward_only_paging)
        self.survey_filter_supported = config.survey_results_support_last_updated

    @property
    def api(self) -> ConnectWiseApi:
        return self._api

    def prefetch_survey(self, survey_id: int) -> None:
        self._enricher.prefetch_survey(survey_id)

    @property
    def page_size(self) -> int:
        return self._config.page_size

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
            async for page in read_per_parent(self, plan, cursor, since):
                yield page
            return
        sweep = spec.mode is StreamMode.ID_SWEEP
        page_size = SWEEP_PAGE_SIZE if sweep else self._config.page_size
        state = resume_state(cursor)
        fresh = state is None
        if state is None:
            state = await self.new_pass(stream, cursor, None if sweep else since, sweep=sweep)
            if sweep:
                state.windows = [_slice_window(cursor)]
        if state.pass_since is None:
            self._enricher.prefetch(plan.enrichment)  # a full pass: its records will come
        sizer = PageSizer(page_size)

        def page_of(window_page: WindowPage, page_cursor: dict[str, Any]) -> Page:
            if sweep:
                ids = [
                    str(found) for r in window_page.records if (found := record_id(r)) is not None
                ]
                return Page(records=(), cursor=page_cursor, seen_ids=ids)
            return Page(
                records=window_page.records, cursor=page_cursor, warnings=window_page.warnings
            )

        async for window_page, page_cursor in self.run_windows(
            plan, state, sizer, cursor_field=spec.cursor_field, split=fresh
        ):
            yield page_of(window_page, page_cursor)

    async def run_windows(
        self,
        plan: CollectionRead,
        state: PassState,
        sizer: PageSizer,
        *,
        cursor_field: str | None,
        split: bool,
        resource: str | None = None,
    ) -> AsyncIterator[tuple[WindowPage, dict[str, Any]]]:
        """The pass's pages with their cursors. With `split` (a new pass), the first page is
        read alone: short, it is the whole pass; full, it tells how dense the ids are (and
        its Link how many pages follow), so the rest is split into evenly filled windows."""
        resource = resource or plan.resource
        split = split and self._concurrency > 1
        fetch = self.window_fetcher(
            plan, state, sizer, cursor_field=cursor_field, resource=resource, classic_first=split
        )
        if not split:
            async for item in run_pass(state, fetch, cursor_field=cursor_field):
                yield item
            return
        window = state.windows[0]
        first = await fetch(window.after_id, window.upto_id)
        advance(window, first)
        state.note(first, cursor_field)
        if not window.done:
            state.windows = await self._split(resource, state, first, sizer.limit)
        # The windows' first pages are asked for now: they come while the first is stored.
        primed = PrimedFetch(fetch, [(w.after_id, w.upto_id) for w in state.windows if not w.done])
        try:
            yield first, state.to_cursor()
            if not state.finished:
                async for item in run_pass(state, primed, cursor_field=cursor_field):
                    yield item
        finally:
            await primed.close()

    async def new_pass(
        self, stream: str, cursor: Cursor | None, since: datetime | None, *, sweep: bool = False
    ) -> PassState:
        """A new pass after `cursor`'s: its lower bound, lowered again for reference tables
        that answer again after records were read without them."""
        started = self._now()
        pass_since = None if sweep else next_pass_since(cursor, since, self._lookback)
        degraded = degraded_of(cursor)
        for key in list(degraded):
            if await self._reference.available(key):
                pass_since = lower_bound(pass_since, degraded.pop(key))
                log.info("connectwise_reference_back", stream=stream, table=key)
        state = PassState(pass_since, started, [Window(0, None)], degraded=degraded)
        if stream == AGREEMENTS:
            self._schedule_additions(state, cursor)
        return state

    def _schedule_additions(self, state: PassState, cursor: Cursor | None) -> None:
        """Make this agreements pass a whole one when the additions are due again."""
        read_at = parse_cursor_time(cursor.get("additions_read_at")) if cursor else None
        every = timedelta(hours=self._config.agreement_additions_refresh_hours)
        due = read_at is None or state.pass_started - read_at >= every
        if state.pass_since is not None and due:
            state.whole = True
        if state.pass_since is None or due:
            read_at = state.pass_started
        assert read_at is not None
        state.carry["additions_read_at"] = read_at.astimezone(UTC).isoformat()

    async def _split(
        self, resource: str, state: PassState, first: WindowPage, page_size: int
    ) -> list[Window]:
        """Windows over the ids after the first page, by its density: ids may start high
        (184,000) or be sparse (a filtered pass) and still fill each window alike."""
        after, upto = state.windows[0].after_id, state.windows[0].upto_id
        rest = [Window(after, upto)]
        ids = [found for record in first.records if (found := record_id(record)) is not None]
        if first.last_page is not None and first.last_page <= 2:
            return rest  # one more page at most: nothing to split, no request to plan it
        if not ids:
            return rest
        ids_per_record = max(1.0, (after - ids[0] + 1) / len(ids))
        if first.last_page is not None:
            # The navigable answer told how many pages follow: no request to plan them, the
            # highest id is expected where the first page's density puts it (the last,
            # open window reads whatever lies beyond).
            expected_pages = first.last_page - 1
            highest = after + round(expected_pages * len(first.records) * ids_per_record)
            if upto is not None:
                highest = min(highest, upto)
        else:
            found = await self._highest_id(resource, state)
            if found is None or found <= after:
                return rest
            highest = found if upto is None else min(found, upto)
            expected_pages = ceil((highest - after) / ids_per_record / page_size)
        windows = min(self._concurrency, expected_pages)
        if windows <= 1 or highest <= after:
            return rest
        # Whole pages of ids per window: with dense ids every page but a window's last is
        # full, and a window ends on its upper bound without asking for an empty page.
        span = max(1, round(ceil(expected_pages / windows) * page_size * ids_per_record))
        split = [Window(low, low + span) for low in range(after, highest, span)]
        # Ids created during the pass land in the last window (open unless the pass is one
        # slice of a sweep's ids).
        split[-1].upto_id = upto
        return split

    async def _highest_id(self, resource: str, state: PassState) -> int | None:
        """The highest id the pass will read (one request), None when unknown."""
        try:
            top = await self._api.get_list(
                resource,
                conditions=changed_since(None if state.whole else state.pass_since),
                fields="id",
                order_by="id desc",
                page_size=1,
            )
        except PageTooLarge:
            return None  # ConnectWise keeps timing out on it: read the rest in one window
        return record_id(top[0]) if top else None

    def window_fetcher(
        self,
        plan: CollectionRead,
        state: PassState,
        sizer: PageSizer,
        *,
        cursor_field: str | None,
        resource: str | None = None,
        classic_first: bool = False,
    ) -> FetchWindow:
        """Fetches one page of an id window of `resource` (default: the plan's): every
        filter resent, records enriched for normalize. `classic_first`: the first page is
        asked for the navigable way, whose `Link` tells how many pages there are."""
        fields = ",".join(plan.fields)
        resource = resource or plan.resource
        today = state.pass_started.date()
        classic = classic_first

        async def fetch(after_id: int, upto_id: int | None) -> WindowPage:
            nonlocal classic
            first_classic, classic = classic, False
            since = state.pass_since
            filtered = since is not None and not state.whole
            if plan.parent_resource is not None and not self.survey_filter_supported:
                filtered = False
            try:
                page = await fetch_window_page(
                    self._api,
                    resource,
                    fields=fields,
                    conditions=changed_since(since) if filtered else None,
                    after_id=after_id,
                    upto_id=upto_id,
                    sizer=sizer,
                    modes=self._modes,
                    classic=first_classic,
                )
            except FatalError as error:
                # Older versions may refuse lastUpdated on survey results (unconfirmed,
                # reference §6.7): read them whole instead.
                if not filtered or plan.parent_resource is None or error.code != "psa_http_400":
                    raise
                log.info("connectwise_survey_filter_unsupported", resource=resource)
                self.survey_filter_supported = False
                return await fetch(after_id, upto_id)
            records = page.records
            if state.whole and since is not None:
                records = [r for r in records if _still_counts(r, since, today, cursor_field)]
            short = await self._enricher.enrich(plan.enrichment, records)
            return dataclasses.replace(
                page,
                records=records,
                warnings=tuple(short.warnings),
                degraded=tuple(short.keys),
            )

        return fetch


def _slice_window(cursor: Cursor | None) -> Window:
    """The one window of an id sweep's pass: every id, or the slice `[low, high)` asked for."""
    low, high = sweep_id_range(cursor)
    return Window(0 if low is None else low - 1, None if high is None else high - 1)


def _still_counts(record: Record, since: datetime, today: date, cursor_field: str | None) -> bool:
    """In a whole agreements pass: changed since the pass's bound, or still in force."""
    changed = newest_stamp([record], cursor_field)
    if changed is None or changed >= since:
        return True
    stops = in_force_until(record)
    return stops is None or stops > today
