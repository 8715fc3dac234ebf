"""`/`: the plan in one screen. Counts by status, every objective with its purpose and latest
check-in, every goal with its value, target, verdict and its reason, a chart, the forecast
and the latest confidence, and what the numbers rest on: each PSA's last sync and coverage.

The verdicts and sentences are the alignment API's own (`/api/v1/alignment`), unchanged."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from html import escape

from app.goals.schemas import CheckInOut
from app.goals.views import GoalAlignmentOut, ObjectiveAlignmentOut
from app.goals.words import amount, period_label
from app.people.principal import Person
from app.web.data import SourceState, all_goals, all_objectives, status_counts
from app.web.goal_chart import goal_chart, target_words
from app.web.planning.recent import Recent
from app.web.render import header, page, status_badge


def progress_bar(progress: float, expected_progress: float) -> str:
    """The way done as a bar, with a mark where the plan expects it to be (an SVG: its
    sizes are attributes, so no inline style is needed)."""
    done = max(0.0, min(1.0, progress)) * 100
    expected = max(0.0, min(1.0, expected_progress)) * 100
    label = f"{done:.0f} % done, {expected:.0f} % expected"
    return (
        f"<svg class='bar' role='img' aria-label='{label}' viewBox='0 0 100 10' "
        f"preserveAspectRatio='none'><title>{label}</title>"
        "<rect width='100' height='10' rx='5' fill='#eceff3'/>"
        f"<rect width='{done:.0f}' height='10' rx='5' fill='#2a5db0'/>"
        f"<rect x='{min(expected, 98.5):.1f}' width='1.5' height='10' fill='#1d2433'/></svg>"
    )


def progress_words(goal: GoalAlignmentOut) -> str:
    """Increase/decrease: a bar of the way done against the plan's mark; threshold and band
    goals: the periods held, in the same words as the API."""
    words = escape(goal.progress_explanation or "")
    if goal.record is not None:
        return (
            f"<div>{goal.record.held} of {goal.record.judged} held</div>"
            f"<div class='muted'>{words}</div>"
        )
    if goal.progress is None or goal.expected_progress is None:
        return f"<span class='muted'>{words or '—'}</span>"
    return progress_bar(goal.progress, goal.expected_progress) + (
        f"<div class='muted'>{words}</div>"
    )


def forecast_words(goal: GoalAlignmentOut) -> str:
    """The range and the chance, with the API's explanation; or why there is none yet."""
    if goal.forecast is None:
        return f"<span class='muted'>{escape(goal.forecast_note or 'No forecast yet')}</span>"
    unit = goal.kpi.unit
    low, high = amount(goal.forecast.low, unit), amount(goal.forecast.high, unit)
    return (
        f"<div><strong>{low} to {high}</strong> by {goal.due_date}, "
        f"{goal.forecast.probability:.0%} chance</div>"
        f"<div class='muted'>{escape(goal.forecast.explanation)}</div>"
    )


def value_words(goal: GoalAlignmentOut) -> str:
    """The value judged, with its period and sample."""
    value = amount(goal.current_value, goal.kpi.unit)
    if goal.window is None:
        return f"<strong>{value}</strong>"
    when = period_label(
        goal.window.start, goal.window.end - timedelta(days=1), goal.evaluation_grain
    )
    so_far = " so far" if goal.window.partial else ""
    sample = f", n = {goal.sample_size:,}" if goal.sample_size else ""
    return f"<strong>{value}</strong> <span class='muted'>{escape(when)}{so_far}{sample}</span>"


def check_in_words(check_in: CheckInOut | None) -> str:
    if check_in is None:
        return "<span class='muted'>none yet</span>"
    note = f": {escape(check_in.note)}" if check_in.note else ""
    return f"{check_in.confidence}/10 on {check_in.date}{note}"


def goal_card(goal: GoalAlignmentOut, level: int) -> str:
    heading = f"h{min(level, 6)}"
    return (
        f"<article class='goal' id='goal-{goal.goal_id}'>"
        f"<{heading}><a href='/goals/{goal.goal_id}'>{escape(goal.title)}</a></{heading}>"
        f"<p class='muted'>{escape(goal.kpi.name)}, {escape(target_words(goal))}</p>"
        f"<p class='verdict'>{status_badge(goal.status.value)} {escape(goal.reason)}</p>"
        "<dl class='facts'>"
        f"<dt>Now</dt><dd>{value_words(goal)}</dd>"
        f"<dt>Progress</dt><dd>{progress_words(goal)}</dd>"
        f"<dt>Forecast</dt><dd>{forecast_words(goal)}</dd>"
        f"<dt>Confidence</dt><dd>{check_in_words(goal.latest_check_in)}</dd>"
        "</dl>"
        f"{goal_chart(goal)}</article>"
    )


def objective_section(objective: ObjectiveAlignmentOut, level: int = 2) -> str:
    heading = f"h{min(level, 6)}"
    purpose = f"<p class='purpose'>{escape(objective.purpose)}</p>" if objective.purpose else ""
    check_in = (
        f"<p class='checkin'>Latest check-in: {check_in_words(objective.latest_check_in)}</p>"
        if objective.latest_check_in
        else "<p class='checkin muted'>No check-in yet.</p>"
    )
    goals = "".join(goal_card(g, level + 1) for g in objective.goals)
    goals_block = f"<div class='goals'>{goals}</div>" if goals else ""
    children = "".join(objective_section(child, level + 1) for child in objective.objectives)
    return (
        f"<section class='objective' id='objective-{objective.id}'>"
        f"<{heading}>{escape(objective.title)} {status_badge(objective.status.value)}"
        f"</{heading}>{purpose}{check_in}{goals_block}{children}</section>"
    )


def counts_section(objectives: list[ObjectiveAlignmentOut]) -> str:
    goals = list(all_goals(objectives))
    objective_count = len(list(all_objectives(objectives)))
    if not goals:
        return ""
    items = "".join(
        f"<li>{status_badge(status.value)} <strong>{count}</strong> "
        f"{'goal' if count == 1 else 'goals'}</li>"
        for status, count in status_counts(goals)
    )
    return (
        "<section class='summary' aria-labelledby='summary-title'>"
        f"<h2 id='summary-title'>{len(goals)} goals in {objective_count} objectives</h2>"
        f"<ul class='counts'>{items}</ul></section>"
    )


def _when(moment: object) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if isinstance(moment, datetime) else "never"


def sources_section(sources: list[SourceState]) -> str:
    """From which day each PSA's history is held, when it last synced, how fresh its
    tickets and time are, and a warning when it is failing or stale: what every verdict on
    the page rests on."""
    if not sources:
        return (
            "<section class='coverage'><h2>Data</h2><p class='muted'>No PSA is connected yet: "
            "nothing can be judged.</p></section>"
        )
    items = []
    for source in sources:
        held = (
            f"history held from {source.history_from}"
            if source.history_from
            else "history not read in full yet (nothing from it is graded)"
        )
        synced = (
            f"last synced {source.synced_until:%Y-%m-%d %H:%M} UTC"
            if source.synced_until
            else f"not synced in full yet (last success: {_when(source.last_success_at)})"
        )
        warning = (
            f"<p class='warning' role='status'>{escape(source.warning)}</p>"
            if source.warning
            else ""
        )
        fresh = f"<p class='freshness'>{escape(source.freshness)}</p>" if source.freshness else ""
        items.append(
            f"<li class='source'>{escape(source.name)}: {held}; {synced}{fresh}{warning}</li>"
        )
    return (
        "<section class='coverage' aria-labelledby='data-title'><h2 id='data-title'>Data</h2>"
        f"<ul>{''.join(items)}</ul></section>"
    )


def stories_section(found: Recent) -> str:
    """This quarter's stories, the newest first, with a way to the quarter's review."""
    items = "".join(
        f"<li><blockquote>{escape(s.text)}</blockquote><p class='muted'>"
        f"{'An employee' if s.kind == 'employee' else 'A client'}'s story, {s.story_date}"
        + (f", recorded by {escape(s.author)}" if s.author else "")
        + "</p></li>"
        for s in reversed(found.stories)
    )
    listed = (
        f"<ul class='stories'>{items}</ul>"
        if items
        else ("<p class='muted'>No story recorded for this quarter yet.</p>")
    )
    return (
        "<section class='recent' aria-labelledby='stories-title'>"
        f"<h2 id='stories-title'>Stories of {escape(found.quarter)}</h2>{listed}"
        f"<p><a href='/reviews/{escape(found.quarter)}'>The review of {escape(found.quarter)}"
        "</a></p></section>"
    )


def check_ins_section(found: Recent) -> str:
    """The latest check-ins, newest first, each with what it is about and who made it."""
    items = "".join(
        f"<li><a href='{escape(c.href)}'>{escape(c.about)}</a>: "
        f"{c.check_in.confidence}/10 on {c.check_in.check_in_date}"
        + (f" by {escape(c.check_in.author)}" if c.check_in.author else "")
        + (f": {escape(c.check_in.note)}" if c.check_in.note else "")
        + "</li>"
        for c in found.check_ins
    )
    listed = f"<ul>{items}</ul>" if items else "<p class='muted'>No check-in yet.</p>"
    return (
        "<section class='recent' aria-labelledby='recent-checkins-title'>"
        f"<h2 id='recent-checkins-title'>Latest check-ins</h2>{listed}</section>"
    )


def plan_controls(person: Person | None) -> str:
    """For an editor or the owner: the way to the plan's forms. Nothing for a viewer."""
    if person is None or not person.can_edit:
        return ""
    return (
        "<p class='controls plan-controls'><a class='button' href='/plan/objectives/new'>"
        "New objective</a> <a href='/plan'>Plan</a></p>"
    )


def overview_page(
    objectives: list[ObjectiveAlignmentOut],
    as_of: date,
    last_quarter: str,
    sources: list[SourceState],
    *,
    person: Person | None = None,
    found: Recent | None = None,
) -> str:
    """`found`: this quarter's stories and the latest check-ins (app.web.planning.recent)."""
    body = "".join(objective_section(o) for o in objectives) or (
        "<section><p>No objectives yet. Write your plan down on the Plan page, or with "
        "<code>POST /api/v1/objectives</code> and <code>POST /api/v1/goals</code>.</p></section>"
    )
    recent = stories_section(found) + check_ins_section(found) if found else ""
    top = header(
        "Northstar scorecard", context=f"as of {as_of}", last_quarter=last_quarter, person=person
    )
    return page(
        f"Northstar scorecard, {as_of}",
        f"{top}<main>{plan_controls(person)}{counts_section(objectives)}"
        f"{sources_section(sources)}{body}{recent}</main>",
    )
