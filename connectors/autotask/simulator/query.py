"""The simulator's query engine: Autotask filters over one entity's rows, sorted by id.

All 13 field operators and nested `and`/`or` groups; field names are matched
case-insensitively; an unknown field is the API's HTTP 500. Like the real API, a string
compared with a numeric field matches nothing. Rows are found without scanning when the
filter allows it: `id gt/gte` bisects, `id in`/`eq` and `<x>ID in`/`eq` use indexes, and so
do `<x>ID gt/gte/lt/lte` (a range of parent ids).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

Row = tuple[Any, ...]  # values in the entity's field order; `id` first
Predicate = Callable[[Row], bool]

OPERATORS = (
    "eq",
    "noteq",
    "gt",
    "gte",
    "lt",
    "lte",
    "beginswith",
    "endswith",
    "contains",
    "exist",
    "notexist",
    "in",
    "notin",
)
# `in` batches whose matching positions are kept (see `EntityTable._positions_of`).
IN_BATCHES_KEPT = 32
_NUMERIC = ("long", "integer", "double", "decimal", "short")


class QueryError(Exception):
    """A query the API refuses (HTTP 500 with `{"errors": [message]}`)."""


def _coerce(kind: str, value: Any) -> Any:
    """A filter value as the field's Python type; `_NO_MATCH` when it can never match."""
    if value is None:
        return None
    if kind in ("datetime", "date"):
        if not isinstance(value, str):
            raise QueryError(f"Invalid datetime value: {value!r}")
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise QueryError(f"Invalid datetime value: {value!r}") from exc
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if kind in _NUMERIC:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return _NO_MATCH  # "numbers as strings match nothing" (long ids vs strings)
        return value
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise QueryError(f"Invalid boolean value: {value!r}")
    return str(value)


class _NoMatch:
    pass


_NO_MATCH = _NoMatch()


def _fold(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _compare(op: str, actual: Any, wanted: Any) -> bool:
    if wanted is _NO_MATCH:
        return op in ("noteq", "notin")
    if op == "eq":
        return actual is not None and _fold(actual) == _fold(wanted)
    if op == "noteq":
        return actual is None or _fold(actual) != _fold(wanted)
    if op in ("in", "notin"):  # `wanted` is a frozenset, folded once when compiled
        hit = actual is not None and _fold(actual) in wanted
        return hit if op == "in" else not hit
    if actual is None or wanted is None:
        return False
    if op in ("beginswith", "endswith", "contains"):
        text, part = str(actual).lower(), str(wanted).lower()
        if op == "beginswith":
            return text.startswith(part)
        return text.endswith(part) if op == "endswith" else part in text
    if op == "gt":
        return bool(actual > wanted)
    if op == "gte":
        return bool(actual >= wanted)
    if op == "lt":
        return bool(actual < wanted)
    return bool(actual <= wanted)


class EntityTable:
    """One entity's rows (sorted by id) with the lookups queries need.

    Rows are tuples in the order of `fields` (`id` first): a few hundred thousand records
    then take a fraction of the memory dicts would."""

    def __init__(self, entity: str, fields: Mapping[str, str], rows: list[Row]) -> None:
        self.entity = entity
        self.fields = dict(fields)
        self.columns = {name: index for index, name in enumerate(self.fields)}
        self.rows = rows
        self.ids = [int(row[0]) for row in rows]
        self._position = {row_id: i for i, row_id in enumerate(self.ids)}
        self._names = {name.lower(): name for name in fields}
        self._indexes: dict[str, dict[Any, list[int]]] = {}
        self._sorted: dict[str, tuple[list[Any], list[int]]] = {}
        self._in_batches: dict[tuple[str, frozenset[int]], list[int]] = {}
        # How rows of this table are sent per field list (`responses.project` keeps it).
        self.projections: dict[tuple[str, ...] | None, Any] = {}

    def field(self, name: object) -> str:
        """The canonical name of a field (case-insensitive); QueryError when unknown."""
        canonical = self._names.get(str(name).lower())
        if canonical is None:
            raise QueryError(f"Unable to find {name} in the {self.entity} Entity.")
        return canonical

    def compile(self, items: Sequence[Mapping[str, Any]], *, any_of: bool = False) -> Predicate:
        """A predicate for filter items, ANDed (or ORed for an `or` group)."""
        parts = [self._compile_one(item) for item in items]
        if any_of:
            return lambda row: any(part(row) for part in parts)
        return lambda row: all(part(row) for part in parts)

    def _compile_one(self, item: Mapping[str, Any]) -> Predicate:
        keys = {str(k).lower(): v for k, v in item.items()}
        op = str(keys.get("op", "")).lower()
        if op in ("and", "or"):
            return self.compile(keys.get("items") or [], any_of=op == "or")
        if op not in OPERATORS:
            raise QueryError(f"Invalid filter operator: {keys.get('op')!r}")
        if keys.get("udf"):
            return lambda row: False  # the simulated tenant has no user-defined fields
        name = self.field(keys.get("field"))
        kind = self.fields[name]
        if op in ("exist", "notexist"):
            present = op == "exist"
            column = self.columns[name]
            return lambda row: (row[column] is not None) is present
        raw = keys.get("value")
        if op in ("in", "notin"):
            if not isinstance(raw, list):
                raise QueryError(f"The {op} operator needs a list of values for {name}.")
            coerced = (_coerce(kind, v) for v in raw)
            wanted: Any = frozenset(_fold(v) for v in coerced if v is not _NO_MATCH)
        else:
            wanted = _coerce(kind, raw)
        column = self.columns[name]
        return lambda row: _compare(op, row[column], wanted)

    def _index(self, name: str) -> dict[Any, list[int]]:
        if name not in self._indexes:
            index: dict[Any, list[int]] = {}
            column = self.columns[name]
            for position, row in enumerate(self.rows):
                index.setdefault(row[column], []).append(position)
            self._indexes[name] = index
        return self._indexes[name]

    def _positions_of(self, name: str, values: frozenset[int]) -> list[int]:
        """Positions (ascending) of rows whose reference field `name` is one of `values`.

        Kept for the last few value sets: a client pages through one `in` batch page after
        page, and sorting its rows again for every page was most of a page's time."""
        key = (name, values)
        if key not in self._in_batches:
            if len(self._in_batches) >= IN_BATCHES_KEPT:
                self._in_batches.pop(next(iter(self._in_batches)))
            index = self._index(name)
            self._in_batches[key] = sorted(p for v in values for p in index.get(v, ()))
        return self._in_batches[key]

    def _sorted_index(self, name: str) -> tuple[list[Any], list[int]]:
        """(values ascending, their positions) of a reference field's non-null values."""
        if name not in self._sorted:
            column = self.columns[name]
            pairs = sorted(
                (row[column], position)
                for position, row in enumerate(self.rows)
                if isinstance(row[column], int)
            )
            self._sorted[name] = ([v for v, _ in pairs], [p for _, p in pairs])
        return self._sorted[name]

    def _reference_range(self, items: Sequence[Mapping[str, Any]]) -> list[int] | None:
        """Positions (ascending) of rows whose `<x>ID` lies in the range that top-level
        `gt/gte/lt/lte` items on one such field give; None when no item does."""
        bounds: dict[str, list[float]] = {}
        for item in items:
            keys = {str(k).lower(): v for k, v in item.items()}
            op, value = str(keys.get("op", "")).lower(), keys.get("value")
            name = self._names.get(str(keys.get("field")).lower())
            if (
                op not in ("gt", "gte", "lt", "lte")
                or keys.get("udf")
                or name is None
                or name == "id"
                or not name.endswith("ID")
                or isinstance(value, bool)
                or not isinstance(value, int | float)
            ):
                continue
            low, high = bounds.setdefault(name, [-math.inf, math.inf])
            if op in ("gt", "gte"):
                bounds[name][0] = max(low, value + (0.5 if op == "gt" else 0))
            else:
                bounds[name][1] = min(high, value - (0.5 if op == "lt" else 0))
        if not bounds:
            return None
        name, (low, high) = next(iter(bounds.items()))
        values, positions = self._sorted_index(name)
        first, last = bisect.bisect_left(values, low), bisect.bisect_right(values, high)
        return sorted(positions[first:last])

    def _candidates(self, items: Sequence[Mapping[str, Any]], after_id: int) -> Iterator[int]:
        """Positions that may match, ascending, narrowed by the first indexable item."""
        start = bisect.bisect_right(self.ids, after_id)
        in_range = self._reference_range(items)
        if in_range is not None:
            return (p for p in in_range[bisect.bisect_left(in_range, start) :])
        for item in items:
            keys = {str(k).lower(): v for k, v in item.items()}
            op = str(keys.get("op", "")).lower()
            if op not in ("eq", "in") or keys.get("udf"):
                continue
            name = self._names.get(str(keys.get("field")).lower())
            if name is None or not (name == "id" or name.endswith("ID")):
                continue
            values = keys.get("value") if op == "in" else [keys.get("value")]
            if not isinstance(values, list):
                continue
            numbers = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
            if name == "id":
                found = (self._position.get(v) for v in numbers)
                positions: list[int] = sorted(p for p in found if p is not None)
            else:
                positions = self._positions_of(name, frozenset(numbers))
            return iter(positions[bisect.bisect_left(positions, start) :])
        end = bisect.bisect_right(self.ids, self.upper_bound(items))
        return iter(range(start, end))

    def lower_bound(self, items: Sequence[Mapping[str, Any]]) -> int:
        """The id after which matches can start, from top-level `id gt`/`gte` items."""
        bound = -(2**63)
        for item in items:
            keys = {str(k).lower(): v for k, v in item.items()}
            if str(keys.get("field", "")).lower() != "id":
                continue
            value, op = keys.get("value"), str(keys.get("op", "")).lower()
            if isinstance(value, int | float) and not isinstance(value, bool):
                if op == "gt":
                    bound = max(bound, int(value))
                elif op == "gte":
                    bound = max(bound, int(value) - (0 if value != int(value) else 1))
        return bound

    def upper_bound(self, items: Sequence[Mapping[str, Any]]) -> int:
        """The largest id matches can have, from top-level `id lt`/`lte` items."""
        bound = 2**63
        for item in items:
            keys = {str(k).lower(): v for k, v in item.items()}
            if str(keys.get("field", "")).lower() != "id":
                continue
            value, op = keys.get("value"), str(keys.get("op", "")).lower()
            if isinstance(value, int) and not isinstance(value, bool):
                if op == "lte":
                    bound = min(bound, value)
                elif op == "lt":
                    bound = min(bound, value - 1)
        return bound

    def select(
        self, items: Sequence[Mapping[str, Any]], *, limit: int | None, after_id: int | None = None
    ) -> list[Row]:
        """Matching rows ascending by id, after `after_id`, at most `limit`."""
        predicate = self.compile(items)
        bound = self.lower_bound(items)
        if after_id is not None:
            bound = max(bound, after_id)
        found: list[Row] = []
        for position in self._candidates(items, bound):
            row = self.rows[position]
            if predicate(row):
                found.append(row)
                if limit is not None and len(found) >= limit:
                    break
        return found

    def as_dict(self, row: Row, names: Sequence[str] | None = None) -> dict[str, Any]:
        """A row's fields by name (all, or `names`)."""
        if names is None:
            return dict(zip(self.fields, row, strict=True))
        return {name: row[self.columns[name]] for name in names}

    def get(self, row_id: int) -> Row | None:
        position = self._position.get(row_id)
        return None if position is None else self.rows[position]
