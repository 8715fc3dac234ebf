"""Partial responses (`fields`) and ordering (`orderBy`) for the simulator (reference §4)."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connectors.connectwise.simulator_conditions import QueryError, resolve

FieldTree = dict[str, "FieldTree | None"]


@functools.lru_cache(maxsize=256)
def parse_fields(text: str) -> FieldTree:
    tree: FieldTree = {}
    for item in text.split(","):
        steps = [step for step in item.strip().split("/") if step]
        node = tree
        for index, step in enumerate(steps):
            last = index == len(steps) - 1
            if last:
                node.setdefault(step, None)
            else:
                child = node.get(step)
                if child is None:
                    child = {}
                    node[step] = child
                node = child
    return tree


@functools.lru_cache(maxsize=1024)
def _folded(names: tuple[str, ...]) -> dict[str, str]:
    """Lower-case name -> name; records of one collection share a handful of key sets."""
    return {name.lower(): name for name in names}


def project(record: Mapping[str, Any], tree: FieldTree) -> dict[str, Any]:
    """Partial response: only the requested fields, nested `a/b` included; absent stay absent."""
    result: dict[str, Any] = {}
    folded: dict[str, str] | None = None  # lower-case name -> name, built on first miss
    for wanted, subtree in tree.items():
        key = wanted
        if wanted not in record:
            if folded is None:
                folded = _folded(tuple(record))
            if wanted.lower() not in folded:
                continue
            key = folded[wanted.lower()]
        value = record[key]
        if value is None:
            continue
        if subtree is None:
            result[key] = value
        elif isinstance(value, Mapping):
            result[key] = project(value, subtree)
        elif isinstance(value, list):
            result[key] = [project(v, subtree) if isinstance(v, Mapping) else v for v in value]
    return result


@dataclass(frozen=True, slots=True)
class SortKey:
    path: str
    descending: bool


def parse_order_by(text: str | None) -> tuple[SortKey, ...]:
    if not text or not text.strip():
        return ()
    keys = []
    for item in text.split(","):
        words = item.split()
        if not words or len(words) > 2:
            raise QueryError(f"'{item.strip()}' is not a valid orderBy term.")
        direction = words[1].lower() if len(words) == 2 else "asc"
        if direction not in ("asc", "desc"):
            raise QueryError(f"orderBy direction must be asc or desc, not '{words[1]}'.")
        keys.append(SortKey(words[0], direction == "desc"))
    return tuple(keys)


def sort_records(records: list[dict[str, Any]], keys: Sequence[SortKey]) -> list[dict[str, Any]]:
    """Stable multi-key sort; missing values sort last in either direction."""
    for key in reversed(keys):
        path = key.path

        def sortable(record: dict[str, Any], path: str = path) -> Any:
            return _sortable(resolve(record, path)[0])

        present = [r for r in records if resolve(r, path)]
        absent = [r for r in records if not resolve(r, path)]
        present.sort(key=sortable, reverse=key.descending)
        records = present + absent
    return records


def _sortable(value: Any) -> Any:
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, int | float):
        return (0, value)
    return (1, str(value).lower())
