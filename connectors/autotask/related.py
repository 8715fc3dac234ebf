"""Rows of other entities a page needs, fetched in as few requests as Autotask allows.

By values: `field in [...]`, at most 500 values a batch (the API's limit on OR'ed values);
by a range of parent ids: `field gt low and field lte high`, any number of parents a query;
or an entity whole (`READ_WHOLE`, few rows looked up often). Each query is walked by id
(`id gt last`) until a short page. Rows looked up by id come from the source's
`SourceDirectory` when it knows them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

from connectors.autotask.api import AutotaskApi
from connectors.autotask.directory import SourceDirectory
from connectors.autotask.fields import int_or_none, last_id_of
from connectors.autotask.query import MAX_RECORDS, Filter, condition, query_body
from connectors.sdk import FatalError

# Looked up by id often, and few: read whole (only the looked-up fields) on the first miss.
READ_WHOLE = frozenset({"Contracts"})
Records = list[dict[str, Any]]


def distinct_ids(values: Iterable[Any]) -> list[int]:
    """The whole-number values among `values`, distinct and ascending."""
    return sorted({v for v in (int_or_none(value) for value in values) if v is not None})


class RelatedRows:
    def __init__(self, api: AutotaskApi, directory: SourceDirectory) -> None:
        self._api = api
        self._directory = directory

    async def by_values(
        self, entity: str, field: str, values: Iterable[Any], include_fields: Sequence[str]
    ) -> Records:
        """All rows of `entity` whose `field` is one of `values`; by id, what the source's
        directory knows is not asked again."""
        wanted = distinct_ids(values)
        if field == "id" and self._directory.knows(entity):
            known, missing = self._directory.split(entity, wanted)
            if missing and entity in READ_WHOLE and entity not in self._directory.loaded_whole:
                self._directory.loaded_whole.add(entity)
                self._directory.note(entity, await self._walk(entity, [], include_fields))
                known, missing = self._directory.split(entity, wanted)
            fetched = await self.by_values_uncached(entity, field, missing, include_fields)
            self._directory.note(entity, fetched)
            return known + fetched
        return await self.by_values_uncached(entity, field, wanted, include_fields)

    async def by_values_uncached(
        self,
        entity: str,
        field: str,
        values: Iterable[Any],
        include_fields: Sequence[str],
        *,
        parts: int = 1,
    ) -> Records:
        """Like `by_values`; `parts` > 1 splits the values into that many batches at least,
        walked in parallel (for rows that run to many pages per value)."""
        wanted = distinct_ids(values)
        size = max(1, min(MAX_RECORDS, -(-len(wanted) // parts)))
        batches = [wanted[i : i + size] for i in range(0, len(wanted), size)]
        results = await asyncio.gather(
            *(
                self._walk(
                    entity,
                    [condition("in", field, batch)],
                    include_fields,
                    complete_at=len(batch) if field == "id" else None,
                )
                for batch in batches
            )
        )
        return [row for rows in results for row in rows]

    async def in_range(
        self, entity: str, field: str, low: int, high: int, include_fields: Sequence[str]
    ) -> Records:
        """All rows of `entity` whose `field` lies in (low, high]."""
        filters = [condition("gt", field, low), condition("lte", field, high)]
        return await self._walk(entity, filters, include_fields)

    async def _walk(
        self,
        entity: str,
        filters: Sequence[Filter],
        include_fields: Sequence[str],
        *,
        complete_at: int | None = None,
    ) -> Records:
        """Every matching row, page by page; `complete_at`: stop once that many rows came
        (ids are unique: a batch of ids is complete when each has come back)."""
        rows: Records = []
        after_id: int | None = None
        while True:
            body = query_body(filters, include_fields=include_fields, after_id=after_id)
            page = await self._api.query(entity, body)
            rows.extend(page)
            if len(page) < MAX_RECORDS or (complete_at is not None and len(rows) >= complete_at):
                return rows
            last = last_id_of(page)
            if last is None or (after_id is not None and last <= after_id):
                raise FatalError(
                    f"Autotask paging of {entity} did not move forward (after id {after_id}).",
                    code="psa_paging_loop",
                )
            after_id = last
