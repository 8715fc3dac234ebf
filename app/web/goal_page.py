"""`/goals/{id}`: one goal in depth. The chart large, the verdict and its reason (the
alignment API's words), milestones hit and missed, every check-in, the KPI's definition,
and the drill-down behind the number."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from app.goals.models import CheckIn
from app.goals.views import GoalAlignmentOut
from app.goals.words import amount
from app.kpis.catalogue import KpiDefinition
from app.people.principal import Person
from app.web.drilldown import Drilldown, render_drilldown
from app.web.goal_chart import goal_chart, target_words
from app.web.overview import check_in_words, forecast_words, progress_words, value_words
from app.web.render import header, moment_words, page, status_badge

MILESTONE_WORDS = {
    "hit": "Hit",
    "missed": "Missed",
    "pending": "Pending",
    "no_data": "No data",
}


def _controls(editing: bool, links: Sequence[tuple[str, str]]) -> str:
    """Links to the plan's forms, for an editor or the owner; nothing for a viewer."""
    if not editing:
        return ""
    items = " · ".join(f"<a href='{href}'>{escape(words)}</a>" for href, words in links)
    return f"<p class='controls'>{items}</p>"


def _milestones(goal: GoalAlignmentOut, editing: bool = False) -> str:
    add = _controls(editing, [(f"/plan/milestones/new?goal_id={goal.goal_id}", "Add a milestone")])
    if not goal.milestones:
        return f"<p class='muted'>This goal has no milestones.</p>{add}"
    unit = goal.kpi.unit
    change = "<th scope='col'>Change</th>" if editing else ""
    rows = "".join(
        f"<tr><td>{m.due_date}</td><td>{escape(m.title or '')}</td>"
        f"<td>{escape(amount(m.target, unit))}</td>"
        f"<td><span class='milestone {escape(m.status)}'>"
        f"{MILESTONE_WORDS.get(m.status, m.status)}</span></td>"
        f"<td>{escape(amount(m.value, unit))}</td>"
        + (
            f"<td><a href='/plan/milestones/{m.id}/edit'>Change or delete"
            f"<span class='visually-hidden'> the milestone due {m.due_date}</span></a></td>"
            if editing
            else ""
        )
        + "</tr>"
        for m in sorted(goal.milestones, key=lambda m: m.due_date)
    )
    return (
        "<div class='scroll' tabindex='0' role='region' aria-label='Milestones'>"
        "<table><thead><tr><th scope='col'>Due</th>"
        "<th scope='col'>Milestone</th><th scope='col'>Target</th><th scope='col'>Result</th>"
        f"<th scope='col'>Value</th>{change}</tr></thead><tbody>{rows}</tbody></table></div>"
        f"{add}"
    )


def _check_ins(check_ins: list[CheckIn]) -> str:
    if not check_ins:
        return "<p class='muted'>No check-ins yet.</p>"
    rows = "".join(
        f"<tr><td>{c.check_in_date}</td><td>{c.confidence}/10</td>"
        f"<td>{escape(c.note or '')}</td><td>{escape(c.author or '')}</td></tr>"
        for c in reversed(check_ins)
    )
    return (
        "<div class='scroll' tabindex='0' role='region' aria-label='Check-ins'>"
        "<table><thead><tr><th scope='col'>Date</th>"
        "<th scope='col'>Confidence</th><th scope='col'>Note</th><th scope='col'>By</th>"
        f"</tr></thead><tbody>{rows}</tbody></table></div>"
    )


def _history(lines: Sequence[str]) -> str:
    if not lines:
        return "<p class='muted'>No change recorded since this goal was written down.</p>"
    items = "".join(f"<li>{escape(line)}</li>" for line in lines)
    return f"<ul class='history'>{items}</ul>"


def _definition(kpi: KpiDefinition, goal: GoalAlignmentOut) -> str:
    scope = goal.scope
    narrowed = [
        f"{name} {value}"
        for name, value in (
            ("source", scope.source),
            ("client", scope.client),
            ("technician", scope.technician),
            ("board", scope.board),
            ("priority", scope.priority),
        )
        if value is not None
    ]
    where = ", ".join(narrowed) if narrowed else "the whole company (every PSA connected)"
    judged = goal.window.rule if goal.window else "No period judged yet."
    coverage = ""
    if goal.coverage is not None:
        coverage = (
            f"<dt>Data held</dt><dd>from {goal.coverage.history_from or 'not yet complete'}, "
            f"synced until {moment_words(goal.coverage.synced_until)}</dd>"
        )
    return (
        "<dl class='facts'>"
        f"<dt>KPI</dt><dd><a href='/kpis/{escape(kpi.key)}'>{escape(kpi.name)}</a> "
        f"(<code>{escape(kpi.key)}</code>, {escape(kpi.unit)})</dd>"
        f"<dt>Definition</dt><dd>{escape(kpi.definition)}</dd>"
        f"<dt>Scope</dt><dd>{escape(str(where))}</dd>"
        f"<dt>Judged on</dt><dd>{escape(judged)}</dd>{coverage}</dl>"
    )


def goal_page(
    goal: GoalAlignmentOut,
    kpi: KpiDefinition,
    check_ins: list[CheckIn],
    found: Drilldown | None,
    last_quarter: str,
    history: Sequence[str] = (),
    person: Person | None = None,
) -> str:
    """`history`: the goal's changes in words, newest first. An editor (`person`) also
    sees the links to change the goal, its milestones, and to check in."""
    editing = person is not None and person.can_edit
    gid = goal.goal_id
    evidence = ""
    if goal.evidence is not None and goal.evidence.interval_low is not None:
        unit = goal.kpi.unit
        evidence = (
            f"<dt>Evidence</dt><dd>{goal.evidence.sample_size:,} events; 90 % interval "
            f"{escape(amount(goal.evidence.interval_low, unit))} to "
            f"{escape(amount(goal.evidence.interval_high, unit))}"
            + (" (small sample)" if goal.evidence.small_sample else "")
            + "</dd>"
        )
    method = f"<div class='muted'>{escape(goal.forecast.method)}</div>" if goal.forecast else ""
    body = (
        "<section class='goal-head' aria-labelledby='goal-title'>"
        f"<h2 id='goal-title'>{escape(goal.title)}</h2>"
        f"<p class='muted'>{escape(goal.kpi.name)}, {escape(target_words(goal))}; from "
        f"{goal.start_date}</p>"
        f"<p class='verdict'>{status_badge(goal.status.value)} {escape(goal.reason)}</p>"
        "<dl class='facts'>"
        f"<dt>Now</dt><dd>{value_words(goal)}</dd>"
        f"<dt>Progress</dt><dd>{progress_words(goal)}</dd>"
        f"<dt>Forecast</dt><dd>{forecast_words(goal)}{method}</dd>"
        f"<dt>Confidence</dt><dd>{check_in_words(goal.latest_check_in)}</dd>{evidence}"
        "</dl>"
        f"{goal_chart(goal, large=True)}"
        + _controls(
            editing,
            [
                (f"/plan/goals/{gid}/edit", "Change this goal"),
                (f"/plan/check-ins/new?goal_id={gid}", "Check in"),
            ],
        )
        + "</section>"
        f"{render_drilldown(goal, found)}"
        "<section aria-labelledby='milestones-title'><h2 id='milestones-title'>Milestones</h2>"
        f"{_milestones(goal, editing)}</section>"
        "<section aria-labelledby='checkins-title'><h2 id='checkins-title'>Check-ins</h2>"
        f"{_check_ins(check_ins)}</section>"
        "<section aria-labelledby='history-title'><h2 id='history-title'>History of this goal"
        f"</h2>{_history(history)}</section>"
        "<section aria-labelledby='kpi-title'><h2 id='kpi-title'>What is measured</h2>"
        f"{_definition(kpi, goal)}</section>"
    )
    top = header(
        "Northstar scorecard",
        context=f"Goal, as of {goal.as_of}",
        last_quarter=last_quarter,
        person=person,
    )
    return page(f"{goal.title}: Northstar", f"{top}<main>{body}</main>")
