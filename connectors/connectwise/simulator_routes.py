"""Which collection answers a resource path, as one tenant serves it (see `TenantView`)."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from datetime import timedelta

from connectors.connectwise.simulator_catalog import (
    BILLING_CYCLES,
    COMPANY_STATUSES,
    SURVEY,
    SURVEY_ID,
    SURVEY_QUESTIONS,
    WORK_TYPES,
)
from connectors.connectwise.simulator_collections import (
    Collection,
    Json,
    StaticCollection,
    TenantView,
)
from connectors.connectwise.simulator_paging import Response, SimulatorFaults, error_response
from connectors.connectwise.simulator_render import WorldRenderer

_NESTED = re.compile(
    r"^/(service/boards|service/slas|finance/agreements|service/surveys)/(\d+)/(\w+)$"
)


class CollectionRoutes:
    def __init__(
        self, render: WorldRenderer, faults: SimulatorFaults, offset: Callable[[], timedelta]
    ) -> None:
        self.render = render
        self.faults = faults
        self.offset = offset

    def collection(self, base: str) -> Collection | None:
        """The collection at a lower-cased resource path, or None."""
        found = self._collection(base)
        if found is None:
            return None
        broken = {
            path.lower().rstrip("/"): records
            for path, records in self.faults.broken_records.items()
        }
        return TenantView(found, self.offset, broken.get(base))

    def record(self, resource: str, record_id: int) -> Json | None:
        """One record as `GET {resource}/{id}` answers it (None: 404)."""
        collection = self.collection(resource)
        answer = None if collection is None else detail(collection, record_id, resource)
        return answer.body if answer is not None and answer.status == 200 else None

    def _collection(self, base: str) -> Collection | None:
        render = self.render
        fixed: dict[str, Callable[[], Collection]] = {
            "/service/tickets": lambda: render.tickets,
            "/time/entries": lambda: render.time_entries,
            "/company/companies": lambda: render.companies,
            "/system/members": lambda: render.members,
            "/finance/agreements": lambda: render.agreements,
            "/company/companies/statuses": lambda: StaticCollection(list(COMPANY_STATUSES)),
            "/service/boards": lambda: StaticCollection(render.boards),
            "/service/priorities": lambda: StaticCollection(render.priorities()),
            "/service/slas": lambda: StaticCollection(render.slas()),
            "/time/worktypes": lambda: StaticCollection(list(WORK_TYPES)),
            "/finance/billingcycles": lambda: StaticCollection(list(BILLING_CYCLES)),
            "/service/surveys": lambda: StaticCollection([SURVEY]),
        }
        if base in fixed:
            return fixed[base]()
        nested = _NESTED.match(base)
        if nested is None:
            return None
        parent, parent_id, child = nested.group(1), int(nested.group(2)), nested.group(3)
        rows: list[Json] | None = None
        if parent == "service/boards" and child == "statuses":
            rows = render.board_statuses(parent_id) or None
        elif parent == "service/slas" and child == "priorities":
            rows = render.sla_priorities(parent_id)
        elif parent == "finance/agreements" and child == "additions":
            rows = render.additions(parent_id)
        elif parent == "service/surveys" and parent_id == SURVEY_ID:
            if child == "questions":
                rows = list(SURVEY_QUESTIONS)
            elif child == "results":
                return render.survey_results
        return None if rows is None else StaticCollection(rows)


def detail(collection: Collection, record_id: int, resource: str) -> Response:
    ids = collection.ids()
    position = bisect_right(ids, record_id) - 1
    record = collection.at(position) if position >= 0 and ids[position] == record_id else None
    if record is None:
        return error_response(404, "NotFound", f"Record {record_id} at {resource} was not found.")
    return Response(200, record)
