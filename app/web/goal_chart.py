"""A goal's chart, from the alignment API's own answer (`GoalAlignmentOut`): its series,
target, plan, milestones and forecast, in the words the API gives them. Nothing is judged
here: the chart draws what the verdict rests on."""

from __future__ import annotations

from datetime import date

from app.goals.views import GoalAlignmentOut, SeriesPointOut
from app.goals.words import amount
from app.web.charts import (
    LARGE,
    SMALL,
    ChartSpec,
    ForecastRange,
    Milestone,
    Point,
    render_chart,
)

# Draw the axis to the due date when it is this close to the last period shown; further
# off, a three-year goal would squeeze its history into a corner.
DUE_DATE_REACH_DAYS = 400


def target_words(goal: GoalAlignmentOut) -> str:
    """The goal's terms in a few words: up to 95.0 % by 2027-07-01, between 70 % and 80 %."""
    unit = goal.kpi.unit
    if goal.kind.value == "band":
        return f"between {amount(goal.low, unit)} and {amount(goal.high, unit)}"
    words = {
        "increase": "up to",
        "decrease": "down to",
        "stay_above": "at least",
        "stay_below": "at most",
    }
    return f"{words.get(goal.kind.value, '')} {amount(goal.target, unit)} by {goal.due_date}"


def points_of(series: list[SeriesPointOut]) -> tuple[Point, ...]:
    return tuple(
        Point(
            start=p.period_start,
            end=p.period_end,
            value=p.value,
            partial=p.partial,
            sample=p.sample_size,
            note=p.reason,
        )
        for p in series
    )


def _plan(goal: GoalAlignmentOut) -> tuple[tuple[date, float], ...]:
    """Increase/decrease goals: baseline at the start, each milestone's target on its day,
    the target on the due date (the line `expected_progress` follows)."""
    if not goal.kind.moves or goal.baseline is None or goal.target is None:
        return ()
    nodes = [(goal.start_date, goal.baseline)]
    for milestone in sorted(goal.milestones, key=lambda m: m.due_date):
        if milestone.target is not None and goal.start_date < milestone.due_date < goal.due_date:
            nodes.append((milestone.due_date, milestone.target))
    nodes.append((goal.due_date, goal.target))
    return tuple(nodes)


def _forecast(goal: GoalAlignmentOut, points: tuple[Point, ...]) -> ForecastRange | None:
    if goal.forecast is None:
        return None
    complete = [p for p in points if p.value is not None and not p.partial]
    if not complete:
        return None
    last = complete[-1]
    assert last.value is not None
    middle = date.fromordinal(last.start.toordinal() + (last.end - last.start).days // 2)
    return ForecastRange(
        from_day=middle,
        from_value=last.value,
        day=goal.due_date,
        low=goal.forecast.low,
        value=goal.forecast.projected_value,
        high=goal.forecast.high,
    )


def goal_spec(goal: GoalAlignmentOut) -> ChartSpec:
    every = points_of(goal.series)
    # Periods before any value (before the history held) are left off the drawing and
    # said in one line of the table instead.
    leading = next((i for i, p in enumerate(every) if p.value is not None), len(every))
    points = every[leading:] if leading < len(every) else every
    forecast = _forecast(goal, points)
    until = None
    if points and goal.due_date > points[-1].end:
        near = (goal.due_date - points[-1].end).days <= DUE_DATE_REACH_DAYS
        until = goal.due_date if forecast is not None or near else None
    unit = goal.kpi.unit
    summary = f"{goal.status_words}: {goal.reason}"
    if goal.forecast is not None:
        summary += f" {goal.forecast.explanation}"
    extra = [("Target", target_words(goal))]
    if 0 < leading < len(every):
        extra.insert(0, (f"Before {every[leading].start}", "no values (before the history held)"))
    if goal.forecast is not None:
        extra.append(
            (
                f"Forecast for {goal.due_date}",
                f"{amount(goal.forecast.low, unit)} to {amount(goal.forecast.high, unit)} "
                f"({goal.forecast.probability:.0%} chance the goal holds)",
            )
        )
    for milestone in goal.milestones:
        was = f" (was {amount(milestone.value, unit)})" if milestone.value is not None else ""
        words = f"{amount(milestone.target, unit)}: {milestone.status}{was}"
        extra.append((f"Milestone {milestone.due_date}", words))
    return ChartSpec(
        title=f"{goal.title}: {goal.kpi.name} per {goal.evaluation_grain}",
        unit=unit,
        grain=goal.evaluation_grain,
        points=points,
        summary=summary,
        target=goal.target if goal.kind.value != "band" else None,
        band=(goal.low, goal.high)
        if goal.kind.value == "band" and goal.low is not None and goal.high is not None
        else None,
        plan=_plan(goal),
        milestones=tuple(
            Milestone(m.due_date, m.target, m.status, m.title or str(m.due_date))
            for m in goal.milestones
        ),
        forecast=forecast,
        until=until,
        floor=goal.kpi.min,
        ceiling=goal.kpi.max,
        extra_rows=tuple(extra),
    )


def goal_chart(goal: GoalAlignmentOut, *, large: bool = False) -> str:
    return render_chart(
        goal_spec(goal), LARGE if large else SMALL, chart_id=f"goal-{goal.goal_id}-chart"
    )
