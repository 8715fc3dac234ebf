"""What the simulator pages over: a collection of records in id order.

`LazyCollection` renders a world list on demand, record by record; nothing is kept rendered,
so a world of hundreds of thousands of records costs no extra memory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

Json = dict[str, Any]


class _Stamped(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def updated_at(self) -> datetime: ...


T = TypeVar("T", bound=_Stamped)


class Collection(Protocol):
    """What the simulator pages over: ids ascending and a record per position (None: gone).

    `stamp` is the record's last change when it can be told without rendering, so filters
    on `lastUpdated` and counts stay cheap.
    """

    def ids(self) -> Sequence[int]: ...
    def at(self, position: int) -> Json | None: ...
    def stamp(self, position: int) -> datetime | None: ...
    def is_hidden(self, position: int) -> bool: ...
    def visible_count(self, start: int, stop: int) -> int: ...


@dataclass
class StaticCollection:
    records: list[Json]

    def ids(self) -> Sequence[int]:
        return [int(record["id"]) for record in self.records]

    def at(self, position: int) -> Json | None:
        return self.records[position]

    def stamp(self, position: int) -> datetime | None:
        return None

    def is_hidden(self, position: int) -> bool:
        return False

    def visible_count(self, start: int, stop: int) -> int:
        return max(0, stop - start)


class LazyCollection(Generic[T]):
    """A world list rendered on demand, record by record (nothing is kept rendered, so a
    world of hundreds of thousands of records costs no extra memory).

    The id order and the count of hidden records are rebuilt when `version()` changes:
    `mutate_world` moves the world's `generated_at` and only ever appends records.
    """

    def __init__(
        self,
        source: list[T],
        render: Callable[[T], Json | None],
        hidden: Callable[[T], bool],
        version: Callable[[], Any],
    ) -> None:
        self._source = source
        self._render = render
        self._hidden = hidden
        self._version = version
        self._seen: Any = None
        self._objects: list[T] = []
        self._ids: list[int] = []
        self._hidden_before: list[int] | None = None  # prefix counts of hidden records

    def invalidate(self) -> None:
        self._seen = None

    def _sync(self) -> None:
        seen = (self._version(), len(self._source))
        if seen != self._seen:
            self._seen = seen
            self._objects = sorted(self._source, key=lambda item: item.id)
            self._ids = [item.id for item in self._objects]
            self._hidden_before = None

    def ids(self) -> Sequence[int]:
        self._sync()
        return self._ids

    def at(self, position: int) -> Json | None:
        return self._render(self._objects[position])

    def stamp(self, position: int) -> datetime | None:
        return self._objects[position].updated_at

    def is_hidden(self, position: int) -> bool:
        return self._hidden(self._objects[position])

    def visible_count(self, start: int, stop: int) -> int:
        if self._hidden_before is None:
            counts = [0]
            total = 0
            for item in self._objects:
                total += self._hidden(item)
                counts.append(total)
            self._hidden_before = counts
        hidden = self._hidden_before[stop] - self._hidden_before[start]
        return max(0, stop - start - hidden)


class TenantView:
    """A collection as one tenant serves it.

    Change stamps follow the PSA's own clock (`offset()`: its clock minus the true time), in
    `_info.lastUpdated` and in `lastUpdated` conditions alike; `broken` maps ids to fields a
    test broke on purpose (a None value removes the field, as ConnectWise omits nulls).
    """

    def __init__(
        self,
        inner: Collection,
        offset: Callable[[], timedelta],
        broken: Mapping[int, Mapping[str, Any]] | None = None,
    ) -> None:
        self._inner = inner
        self._offset = offset
        self._broken = broken or {}

    def ids(self) -> Sequence[int]:
        return self._inner.ids()

    def stamp(self, position: int) -> datetime | None:
        moment = self._inner.stamp(position)
        return None if moment is None else moment + self._offset()

    def is_hidden(self, position: int) -> bool:
        return self._inner.is_hidden(position)

    def visible_count(self, start: int, stop: int) -> int:
        return self._inner.visible_count(start, stop)

    def at(self, position: int) -> Json | None:
        record = self._inner.at(position)
        if record is None:
            return None
        offset = self._offset()
        info = record.get("_info")
        if offset and isinstance(info, dict) and isinstance(info.get("lastUpdated"), str):
            moment = datetime.fromisoformat(info["lastUpdated"].replace("Z", "+00:00"))
            shifted = (moment + offset).isoformat()[:19] + "Z"
            record = record | {"_info": info | {"lastUpdated": shifted}}
        fields = self._broken.get(self._inner.ids()[position])
        if fields:
            record = {k: v for k, v in (record | dict(fields)).items() if v is not None}
        return record
