"""Picklist labels from `/{Entity}/entityInformation/fields`, cached per connector.

Picklist values arrive as strings (`"5"`) while entity fields hold ints (`5`): lookups go
through `str(value)`. Inactive values are kept, because old records still carry them.

Most picklists only enrich (labels, priority levels): when Autotask will not give an
entity's field metadata (404, a client mistake, the API user's security level), the reader
carries on without them and says so (`optional_picklist`); a transient failure still fails
the read, which resumes later with the labels.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connectors.sdk import ConfigError, FatalError

# fetch_fields(entity) -> the `fields` list of entityInformation/fields.
FetchFields = Callable[[str], Awaitable[Sequence[Mapping[str, Any]]]]


@dataclass(frozen=True, slots=True)
class PicklistValue:
    value: str
    label: str
    sort_order: int
    is_active: bool


@dataclass(frozen=True, slots=True)
class Picklist:
    """One field's values by their string value."""

    values: Mapping[str, PicklistValue]

    def label(self, value: object) -> str | None:
        if value is None:
            return None
        entry = self.values.get(_key(value))
        return entry.label if entry else None

    def urgency_level(self, value: object, *, levels: int = 4) -> int | None:
        """The docs/kpis.md §1 level of a priority: 1 + the number of active values ranked
        before it by `sortOrder` (ids do not sort by severity), capped at `levels`.
        Inactive values get the level their sort order would give them among active ones."""
        entry = self.values.get(_key(value)) if value is not None else None
        if entry is None:
            return None
        ahead = sum(
            1
            for other in self.values.values()
            if other.is_active
            and other.value != entry.value
            and (other.sort_order, _numeric(other.value))
            < (entry.sort_order, _numeric(entry.value))
        )
        return min(levels, ahead + 1)


def _key(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _numeric(value: str) -> tuple[int, str]:
    return (int(value), "") if value.lstrip("-").isdigit() else (0, value)


def parse_picklists(fields: Sequence[Mapping[str, Any]]) -> dict[str, Picklist]:
    """Picklists by lower-cased field name (Autotask's field names vary in case)."""
    result: dict[str, Picklist] = {}
    for field_info in fields:
        raw_values = field_info.get("picklistValues")
        if not field_info.get("isPickList") or not isinstance(raw_values, list):
            continue
        values: dict[str, PicklistValue] = {}
        for raw in raw_values:
            if not isinstance(raw, Mapping) or raw.get("value") is None:
                continue
            value = _key(raw["value"])
            sort_order = raw.get("sortOrder")
            values[value] = PicklistValue(
                value=value,
                label=str(raw.get("label") or value),
                sort_order=int(sort_order) if isinstance(sort_order, int | float) else 0,
                is_active=raw.get("isActive") is not False,
            )
        result[str(field_info.get("name", "")).lower()] = Picklist(values)
    return result


class PicklistCache:
    """Fetches each entity's field metadata at most once per `max_age` (metadata calls count
    against the limits, and cold-cache bursts trip the thread limit). `shared` keeps the
    parsed picklists between runs of one source (see `SourceDirectory.picklists`)."""

    def __init__(
        self,
        fetch_fields: FetchFields,
        *,
        shared: dict[str, tuple[float, dict[str, Picklist]]] | None = None,
        max_age: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch_fields = fetch_fields
        self._by_entity = shared if shared is not None else {}
        self._max_age = max_age
        self._clock = clock
        self._locks: dict[str, asyncio.Lock] = {}
        # Entities whose metadata Autotask refused in this run, with why: asked once a run.
        self._refused: dict[str, str] = {}

    def _fresh(self, key: str) -> dict[str, Picklist] | None:
        cached = self._by_entity.get(key)
        if cached is None or self._clock() - cached[0] > self._max_age:
            return None
        return cached[1]

    async def picklist(self, entity: str, field: str) -> Picklist:
        """The picklist of `entity.field`; empty when the field has none. Raises what the
        metadata call raised (a refusal again, without asking twice in a run)."""
        key = entity.lower()
        picklists = self._fresh(key)
        if picklists is None:
            async with self._locks.setdefault(key, asyncio.Lock()):
                picklists = self._fresh(key)
                if picklists is None:
                    if key in self._refused:
                        raise FatalError(self._refused[key], code="autotask_metadata_refused")
                    try:
                        fields = await self._fetch_fields(entity)
                    except (FatalError, ConfigError) as exc:
                        self._refused[key] = exc.message
                        raise
                    picklists = parse_picklists(fields)
                    self._by_entity[key] = (self._clock(), picklists)
        return picklists.get(field.lower(), Picklist({}))

    async def optional_picklist(self, entity: str, field: str) -> tuple[Picklist, str | None]:
        """The picklist, or an empty one and Autotask's reason when it refused the entity's
        metadata (not a transient failure: that is raised)."""
        try:
            return await self.picklist(entity, field), None
        except (FatalError, ConfigError) as exc:
            return Picklist({}), exc.message
