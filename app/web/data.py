"""What the owner's pages show, gathered from the API's own functions (never re-judged):
the scorecard of app.goals.scorecard, the health of app.api.health, the coverage the
alignment engine judged by."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from app.api.context import ServiceContext
from app.api.health import health
from app.goals.alignment import STATUS_ORDER, Status
from app.goals.views import GoalAlignmentOut, ObjectiveAlignmentOut, SourceHistoryOut
from app.web.freshness_words import freshness_line, stale_words


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
    # Each stream's freshness as /api/v1/health gives it (app.ingest.freshness).
    streams: tuple[Mapping[str, Any], ...] = ()

    @property
    def freshness(self) -> str | None:
        """`Tickets checked 40 s ago, newest change 3 min ago; Time entries ...`."""
        return freshness_line(self.streams)

    @property
    def warning(self) -> str | None:
        if self.failing:
            return f"Failing: {self.problem or 'a stream failed on its last sync'}."
        if self.stale:
            what = stale_words(self.streams) or "not checked for several of its intervals"
            return f"Stale: {what}; the numbers below may be out of date."
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
                streams=tuple((row.get("freshness") or {}).get("streams", ())),
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
