"""Per-source lookups that outlive one run: a ticket's company and assignee, a contract's
company, and the picklists.

Time entries and survey results need their ticket's company or assignee, which would cost a
batched Tickets query per page. The tickets stream sees every ticket first (streams run in
declaration order) and notes them here, so later streams only ask Autotask about tickets it
has not seen (deleted or merged ones). A directory lives as long as the source's
`RequestBudget`, the one object the runner keeps per source (`http_limits`); values are
compact tuples (about 100 bytes a ticket).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from weakref import WeakKeyDictionary

from connectors.autotask.fields import id_of
from connectors.sdk import RequestBudget

Row = dict[str, Any]


class SourceDirectory:
    """Rows by entity and id, holding only the fields each entity is looked up for."""

    def __init__(self, fields: Mapping[str, Sequence[str]]) -> None:
        self._fields = {entity: tuple(names) for entity, names in fields.items()}
        self._rows: dict[str, dict[int, tuple[Any, ...]]] = {entity: {} for entity in fields}
        self.loaded_whole: set[str] = set()  # entities read whole once (few rows)
        # Parsed picklists by entity, with when they were fetched (see `PicklistCache`).
        self.picklists: dict[str, tuple[float, Any]] = {}

    def knows(self, entity: str) -> bool:
        return entity in self._fields

    def note(self, entity: str, rows: Iterable[Mapping[str, Any]]) -> None:
        names, table = self._fields[entity], self._rows[entity]
        for row in rows:
            row_id = id_of(row)
            if row_id is not None:  # a row without an id cannot be looked up
                table[row_id] = tuple(row.get(name) for name in names)

    def split(self, entity: str, ids: Iterable[int]) -> tuple[list[Row], list[int]]:
        """(rows known here, ids to ask Autotask about)."""
        names, table = self._fields[entity], self._rows[entity]
        known: list[Row] = []
        missing: list[int] = []
        for row_id in ids:
            values = table.get(row_id)
            if values is None:
                missing.append(row_id)
            else:
                known.append({"id": row_id, **dict(zip(names, values, strict=True))})
        return known, missing


_DIRECTORIES: WeakKeyDictionary[RequestBudget, SourceDirectory] = WeakKeyDictionary()


def directory_for(budget: RequestBudget, fields: Mapping[str, Sequence[str]]) -> SourceDirectory:
    """The directory of the source whose budget this is (created on first use)."""
    directory = _DIRECTORIES.get(budget)
    if directory is None:
        directory = _DIRECTORIES[budget] = SourceDirectory(fields)
    return directory
