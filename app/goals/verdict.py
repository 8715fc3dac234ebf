"""A goal's verdict as of a day, from the KPI per period (docs/goals.md §2): which period is
judged, the status, the progress (increase/decrease) or the record of periods held
(threshold and band goals), the evidence behind it, and one sentence for each.

Pure: `app.goals.evaluate` reads the periods and their coverage, this decides. Only a
period that is covered and complete is judged (a goal may opt in to the period so far);
nothing is graded before the start date; after the due date the verdict is final.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from app.goals.alignment import (
    GoalTerms,
    Status,
    Thresholds,
    distance_outside,
    expected_progress,
    meets,
    progress_of,
)
from app.goals.evidence import SMALL_SAMPLE, Interval, proportion_interval, sample_words
from app.goals.models import GoalKind
from app.goals.words import amount, as_shown, count_of, difference, period_label, share
from app.kpis.coverage import PeriodState
from app.kpis.periods import Period


@dataclass(frozen=True, slots=True)
class PeriodReading:
    """The KPI over one evaluation period, with how far it can be judged."""

    period: Period
    value: float | None
    sample_size: int
    state: PeriodState


@dataclass(frozen=True, slots=True)
class KpiTraits:
    """What the sentences and the evidence rule need to know of the KPI."""

    key: str
    name: str
    unit: str
    grain: str


@dataclass(frozen=True, slots=True)
class HeldRecord:
    """Threshold and band goals: the complete periods since the start that held."""

    held: int
    judged: int
    streak: int  # consecutive periods ending with the latest, all held or all not
    streak_held: bool
    margin: float  # to the threshold or nearest bound: positive inside, negative outside
    words: str


@dataclass(frozen=True, slots=True)
class Evidence:
    sample_size: int
    interval: Interval | None  # proportions only
    small: bool  # fewer than SMALL_SAMPLE events behind a proportion
    thin: bool  # the interval still reaches the goal: the period alone cannot fail it


@dataclass(frozen=True, slots=True)
class Verdict:
    status: Status
    reason: str
    judged: PeriodReading | None = None
    progress_raw: float | None = None
    progress: float | None = None
    expected_progress: float | None = None
    pace: float | None = None
    progress_explanation: str | None = None
    record: HeldRecord | None = None
    evidence: Evidence | None = None


def condition_words(terms: GoalTerms, unit: str, target: float | None = None) -> str:
    """'at least 95.0 %', 'between 70.0 % and 80.0 %', 'the target of $1,000,000'."""
    level = terms.target if target is None else target
    if terms.kind is GoalKind.BAND:
        return f"between {amount(terms.low, unit)} and {amount(terms.high, unit)}"
    if terms.kind is GoalKind.STAY_ABOVE:
        return f"at least {amount(level, unit)}"
    if terms.kind is GoalKind.STAY_BELOW:
        return f"at most {amount(level, unit)}"
    return f"the target of {amount(level, unit)}"


def margin_of(terms: GoalTerms, value: float) -> float:
    """Distance to the threshold or the nearest band bound: positive inside, negative out."""
    if terms.kind is GoalKind.BAND:
        assert terms.low is not None and terms.high is not None
        return min(value - terms.low, terms.high - value)
    assert terms.target is not None
    return value - terms.target if terms.kind is GoalKind.STAY_ABOVE else terms.target - value


def reaches(terms: GoalTerms, interval: Interval, level: float | None = None) -> bool:
    """Whether the interval still reaches the goal's condition (or, for increase/decrease,
    `level`: where the plan expects the KPI by now)."""
    kind = terms.kind
    if kind is GoalKind.BAND:
        assert terms.low is not None and terms.high is not None
        return interval.high >= terms.low and interval.low <= terms.high
    target = terms.target if level is None else level
    assert target is not None
    if kind in (GoalKind.INCREASE, GoalKind.STAY_ABOVE):
        return interval.high >= target
    return interval.low <= target


class _Judge:
    def __init__(
        self,
        terms: GoalTerms,
        kpi: KpiTraits,
        thresholds: Thresholds,
        label_of: dict[Period, str],
    ) -> None:
        self.terms, self.kpi, self.thresholds, self.labels = terms, kpi, thresholds, label_of

    def label(self, reading: PeriodReading) -> str:
        return self.labels[reading.period]

    def value_words(self, reading: PeriodReading) -> str:
        assert reading.value is not None
        sample = sample_words(self.kpi.key, reading.sample_size)
        text = f"{self.label(reading)} was {amount(reading.value, self.kpi.unit)}"
        return f"{text}, {sample}" if sample else text

    def evidence(self, reading: PeriodReading, level: float | None = None) -> Evidence:
        assert reading.value is not None
        interval = proportion_interval(self.kpi.key, reading.value, reading.sample_size)
        small = interval is not None and reading.sample_size < SMALL_SAMPLE
        thin = interval is not None and reaches(self.terms, interval, level)
        return Evidence(reading.sample_size, interval, small, thin)

    def thin_words(self, evidence: Evidence, what: str) -> str:
        assert evidence.interval is not None
        unit = self.kpi.unit
        return (
            f"the true rate could be anywhere from {amount(evidence.interval.low, unit)} to "
            f"{amount(evidence.interval.high, unit)} (90 % interval), which still reaches "
            f"{what}, so the evidence is thin: at most at risk on this period alone"
        )


def _labels(readings: Sequence[PeriodReading], grain: str) -> dict[Period, str]:
    return {r.period: period_label(r.period.start, r.period.last_day, grain) for r in readings}


def judge(
    terms: GoalTerms,
    readings: Sequence[PeriodReading],
    as_of: date,
    kpi: KpiTraits,
    *,
    thresholds: Thresholds = Thresholds(),
    judge_partial: bool = False,
    baseline_reading: PeriodReading | None = None,
) -> Verdict:
    """The verdict on `terms` as of `as_of`, from `readings` (the goal's periods, oldest
    first; those before the start are ignored)."""
    if as_of < terms.start_date:
        return Verdict(
            Status.NOT_STARTED,
            f"Starts on {terms.start_date}; nothing is graded before then.",
        )
    until = min(as_of, terms.due_date)
    since_start = [
        r for r in readings if r.period.end > terms.start_date and r.period.start <= until
    ]
    # After the due date the verdict is final once the last period ending by the due date
    # is complete (or can never be: before the history held); until then it is provisional.
    last = next((r for r in reversed(since_start) if r.period.last_day <= terms.due_date), None)
    waiting = last is not None and last.state in (PeriodState.PARTIAL, PeriodState.NOT_SYNCED)
    final = as_of > terms.due_date and not waiting
    judgeable = [r for r in since_start if _judgeable(r, until, judge_partial and not final)]
    measured = [r for r in judgeable if r.value is not None]
    named = [*readings, *([baseline_reading] if baseline_reading else [])]
    judge_ = _Judge(terms, kpi, thresholds, _labels(named, kpi.grain))
    # After the due date the last period with a value before it decides; until then the
    # latest judgeable period, which may have nothing to measure.
    candidates = measured if final else judgeable
    judged = candidates[-1] if candidates else None
    if judged is None or judged.value is None:
        verdict = Verdict(Status.NO_DATA, _no_data_reason(judge_, since_start, judged), judged)
    elif terms.kind.moves:
        verdict = _moving(judge_, judged, final, baseline_reading)
    else:
        verdict = _holding(judge_, judged, measured, final)
    if as_of > terms.due_date and waiting:
        assert last is not None
        verdict = replace(
            verdict,
            reason=f"{verdict.reason} Provisional: the final verdict comes once "
            f"{judge_.label(last)}, the last {kpi.grain} before the due date, is complete and "
            "synced.",
        )
    return verdict


def _judgeable(reading: PeriodReading, until: date, partial_allowed: bool) -> bool:
    if reading.state is PeriodState.COMPLETE:
        return reading.period.last_day <= until
    return partial_allowed and reading.state is PeriodState.PARTIAL


STATE_WORDS = {
    PeriodState.BEFORE_HISTORY: "is before the history Northstar holds for this PSA",
    PeriodState.NOT_SYNCED: "has not been synced from the PSA yet",
    PeriodState.PARTIAL: "is still in progress",
}


def _no_data_reason(
    judge_: _Judge, since_start: Sequence[PeriodReading], judged: PeriodReading | None
) -> str:
    grain = judge_.kpi.grain
    if judged is not None:
        return (
            f"{judge_.label(judged)} has no value: there was nothing to measure in it "
            "(for a ratio, nothing in its denominator; for a manual KPI, no observation)."
        )
    if not since_start:
        return f"Nothing to judge yet: no {grain} since the start has data."
    latest = since_start[-1]
    first = since_start[0]
    if latest.state is PeriodState.PARTIAL and first is latest:
        return (
            f"Nothing to judge yet: {judge_.label(first)}, the first {grain} since the start, "
            "is still in progress."
        )
    words = STATE_WORDS.get(latest.state, "cannot be judged yet")
    return f"No complete {grain} since the start can be judged yet: {judge_.label(latest)} {words}."


def _moving(
    judge_: _Judge, judged: PeriodReading, final: bool, baseline: PeriodReading | None
) -> Verdict:
    terms, unit = judge_.terms, judge_.kpi.unit
    assert judged.value is not None and terms.target is not None
    current = as_shown(judged.value, unit)
    if terms.baseline is None:
        where = (
            f"{judge_.label(baseline)} {STATE_WORDS.get(baseline.state, 'has no value')}"
            if baseline is not None
            else "its period has no value"
        )
        reason = f"The baseline is not known yet: {where}; progress needs a starting point."
        return Verdict(Status.NO_DATA, reason, judged)
    raw, progress = progress_of(terms, current)
    assert raw is not None and progress is not None
    # Compared like with like: the period's value against where the plan expected the KPI
    # on that period's last day (as a milestone dated then reads that period), not on the
    # later day it is read.
    expected = expected_progress(terms, min(judged.period.last_day, terms.due_date))
    evidence = judge_.evidence(judged, terms.baseline + expected * (terms.target - terms.baseline))
    met = meets(terms, current)
    way = (
        f"{share(progress)} of the way from {amount(terms.baseline, unit)} to "
        f"{amount(terms.target, unit)}"
    )
    explained = f"{way}; the plan expects {share(expected)} by the end of {judge_.label(judged)}."
    value = judge_.value_words(judged)
    base = Verdict(
        Status.NO_DATA,
        "",
        judged,
        progress_raw=raw,
        progress=progress,
        expected_progress=expected,
        progress_explanation=explained[0].upper() + explained[1:],
        evidence=evidence,
    )
    if final:
        status = Status.ACHIEVED if met else Status.MISSED
        verb = "Met" if met else "Not met"
        reason = (
            f"{verb} by the due date {terms.due_date}: {value}, against "
            f"{condition_words(terms, unit)}."
        )
        return replace(base, status=status, reason=reason)
    if met:
        reason = f"Target reached: {value}, against {condition_words(terms, unit)}."
        return replace(base, status=Status.ACHIEVED, reason=reason)
    if expected == 0:
        reason = f"Nothing is expected yet: {value}."
        return replace(base, status=Status.ON_TRACK, reason=reason)
    # Judged as written: a pace shown as 0.99 is on track, one shown as 0.79 is not.
    pace = round(progress / expected, 2)
    thresholds = judge_.thresholds
    if pace >= thresholds.on_track_pace:
        status = Status.ON_TRACK
    elif pace >= thresholds.at_risk_pace:
        status = Status.AT_RISK
    else:
        status = Status.OFF_TRACK
    reason = f"{value}: {way}, where the plan expects {share(expected)} (pace {pace:.2f})"
    if status is Status.OFF_TRACK and evidence.thin:
        status = Status.AT_RISK
        reason += "; " + judge_.thin_words(
            evidence, f"the level the plan expects by the end of {judge_.label(judged)}"
        )
    return replace(base, status=status, reason=reason + ".", pace=pace)


def _record(judge_: _Judge, complete: Sequence[PeriodReading], margin: float) -> HeldRecord:
    """The complete periods since the start with a value (a period judged so far is not
    one of them), and `margin`, the judged value's distance to the goal."""
    terms = judge_.terms
    grain = judge_.kpi.grain
    unit = judge_.kpi.unit
    held_flags = [meets(terms, as_shown(r.value, unit)) for r in complete if r.value is not None]
    if not held_flags:
        return HeldRecord(0, 0, 0, False, margin, f"No complete {grain} since the start yet.")
    streak_held = held_flags[-1]
    streak = 0
    for flag in reversed(held_flags):
        if flag != streak_held:
            break
        streak += 1
    first = judge_.label(complete[0])
    words = (
        f"Held in {sum(held_flags)} of the {count_of(len(held_flags), 'complete ' + grain)} "
        f"since {first}"
    )
    if len(held_flags) == 1:
        words = f"{'Held' if streak_held else 'Not held'} in {first}, the one complete {grain}"
    elif streak > 1:
        words += f"; the last {streak} {'held' if streak_held else 'missed'}"
    return HeldRecord(sum(held_flags), len(held_flags), streak, streak_held, margin, words + ".")


def _holding(
    judge_: _Judge, judged: PeriodReading, measured: Sequence[PeriodReading], final: bool
) -> Verdict:
    terms, unit = judge_.terms, judge_.kpi.unit
    assert judged.value is not None
    shown = as_shown(judged.value, unit)
    margin = margin_of(terms, shown)
    complete = [
        r
        for r in measured
        if r.state is PeriodState.COMPLETE and r.period.start <= judged.period.start
    ]
    record = _record(judge_, complete, margin)
    evidence = judge_.evidence(judged)
    inside = meets(terms, shown)
    if terms.kind is GoalKind.BAND:
        side = "inside the band" if inside else "outside the band"
        gap = f"{difference(margin, unit)} {side} {condition_words(terms, unit)}"
    else:
        above = (margin >= 0) == (terms.kind is GoalKind.STAY_ABOVE)
        gap = (
            f"{difference(margin, unit)} {'above' if above else 'under'} the "
            f"{amount(terms.target, unit)} to hold"
        )
        if margin == 0:
            gap = f"exactly the {amount(terms.target, unit)} to hold"
    value = f"{judge_.value_words(judged)}, {gap}"
    base = Verdict(
        Status.NO_DATA,
        "",
        judged,
        progress_explanation=record.words,
        record=record,
        evidence=evidence,
    )
    if final:
        status = Status.ACHIEVED if inside else Status.MISSED
        reason = f"{'Met' if inside else 'Not met'} at the due date {terms.due_date}: {value}."
        return replace(base, status=status, reason=reason)
    if inside:
        reason = f"{value}; {record.words[0].lower()}{record.words[1:]}"
        return replace(base, status=Status.ON_TRACK, reason=reason)
    distance, reference = distance_outside(terms, shown)
    share = round(distance / reference, 9)
    status = Status.AT_RISK if share <= judge_.thresholds.at_risk_margin else Status.OFF_TRACK
    reason = value
    if evidence.thin:
        status = Status.AT_RISK
        reason += "; " + judge_.thin_words(evidence, condition_words(terms, unit))
    else:
        reason += f"; {record.words[0].lower()}{record.words[1:-1]}"
    return replace(base, status=status, reason=reason + ".")
