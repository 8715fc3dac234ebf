"""What the owner's pages show, gathered from the API's own functions (never re-judged):
the scorecard of app.goals.scorecard, the health of app.api.health, the coverage the
alignment engine judged by."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from app.api.context import ServiceContext
from app.api.health import STALE_AFTER_INTERVALS, health
from app.goals.alignment import STATUS_ORDER, Status
from app.goals.views import GoalAlignmentOut, ObjectiveAlignmentOut, SourceHistoryOut


@dataclass(frozen=True, slots=True)
class SourceState:
    """One PSA connection as the overview shows it: how fresh, how complete, any trouble."""

    source_id: int
    name: str
    status: str
    last_success_at: datetime | None
    history_from: date | None
    synced_until: datetime | None
    failing: bool
    stale: bool
    problem: str | None  # the latest failure, or why it is not active

    @property
    def warning(self) -> str | None:
        if self.failing:
            return f"Failing: {self.problem or 'a stream failed on its last sync'}."
        if self.stale:
            return (
                f"Stale: no successful sync for {STALE_AFTER_INTERVALS} of its sync "
                "intervals; the numbers below may be out of date."
            )
        return None


def _moment(text: object) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) else None


def source_states(context: ServiceContext, histories: list[SourceHistoryOut]) -> list[SourceState]:
    """Every source, with the health endpoint's verdict on it (failing, stale) and the
    alignment engine's coverage (history held from, synced until)."""
    answer = health(context, details=True)
    body = json.loads(bytes(answer.body))
    coverage = {h.source_id: h for h in histories}
    states = []
    for row in body.get("sources", []):
        held = coverage.get(row["id"])
        states.append(
            SourceState(
                source_id=row["id"],
                name=row["name"],
                status=row["status"],
                last_success_at=_moment(row.get("last_success_at")),
                history_from=held.history_from if held else None,
                synced_until=held.synced_until if held else None,
                failing=bool(row.get("failing")),
                stale=bool(row.get("stale")),
                problem=row.get("latest_failure") or row.get("status_message"),
            )
        )
    return states


def all_goals(objectives: list[ObjectiveAlignmentOut]) -> Iterator[GoalAlignmentOut]:
    for objective in objectives:
        yield from objective.goals
        yield from all_goals(objective.objectives)


def all_objectives(objectives: list[ObjectiveAlignmentOut]) -> Iterator[ObjectiveAlignmentOut]:
    for objective in objectives:
        yield objective
        yield from all_objectives(objective.objectives)


# Worst first, then the statuses without a grade.
COUNT_ORDER = (*STATUS_ORDER, Status.NOT_STARTED, Status.NO_DATA)


def status_counts(goals: list[GoalAlignmentOut]) -> list[tuple[Status, int]]:
    """How many goals have each status, worst first; statuses no goal has are left out."""
    counts = Counter(g.status for g in goals)
    return [(status, counts[status]) for status in COUNT_ORDER if counts[status]]
