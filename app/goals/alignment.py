"""The alignment maths of GOALS.md §2, as pure functions of a goal's terms and a value.

Nothing here reads the database: `app.goals.evaluate` fetches the KPI values and calls these,
so every rule is tested on plain numbers (tests/app/goals/test_goal_alignment_maths.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from app.goals.models import GoalKind


class Status(StrEnum):
    ACHIEVED = "achieved"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"
    NO_DATA = "no_data"

    @property
    def words(self) -> str:
        return STATUS_WORDS[self]


STATUS_WORDS = {
    Status.ACHIEVED: "Achieved",
    Status.ON_TRACK: "On track",
    Status.AT_RISK: "At risk",
    Status.OFF_TRACK: "Off track",
    Status.NO_DATA: "No data",
}
# Worst first (GOALS.md §2.6); no_data is kept apart from the order.
STATUS_ORDER = (Status.OFF_TRACK, Status.AT_RISK, Status.ON_TRACK, Status.ACHIEVED)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Where on track ends and at risk begins (GOALS.md §2.4 defaults)."""

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


@dataclass(frozen=True, slots=True)
class Assessment:
    progress_raw: float | None
    progress: float | None
    expected_progress: float
    pace: float | None
    status: Status
    reason: str


def plain(value: float | None) -> str:
    """A number as a person writes it in a sentence: 1,000,000 or 95.25 (not 1e+06)."""
    if value is None:
        return "—"
    if value == 0:
        return "0"  # never "-0"
    if value == int(value):
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


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
    """(raw, clamped) progress of `value` (GOALS.md §2.2).

    Increase/decrease: (value − baseline) ÷ (target − baseline); raw keeps over-achievement
    (> 1) and going backwards (< 0) visible. None without a baseline. When the baseline
    is already at or beyond the target, progress is 1 if the target is met, else 0.
    Threshold/band: 1 while the condition holds, else 1 − distance ÷ reference."""
    if terms.kind.moves:
        assert terms.target is not None
        if terms.baseline is None:
            return None, None
        span = terms.target - terms.baseline
        if not heads_for_target(terms):
            # A computed baseline can already be at or past the target; the formula would
            # then count moving away from the target as progress.
            raw = 1.0 if meets(terms, value) else 0.0
        else:
            raw = (value - terms.baseline) / span
        return raw, clamp(raw)
    distance, reference = distance_outside(terms, value)
    raw = 1.0 - distance / reference
    return raw, clamp(raw)


def _fraction(day: date, start: date, end: date) -> float:
    if end <= start:
        return 1.0
    return clamp((day - start).days / (end - start).days)


def expected_progress(terms: GoalTerms, day: date) -> float:
    """Where progress should be on `day` (GOALS.md §2.3): 0 at the start date, 1 at the due
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


def assess(
    terms: GoalTerms,
    current: float | None,
    day: date,
    *,
    window_complete: bool = True,
    thresholds: Thresholds = Thresholds(),
) -> Assessment:
    """Progress, expected progress, pace and status of a goal whose KPI is `current` over its
    evaluation window as of `day` (GOALS.md §2.2–2.4).

    A threshold or band goal is `achieved` when the condition held over a complete window and
    `on_track` while it holds over a window still in progress."""
    expected = expected_progress(terms, day)
    if current is None:
        return Assessment(
            None,
            None,
            expected,
            None,
            Status.NO_DATA,
            "The KPI has no value for the window (nothing to measure yet).",
        )
    raw, progress = progress_of(terms, current)
    if terms.kind.moves:
        if progress is None:
            return Assessment(
                None, None, expected, None, Status.NO_DATA, "The baseline is not known yet."
            )
        if meets(terms, current):
            met = f"Target met: {plain(current)} against a target of {plain(terms.target)}."
            return Assessment(raw, progress, expected, None, Status.ACHIEVED, met)
        if expected == 0:
            return Assessment(
                raw, progress, expected, None, Status.ON_TRACK, "Nothing is expected yet."
            )
        # Rounded so that a pace of exactly 0.8 on paper is not 0.7999999999 in binary.
        pace = round(progress / expected, 9)
        if pace >= thresholds.on_track_pace:
            status = Status.ON_TRACK
        elif pace >= thresholds.at_risk_pace:
            status = Status.AT_RISK
        else:
            status = Status.OFF_TRACK
        reason = (
            f"Progress {progress:.0%} where the plan expects {expected:.0%} by now "
            f"(pace {pace:.2f})."
        )
        return Assessment(raw, progress, expected, pace, status, reason)
    distance, reference = distance_outside(terms, current)
    if distance == 0:
        if window_complete:
            return Assessment(
                raw, progress, expected, None, Status.ACHIEVED, f"Held: {plain(current)}."
            )
        return Assessment(
            raw, progress, expected, None, Status.ON_TRACK, "Holding so far this period."
        )
    share = round(distance / reference, 9)
    what = "the band width" if terms.kind is GoalKind.BAND else "the threshold"
    status = Status.AT_RISK if share <= thresholds.at_risk_margin else Status.OFF_TRACK
    reason = f"Outside by {plain(distance)} ({share:.0%} of {what})."
    return Assessment(raw, progress, expected, None, status, reason)


@dataclass(frozen=True, slots=True)
class RollupChild:
    weight: float
    progress: float | None
    status: Status


@dataclass(frozen=True, slots=True)
class Rollup:
    progress: float | None
    status: Status
    no_data: int  # children without data, shown apart from the status


def worst(statuses: Iterable[Status]) -> Status:
    measured = [s for s in statuses if s is not Status.NO_DATA]
    if not measured:
        return Status.NO_DATA
    return min(measured, key=STATUS_ORDER.index)


def roll_up(children: Sequence[RollupChild]) -> Rollup:
    """An objective from its children (GOALS.md §2.6): the weighted mean of the progress of
    those with data, and the worst status among them; `no_data` only when none has data."""
    measured = [c for c in children if c.progress is not None and c.status is not Status.NO_DATA]
    total = sum(c.weight for c in measured)
    progress = (
        sum(c.weight * c.progress for c in measured if c.progress is not None) / total
        if total > 0
        else None
    )
    no_data = sum(1 for c in children if c.status is Status.NO_DATA)
    return Rollup(progress, worst(c.status for c in children), no_data)
