"""Per-parent streams: survey results, read once per survey (reference §6.7).

Cursor as in `passes.py`, plus `"parent_id"`: the survey being read (mid-pass only). One
pass covers every survey, surveys in id order, with one lower bound and one PSA clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from connectors.connectwise.passes import PassState, Window, resume_state
from connectors.connectwise.reference import read_collection
from connectors.connectwise.streams import STREAMS, CollectionRead
from connectors.connectwise.window_pages import PageSizer, record_id
from connectors.sdk import Cursor, Page

if TYPE_CHECKING:
    from connectors.connectwise.reader import ConnectWiseReader

STREAM = "survey_results"


async def read_per_parent(
    reader: ConnectWiseReader, plan: CollectionRead, cursor: Cursor | None, since: datetime | None
) -> AsyncIterator[Page]:
    assert plan.parent_resource is not None
    cursor_field = STREAMS[STREAM].cursor_field
    state = resume_state(cursor)
    resumed = state is not None
    if state is not None:
        parent_from = int(state.carry.pop("parent_id", 0) or 0)
    else:
        state = await reader.new_pass(STREAM, cursor, since)
        parent_from = 0
    surveys = await read_collection(reader.api, plan.parent_resource, fields="id")
    parents = sorted(
        found for row in surveys if (found := record_id(row)) is not None and found >= parent_from
    )
    sizer = PageSizer(reader.page_size)
    for position, parent_id in enumerate(parents):
        following = parents[position + 1] if position + 1 < len(parents) else None
        going_on = resumed and parent_id == parent_from
        if not going_on:
            state.windows = [Window(0, None)]
        state.carry["parent_id"] = parent_id
        if state.pass_since is None:  # a full pass: this survey's results will come
            reader.prefetch_survey(parent_id)
        async for page, page_cursor in reader.run_windows(
            plan,
            state,
            sizer,
            cursor_field=cursor_field,
            split=not going_on,
            resource=f"{plan.parent_resource}/{parent_id}{plan.resource}",
        ):
            if state.finished:  # this survey is done: the cursor moves to the next one
                state.carry.pop("parent_id", None)
                page_cursor = (
                    state.finished_cursor() if following is None else _at(state, following, 0)
                )
            if page.records or (following is None and state.finished):
                yield Page(records=page.records, cursor=page_cursor, warnings=page.warnings)
    if not parents:
        yield Page(records=(), cursor=state.finished_cursor())


def _at(state: PassState, parent_id: int, after_id: int) -> dict[str, Any]:
    """Mid-pass cursor of a per-parent stream: resume `parent_id` after `after_id`."""
    windows = [Window(after_id, None)]
    position = PassState(
        state.pass_since,
        state.pass_started,
        windows,
        psa_started=state.psa_started,
        seen_until=state.seen_until,
        degraded=state.degraded,
        carry=state.carry,
    )
    return position.to_cursor() | {"parent_id": parent_id}
