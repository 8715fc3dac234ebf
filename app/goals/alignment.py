"""The alignment maths of docs/goals.md §2, as pure functions of a goal's terms and a value.

Nothing here reads the database: `app.goals.evaluate` fetches the KPI values and
`app.goals.verdict` turns them into a status with these rules, so every rule is tested on
plain numbers (tests/app/goals/test_goal_alignment_maths.py, test_goal_verdicts.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from app.goals.models import GoalKind


class Status(StrEnum):
    NOT_STARTED = "not_started"  # before the start date: no grade
    ACHIEVED = "achieved"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"
    MISSED = "missed"  # after the due date, the goal not met: final
    NO_DATA = "no_data"

    @property
    def graded(self) -> bool:
        """A verdict on the goal (not_started and no_data are not)."""
        return self not in (Status.NOT_STARTED, Status.NO_DATA)

    @property
    def words(self) -> str:
        return STATUS_WORDS[self]


STATUS_WORDS = {
    Status.NOT_STARTED: "Not started",
    Status.MISSED: "Missed",
    Status.ACHIEVED: "Achieved",
    Status.ON_TRACK: "On track",
    Status.AT_RISK: "At risk",
    Status.OFF_TRACK: "Off track",
    Status.NO_DATA: "No data",
}
# Worst first (docs/goals.md §2.6); no_data and not_started are kept apart from the order.
STATUS_ORDER = (Status.MISSED, Status.OFF_TRACK, Status.AT_RISK, Status.ON_TRACK, Status.ACHIEVED)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Where on track ends and at risk begins (docs/goals.md §2.4 defaults)."""

    on_track_pace: float = 0.99
    at_risk_pace: float = 0.80
    # Threshold and band goals: at risk while outside by at most this share of the band
    # width (band) or of the threshold (stay_above/stay_below).
    at_risk_margin: float = 0.10


@dataclass(frozen=True, slots=True)
class MilestoneTerms:
    due_date: date
    target: float | None


@dataclass(frozen=True, slots=True)
class GoalTerms:
    """What the maths needs of a goal. `target` is the threshold of stay_above/stay_below."""

    kind: GoalKind
    start_date: date
    due_date: date
    baseline: float | None = None
    target: float | None = None
    low: float | None = None
    high: float | None = None
    milestones: tuple[MilestoneTerms, ...] = ()


def clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return max(low, min(high, value))


def meets(terms: GoalTerms, value: float, target: float | None = None) -> bool:
    """Whether `value` satisfies the goal (or, with `target`, a milestone's target)."""
    level = terms.target if target is None else target
    kind = terms.kind
    if kind is GoalKind.BAND:
        assert terms.low is not None and terms.high is not None
        return terms.low <= value <= terms.high
    assert level is not None
    # A band milestone never has its own target (the API refuses one): it is the band held.
    if kind in (GoalKind.INCREASE, GoalKind.STAY_ABOVE):
        return value >= level
    return value <= level


def distance_outside(terms: GoalTerms, value: float) -> tuple[float, float]:
    """(how far outside the threshold or band, the reference it is measured against).

    The reference is the band width, or the threshold's size (1 when the threshold is 0, so
    a stay_below 0 goal still has a scale)."""
    if terms.kind is GoalKind.BAND:
        assert terms.low is not None and terms.high is not None
        width = terms.high - terms.low
        if value < terms.low:
            return terms.low - value, width
        return max(0.0, value - terms.high), width
    assert terms.target is not None
    reference = abs(terms.target) or 1.0
    if terms.kind is GoalKind.STAY_ABOVE:
        return max(0.0, terms.target - value), reference
    return max(0.0, value - terms.target), reference


def heads_for_target(terms: GoalTerms) -> bool:
    """An increase/decrease goal whose baseline is on the near side of its target."""
    if not terms.kind.moves or terms.baseline is None or terms.target is None:
        return False
    span = terms.target - terms.baseline
    return span > 0 if terms.kind is GoalKind.INCREASE else span < 0


def progress_of(terms: GoalTerms, value: float) -> tuple[float | None, float | None]:
    """(raw, clamped) progress of `value` (docs/goals.md §2.3), for increase/decrease goals.

    (value − baseline) ÷ (target − baseline); raw keeps over-achievement (> 1) and going
    backwards (< 0) visible. None without a baseline, and for threshold and band goals,
    whose record is the periods held (`app.goals.verdict`). When the baseline is already
    at or beyond the target, progress is 1 if the target is met, else 0."""
    if not terms.kind.moves or terms.baseline is None:
        return None, None
    assert terms.target is not None
    if not heads_for_target(terms):
        # A computed baseline can already be at or past the target; the formula would
        # then count moving away from the target as progress.
        raw = 1.0 if meets(terms, value) else 0.0
    else:
        raw = (value - terms.baseline) / (terms.target - terms.baseline)
    return raw, clamp(raw)


def _fraction(day: date, start: date, end: date) -> float:
    if end <= start:
        return 1.0
    return clamp((day - start).days / (end - start).days)


def expected_progress(terms: GoalTerms, day: date) -> float:
    """Where progress should be on `day` (docs/goals.md §2.3): 0 at the start date, 1 at the due
    date, on a straight line; with milestones that carry a target (increase/decrease goals
    with a known baseline), on a straight line between consecutive milestones instead."""
    nodes: list[tuple[date, float]] = [(terms.start_date, 0.0)]
    for milestone in sorted(terms.milestones, key=lambda m: m.due_date):
        if not terms.start_date < milestone.due_date < terms.due_date:
            continue
        if milestone.target is None or not terms.kind.moves or not heads_for_target(terms):
            continue
        raw, _ = progress_of(terms, milestone.target)
        assert raw is not None
        nodes.append((milestone.due_date, clamp(max(raw, nodes[-1][1]))))
    nodes.append((terms.due_date, 1.0))
    if day <= nodes[0][0]:
        return 0.0
    for (left_day, left), (right_day, right) in itertools.pairwise(nodes):
        if day <= right_day:
            return left + (right - left) * _fraction(day, left_day, right_day)
    return 1.0


@dataclass(frozen=True, slots=True)
class RollupChild:
    weight: float
    progress: float | None
    status: Status


@dataclass(frozen=True, slots=True)
class Rollup:
    progress: float | None
    status: Status
    no_data: int  # children without a grade (no data, or not started), shown apart


def worst(statuses: Iterable[Status]) -> Status:
    """The worst graded status; not_started when nothing is graded and something has not
    started, else no_data."""
    listed = list(statuses)
    graded = [s for s in listed if s.graded]
    if graded:
        return min(graded, key=STATUS_ORDER.index)
    if listed and all(s is Status.NOT_STARTED for s in listed):
        return Status.NOT_STARTED
    return Status.NO_DATA


def roll_up(children: Sequence[RollupChild]) -> Rollup:
    """An objective from its children (docs/goals.md §2.6): the weighted mean of the progress
    of those with a progress figure (increase/decrease goals, child objectives), and the
    worst graded status among them; children without a grade are counted apart."""
    measured = [c for c in children if c.progress is not None and c.status.graded]
    total = sum(c.weight for c in measured)
    progress = (
        sum(c.weight * c.progress for c in measured if c.progress is not None) / total
        if total > 0
        else None
    )
    no_data = sum(1 for c in children if not c.status.graded)
    return Rollup(progress, worst(c.status for c in children), no_data)
