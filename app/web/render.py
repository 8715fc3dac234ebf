"""HTML for the scorecard page: server-rendered, readable without JavaScript, fine on a phone.

Every status is written in words as well as coloured, and every text from the database is
escaped. No script, and no `style` attribute: the pages' Content-Security-Policy allows the
one stylesheet below by its hash and nothing else (app.api.security_headers).
"""

from __future__ import annotations

from datetime import date, timedelta
from html import escape
from pathlib import Path

from app.goals.views import (
    GoalAlignmentOut,
    ObjectiveAlignmentOut,
    SeriesPointOut,
    SourceHistoryOut,
)
from app.goals.words import amount, period_label

STATUS_WORDS = {
    "not_started": "Not started",
    "achieved": "Achieved",
    "on_track": "On track",
    "at_risk": "At risk",
    "off_track": "Off track",
    "missed": "Missed",
    "no_data": "No data yet",
}

# Inlined into every page: one request, and the page still reads without it.
STYLE = (Path(__file__).with_name("scorecard.css")).read_text(encoding="utf-8")


def page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )


def login_page(problem: str | None = None) -> str:
    note = f"<p class='status off_track'>{escape(problem)}</p>" if problem else ""
    return page(
        "Northstar: sign in",
        "<form method='post' action='/login'><h1>Northstar</h1>"
        "<p>Paste an API key to see your scorecard. Create one with "
        "<code>northstar apikey create --scope read</code>.</p>"
        f"{note}<label for='api_key'>API key</label>"
        "<input id='api_key' name='api_key' type='password' autocomplete='current-password' "
        "required><button type='submit'>Show my scorecard</button></form>",
    )


_number = amount


def sparkline(points: list[SeriesPointOut], width: int = 110, height: int = 28) -> str:
    """An inline SVG line of the KPI's recent periods (gaps where a period had no value)."""
    values = [p.value for p in points]
    known = [v for v in values if v is not None]
    if len(known) < 2:
        return "<span class='muted'>not enough history</span>"
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    step = width / max(1, len(values) - 1)
    segments: list[list[str]] = []
    current: list[str] = []
    for index, value in enumerate(values):
        if value is None:
            if current:
                segments.append(current)
            current = []
            continue
        y = height - 2 - (value - low) / span * (height - 4)
        current.append(f"{index * step:.1f},{y:.1f}")
    if current:
        segments.append(current)
    lines = "".join(
        f"<polyline fill='none' stroke='#4a7bd0' stroke-width='2' points='{' '.join(s)}'/>"
        for s in segments
    )
    label = f"from {_number(known[0], '')} to {_number(known[-1], '')}"
    return (
        f"<svg role='img' aria-label='{escape(label)}' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}'>{lines}</svg>"
    )


def _status(status: str) -> str:
    return f"<span class='status {escape(status)}'>{STATUS_WORDS.get(status, status)}</span>"


def _progress(goal: GoalAlignmentOut) -> str:
    """Increase/decrease: a bar of the way done against the plan's mark; threshold and band
    goals: the periods held, in the same words as the API."""
    words = escape(goal.progress_explanation or "")
    if goal.record is not None:
        return f"<div>{goal.record.held} of {goal.record.judged} held</div>" + (
            f"<div class='muted'>{words}</div>"
        )
    if goal.progress is None or goal.expected_progress is None:
        return f"<span class='muted'>{words or '—'}</span>"
    return progress_bar(goal.progress, goal.expected_progress) + (
        f"<div class='muted'>{words}</div>"
    )


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
        f"<rect width='{done:.0f}' height='10' rx='5' fill='#4a7bd0'/>"
        f"<rect x='{min(expected, 98.5):.1f}' width='1.5' height='10' fill='#1d2433'/></svg>"
    )


def _target(goal: GoalAlignmentOut) -> str:
    unit = goal.kpi.unit
    if goal.kind.value == "band":
        return f"between {_number(goal.low, unit)} and {_number(goal.high, unit)}"
    words = {
        "increase": "up to",
        "decrease": "down to",
        "stay_above": "at least",
        "stay_below": "at most",
    }
    return f"{words.get(goal.kind.value, '')} {_number(goal.target, unit)} by {goal.due_date}"


def _forecast(goal: GoalAlignmentOut) -> str:
    """The range and the chance, in the words of the API's explanation."""
    if goal.forecast is None:
        return f"<span class='muted'>{escape(goal.forecast_note or 'No forecast yet')}</span>"
    unit = goal.kpi.unit
    low, high = _number(goal.forecast.low, unit), _number(goal.forecast.high, unit)
    return (
        f"<div>{low} to {high}, {goal.forecast.probability:.0%} chance</div>"
        f"<div class='muted'>{escape(goal.forecast.explanation)}</div>"
    )


def _now(goal: GoalAlignmentOut) -> str:
    """The value judged, with its period and sample."""
    value = _number(goal.current_value, goal.kpi.unit)
    if goal.window is None:
        return value
    when = period_label(
        goal.window.start, goal.window.end - timedelta(days=1), goal.evaluation_grain
    )
    so_far = " so far" if goal.window.partial else ""
    sample = f", n = {goal.sample_size:,}" if goal.sample_size else ""
    return f"{value}<div class='muted'>{escape(when)}{so_far}{sample}</div>"


def _goal_row(goal: GoalAlignmentOut) -> str:
    check_in = goal.latest_check_in
    confidence = (
        f"{check_in.confidence}/10 on {check_in.date}"
        + (f": {escape(check_in.note)}" if check_in.note else "")
        if check_in
        else "<span class='muted'>none yet</span>"
    )
    return (
        "<tr>"
        f"<td><strong>{escape(goal.title)}</strong><div class='muted'>{escape(goal.kpi.name)}, "
        f"{escape(_target(goal))}</div></td>"
        f"<td>{_status(goal.status.value)}<div class='muted'>{escape(goal.reason)}</div></td>"
        f"<td>{_now(goal)}</td>"
        f"<td>{_progress(goal)}</td>"
        f"<td class='wide'>{sparkline(goal.series)}</td>"
        f"<td class='wide'>{_forecast(goal)}</td>"
        f"<td class='wide'>{confidence}</td>"
        "</tr>"
    )


def _objective(objective: ObjectiveAlignmentOut, depth: int) -> str:
    heading = "h2" if depth == 0 else "h3"
    rows = "".join(_goal_row(g) for g in objective.goals)
    table = (
        "<table><thead><tr><th>Goal</th><th>Status</th><th>Now</th><th>Progress</th>"
        "<th class='wide'>Trend</th><th class='wide'>Forecast</th>"
        "<th class='wide'>Confidence</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        if rows
        else ""
    )
    children = "".join(_objective(child, depth + 1) for child in objective.objectives)
    purpose = f"<p class='purpose'>{escape(objective.purpose)}</p>" if objective.purpose else ""
    return (
        f"<section><{heading}>{escape(objective.title)} {_status(objective.status.value)}"
        f"</{heading}>{purpose}{table}{children}</section>"
    )


def _histories(sources: list[SourceHistoryOut]) -> str:
    """From which day each PSA's history is held, and when it last synced: what every
    verdict on the page rests on."""
    if not sources:
        return "<p class='muted'>No PSA is connected yet: nothing can be judged.</p>"
    items = []
    for source in sources:
        held = (
            f"history held from {source.history_from}"
            if source.history_from
            else "history not read in full yet (nothing from it is graded)"
        )
        synced = (
            f"synced {source.synced_until:%Y-%m-%d %H:%M} UTC"
            if source.synced_until
            else "not synced yet"
        )
        items.append(f"<li>{escape(source.name)}: {held}; {synced}</li>")
    return f"<section class='coverage'><h2>Data</h2><ul>{''.join(items)}</ul></section>"


def scorecard_page(
    objectives: list[ObjectiveAlignmentOut],
    as_of: date,
    last_quarter: str,
    sources: list[SourceHistoryOut],
) -> str:
    body = "".join(_objective(o, 0) for o in objectives) or (
        "<section><p>No objectives yet. Write your plan down with "
        "<code>POST /api/v1/objectives</code> and <code>POST /api/v1/goals</code>.</p></section>"
    )
    header = (
        "<header><h1>Northstar scorecard</h1>"
        f"<span>as of {as_of} · <a href='/api/v1/reviews/{last_quarter}?format=html'>"
        f"Review of {last_quarter}</a> · <a href='/api/v1/docs'>API</a> · "
        "<form class='signout' method='post' action='/logout'>"
        "<button type='submit'>Sign out</button></form></span></header>"
    )
    return page(
        f"Northstar scorecard, {as_of}", f"{header}<main>{body}{_histories(sources)}</main>"
    )
