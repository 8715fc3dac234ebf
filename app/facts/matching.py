"""Deletions the PSA logs without the record's id, resolved against the stored facts.

Autotask's deletion logs name a deleted time entry by its ticket, technician, start and hours,
not by its id. A `MatchedDeletion` becomes a plain `Deletion` only when exactly one stored
fact matches every field; none (already removed) or several (two identical entries: which
one went cannot be known) deletes nothing, and the id sweep settles it later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from app.facts.store import ROW_FOR_FACT
from connectors.sdk import Deletion, FactOrDeletion, MatchedDeletion

# Hours arrive as floats from both sides; a hundredth of a second is the same entry.
FLOAT_TOLERANCE = 1e-6


@dataclass(slots=True)
class ResolvedDeletions:
    items: list[FactOrDeletion] = field(default_factory=list)
    ambiguous: int = 0  # matched more than one stored fact: left to the id sweep
    unmatched: int = 0  # matched nothing: removed already, or never stored


def resolve_matched_deletions(
    session: Session, source_id: int, items: Sequence[FactOrDeletion]
) -> ResolvedDeletions:
    """Replace each `MatchedDeletion` by the `Deletion` of its one matching stored fact."""
    resolved = ResolvedDeletions()
    for item in items:
        if not isinstance(item, MatchedDeletion):
            resolved.items.append(item)
            continue
        row_class = ROW_FOR_FACT[item.fact_type]
        conditions = [row_class.source_id == source_id]
        conditions += [_equals(getattr(row_class, name), value) for name, value in item.match]
        matches = list(session.scalars(select(row_class.external_id).where(*conditions).limit(2)))
        if len(matches) == 1:
            resolved.items.append(Deletion(item.fact_type, matches[0]))
        elif matches:
            resolved.ambiguous += 1
        else:
            resolved.unmatched += 1
    return resolved


def _equals(column: Any, value: object) -> ColumnElement[bool]:
    condition: ColumnElement[bool]
    if value is None:
        condition = column.is_(None)
    elif isinstance(value, float):
        condition = func.abs(column - value) < FLOAT_TOLERANCE
    else:
        condition = column == value
    return condition
