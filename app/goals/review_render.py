"""The quarterly review as Markdown and as a plain HTML page a person can read: a heading and
a table per objective, statuses in words (colour only helps), every text escaped, no script.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.goals.alignment import Status
from app.goals.history import when_words
from app.goals.plan_schemas import PlanChangeOut, StoryOut
from app.goals.schemas import CheckInOut
from app.goals.views import ReviewGoalOut, ReviewObjectiveOut, ReviewOut
from app.goals.words import plain

COLUMNS = ("Goal", "KPI", "Target", "Start", "End", "Change", "Status at start", "Status at end")


def number(value: float | None, unit: str = "") -> str:
    """A value as a person writes it: 95.5 %, 1,000,000, 3.5 h; an em dash when missing."""
    if value is None:
        return "—"
    return plain(value) + {"percent": " %", "hours": " h"}.get(unit, "")


def _signed(value: float | None, unit: str) -> str:
    """A change: percentages change by points, not by per cent."""
    if value is None:
        return "—"
    text = ("+" if value > 0 else "") + number(value, "" if unit == "percent" else unit)
    return text + (" pts" if unit == "percent" else "")


def target_text(goal: ReviewGoalOut) -> str:
    unit = goal.kpi.unit
    if goal.kind.value == "band":
        return f"between {number(goal.low, unit)} and {number(goal.high, unit)}"
    words = {
        "increase": "increase to",
        "decrease": "decrease to",
        "stay_above": "stay at or above",
        "stay_below": "stay at or below",
    }[goal.kind.value]
    return f"{words} {number(goal.target, unit)} by {goal.due_date}"


def _cells(goal: ReviewGoalOut) -> list[str]:
    unit = goal.kpi.unit
    return [
        goal.title,
        goal.kpi.name,
        target_text(goal),
        number(goal.start.value, unit),
        number(goal.end.value, unit),
        _signed(goal.kpi_change, unit),
        goal.start.status_words,
        goal.end.status_words + (" (changed)" if goal.status_changed else ""),
    ]


def summary(review: ReviewOut) -> str:
    """The review in one or two sentences: goals by status at the end, and how many moved."""
    goals = [g for o in review.objectives for g in o.goals]
    counts = {s: sum(1 for g in goals if g.end.status is s) for s in Status}
    parts = [f"{counts[s]} {s.words.lower()}" for s in Status if counts[s]]
    return (
        f"{len(goals)} goal(s) at the end of the quarter: {', '.join(parts) or 'none'}. "
        f"{len(review.status_changed)} changed status during the quarter."
    )


def _check_in_line(check_in: CheckInOut) -> str:
    who = f" ({check_in.author})" if check_in.author else ""
    note = f": {check_in.note}" if check_in.note else ""
    return f"{check_in.date}{who}, confidence {check_in.confidence}/10{note}"


def _details(objective: ReviewObjectiveOut, tz: tzinfo) -> Iterable[tuple[str, list[str]]]:
    """(heading, lines) of what goes under an objective's table."""
    milestones = [
        f"{g.title}: {m.title or 'milestone'} due {m.due_date}"
        + (f", target {number(m.target, g.kpi.unit)}" if m.target is not None else "")
        + f": {m.status}"
        + (f" (value {number(m.value, g.kpi.unit)})" if m.value is not None else "")
        for g in objective.goals
        for m in g.milestones
    ]
    changes = [
        f"{g.title}: {c.before.words} → {c.after.words} on {c.day}"
        for g in objective.goals
        for c in g.status_changes
    ]
    check_ins = [f"Objective: {_check_in_line(c)}" for c in objective.check_ins] + [
        f"{g.title}: {_check_in_line(c)}" for g in objective.goals for c in g.check_ins
    ]
    reasons = [f"{g.title}: {g.end.reason}" for g in objective.goals if g.end.reason]
    archived = [f"{g.title}: archived on {g.archived_on}" for g in objective.goals if g.archived_on]
    yield "Why each status is what it is", reasons
    yield "Milestones due this quarter", milestones
    yield "Status changes", changes
    yield "Check-ins", check_ins
    yield "Changes to the plan", [_change_line(c, tz) for c in objective.plan_changes]
    yield "Archived", archived


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _change_line(change: PlanChangeOut, tz: tzinfo) -> str:
    when = when_words(change.at, tz)
    earlier = "" if change.during_quarter is not False else " (before the quarter)"
    return f"{when}{earlier}, {change.by or 'someone unrecorded'}: {change.words}"


def _story_line(story: StoryOut) -> str:
    who = f", recorded by {story.author}" if story.author else ""
    kind = "an employee" if story.kind.value == "employee" else "a client"
    return f"{story.date}, {kind} story{who}: {story.text}"


STORIES = "Stories of the quarter"
WINS = "What a win will feel like"


def _wins(review: ReviewOut) -> list[str]:
    return [
        f"{_heading(o)}: {o.win_feels_like}"
        for o in review.objectives
        if o.win_feels_like and o.win_feels_like.strip()
    ]


ADDED_LATER = "Added after the quarter (not graded in it)"


def _added_later(review: ReviewOut) -> list[str]:
    return [f"{g.title} (written on {g.created_on})" for g in review.added_later]


def _heading(objective: ReviewObjectiveOut) -> str:
    return " › ".join(objective.path)


def _about(objective: ReviewObjectiveOut) -> list[str]:
    lines = []
    if objective.purpose:
        lines.append(f"Purpose: {objective.purpose}")
    facts = [
        f"Owner: {objective.owner}" if objective.owner else "",
        f"Horizon: {objective.horizon}" if objective.horizon else "",
        f"Status: {objective.status_start.words} at the start, "
        f"{objective.status_end.words} at the end",
        f"Archived on {objective.archived_on}" if objective.archived_on else "",
    ]
    lines.append(". ".join(f for f in facts if f) + ".")
    return lines


# ---- Markdown ------------------------------------------------------------------------------


def _md(text: str) -> str:
    """Safe inside a Markdown table cell or list item: one line, pipes escaped, and angle
    brackets escaped so a renderer that allows HTML shows them rather than running them."""
    text = " ".join(text.split())
    for char in ("\\", "|", "<", ">"):
        text = text.replace(char, "\\" + char)
    return text


def to_markdown(review: ReviewOut) -> str:
    lines = [
        f"# Quarterly review {review.quarter}",
        "",
        f"From {review.start} to {review.end} (time zone {review.timezone}). "
        "Statuses at the start and the end are as known on those days.",
        "",
        _md(summary(review)),
    ]
    tz = _zone(review.timezone)
    if review.stories:
        lines += ["", f"## {STORIES}", ""]
        lines += [f"- {_md(_story_line(story))}" for story in review.stories]
    for objective in review.objectives:
        lines += ["", f"## {_md(_heading(objective))}", ""]
        lines += [_md(line) for line in _about(objective)]
        lines.append("")
        if objective.goals:
            lines.append("| " + " | ".join(COLUMNS) + " |")
            lines.append("|" + "---|" * len(COLUMNS))
            for goal in objective.goals:
                lines.append("| " + " | ".join(_md(c) for c in _cells(goal)) + " |")
        else:
            lines.append("No goals of its own; its status comes from its child objectives.")
        for heading, items in _details(objective, tz):
            if items:
                lines += ["", f"**{heading}**", ""] + [f"- {_md(item)}" for item in items]
    if review.added_later:
        lines += ["", f"## {ADDED_LATER}", ""]
        lines += [f"- {_md(item)}" for item in _added_later(review)]
    if wins := _wins(review):
        lines += ["", f"## {WINS}", ""] + [f"- {_md(item)}" for item in wins]
    return "\n".join(lines) + "\n"


# ---- HTML ----------------------------------------------------------------------------------

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem;
       color: #1d2430; line-height: 1.45; }
table { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1rem; }
th, td { border: 1px solid #c9ced6; padding: 0.35rem 0.5rem; text-align: left;
         vertical-align: top; }
th { background: #f1f3f6; }
.status { font-weight: 600; }
.achieved { color: #176b3a; } .on_track { color: #1f6f43; } .at_risk { color: #8a5a00; }
.off_track { color: #a3212b; } .no_data { color: #5b6472; }
.purpose { color: #3c4553; }
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _status_html(status: Status, extra: str = "") -> str:
    return f'<span class="status {status.value}">{_e(status.words + extra)}</span>'


def to_html(review: ReviewOut) -> str:
    title = f"Quarterly review {review.quarter}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f"<p>From {review.start} to {review.end} (time zone {_e(review.timezone)}). "
        "Statuses at the start and the end are as known on those days.</p>",
        f"<p>{_e(summary(review))}</p>",
    ]
    tz = _zone(review.timezone)
    if review.stories:
        parts.append(f'<section class="stories"><h2>{_e(STORIES)}</h2><ul>')
        parts += [f"<li>{_e(_story_line(story))}</li>" for story in review.stories]
        parts.append("</ul></section>")
    for objective in review.objectives:
        tag = "h2" if objective.parent_id is None else "h3"
        parts.append(f"<section><{tag}>{_e(_heading(objective))}</{tag}>")
        parts += [f'<p class="purpose">{_e(line)}</p>' for line in _about(objective)]
        if objective.goals:
            parts.append(f"<table><caption>Goals of {_e(objective.title)}</caption><thead><tr>")
            parts += [f'<th scope="col">{_e(c)}</th>' for c in COLUMNS]
            parts.append("</tr></thead><tbody>")
            for goal in objective.goals:
                cells = _cells(goal)
                row = [f"<td>{_e(c)}</td>" for c in cells[:6]]
                row.append(f"<td>{_status_html(goal.start.status)}</td>")
                changed = " (changed)" if goal.status_changed else ""
                row.append(f"<td>{_status_html(goal.end.status, changed)}</td>")
                parts.append("<tr>" + "".join(row) + "</tr>")
            parts.append("</tbody></table>")
        else:
            parts.append("<p>No goals of its own; its status comes from its child objectives.</p>")
        for heading, items in _details(objective, tz):
            if items:
                parts.append(f"<h4>{_e(heading)}</h4><ul>")
                parts += [f"<li>{_e(item)}</li>" for item in items]
                parts.append("</ul>")
        parts.append("</section>")
    if review.added_later:
        parts.append(f"<section><h2>{_e(ADDED_LATER)}</h2><ul>")
        parts += [f"<li>{_e(item)}</li>" for item in _added_later(review)]
        parts.append("</ul></section>")
    if wins := _wins(review):
        parts.append(f'<section class="wins"><h2>{_e(WINS)}</h2><ul>')
        parts += [f"<li>{_e(item)}</li>" for item in wins]
        parts.append("</ul></section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
