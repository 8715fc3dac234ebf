"""Pure pieces of the reference tables: SLA stage targets, priority levels, survey points."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PRIORITY_LEVELS = 4  # P1..P4: the first three by urgency, all others P4 (docs/kpis.md §1)
OWNER_TYPE = "Owner"  # the company type ConnectWise gives the MSP's own company


@dataclass(frozen=True, slots=True)
class StageTargets:
    respond_hours: float | None
    resolution_hours: float | None


@dataclass(frozen=True, slots=True)
class SlaBook:
    """Each SLA's own targets and its per-priority overrides."""

    defaults: dict[int, StageTargets]
    overrides: dict[tuple[int, int], StageTargets]

    def targets(self, sla_id: int, priority_id: int | None) -> StageTargets | None:
        """Stage targets of a ticket; an override's empty stage keeps the SLA's own target."""
        default = self.defaults.get(sla_id)
        if default is None:
            return None
        override = self.overrides.get((sla_id, priority_id)) if priority_id is not None else None
        if override is None:
            return default
        return StageTargets(
            respond_hours=_first(override.respond_hours, default.respond_hours),
            resolution_hours=_first(override.resolution_hours, default.resolution_hours),
        )


def _first(*values: float | None) -> float | None:
    return next((value for value in values if value is not None), None)


def hours(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def has_type(company: dict[str, Any], name: str) -> bool:
    types = company.get("types") or []
    return any(isinstance(kind, dict) and kind.get("name") == name for kind in types)


def ref_id(record: dict[str, Any], key: str) -> int | None:
    ref = record.get(key)
    value = ref.get("id") if isinstance(ref, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def priority_levels(rows: list[dict[str, Any]]) -> dict[int, int]:
    """Priority id -> level 1..4, ranking priorities by their `sortOrder` (ties by id)."""
    usable = [row for row in rows if isinstance(row.get("id"), int)]
    ranked = sorted(
        usable,
        key=lambda row: (
            row.get("sortOrder") if isinstance(row.get("sortOrder"), int) else 1 << 30,
            int(row["id"]),
        ),
    )
    return {int(row["id"]): min(rank, PRIORITY_LEVELS) for rank, row in enumerate(ranked, start=1)}


def max_points(questions: list[dict[str, Any]]) -> float | None:
    """Sum over the questions of their highest option `points` (None: the survey scores
    nothing, so its results are no satisfaction measure)."""
    total = 0.0
    for question in questions:
        options = question.get("options") or []
        points = [
            float(option["points"])
            for option in options
            if isinstance(option, dict)
            and isinstance(option.get("points"), int | float)
            and not isinstance(option.get("points"), bool)
        ]
        if points:
            total += max(points)
    return total or None
