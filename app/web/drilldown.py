"""A goal's drill-down: its KPI over the period judged, per client, technician, board or
priority, worst first, from app.kpis.breakdown (the numbers of `/api/v1/kpis/{key}/breakdown`).

"Worst" follows the goal: lowest first for a goal that wants the KPI up (increase,
stay_above), highest first for one that wants it down, furthest outside the band for a band.
For a KPI whose value is a share or a mean of events (SLA, satisfaction, response hours...),
a member whose value rests on fewer than `SMALL_SAMPLE` events (the alignment API's own
"small sample") is listed apart and never ranked: a client with one late ticket at 0 % is
not the worst client.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from html import escape

from sqlalchemy.orm import Session

from app.goals.evidence import SAMPLE_NOUNS, SMALL_SAMPLE
from app.goals.views import GoalAlignmentOut
from app.goals.words import amount, period_label
from app.kpis.breakdown import BreakdownRow, kpi_breakdown
from app.kpis.catalogue import KpiDefinition, Scope
from app.kpis.coverage import Coverage
from app.kpis.periods import Period

DIMENSIONS = ("client", "technician", "board", "priority")


@dataclass(frozen=True, slots=True)
class Drilldown:
    by: str
    offered: tuple[str, ...]  # the dimensions this KPI can be broken down by
    period: Period
    grain: str
    ranked: list[BreakdownRow]
    too_small: list[BreakdownRow]
    no_value: list[BreakdownRow]
    reason: str | None  # the period is not covered: no values
    partial: bool
    sample_noun: str | None
    source_names: dict[int, str]  # named beside a member when several PSAs are connected


def offered_dimensions(kpi: KpiDefinition) -> tuple[str, ...]:
    if kpi.manual:
        return ()
    return tuple(d for d in DIMENSIONS if Scope(d) in kpi.scopes)


def _badness(goal: GoalAlignmentOut, row: BreakdownRow) -> float:
    """Larger is worse, for the goal's own direction."""
    value = row.value or 0.0
    kind = goal.kind.value
    if kind == "band" and goal.low is not None and goal.high is not None:
        return max(goal.low - value, value - goal.high, 0.0)
    if kind in ("increase", "stay_above"):
        return -value
    return value


def drilldown(
    session: Session, goal: GoalAlignmentOut, kpi: KpiDefinition, by: str, today: date, tz: tzinfo
) -> Drilldown | None:
    """The breakdown of the goal's judged period by `by`; None when the goal has no judged
    period yet, or its KPI has no breakdown."""
    offered = offered_dimensions(kpi)
    if goal.window is None or not offered or by not in offered:
        return None
    period = Period(goal.window.start, goal.window.end)
    source = goal.scope.source
    rows = kpi_breakdown(session, kpi, Scope(by), period, source_id=source)
    every_source = Coverage.load(session, tz)
    coverage = every_source.for_source(source)
    reason = coverage.reason(period, today)
    noun = SAMPLE_NOUNS.get(kpi.key)
    with_value = [r for r in rows if r.value is not None and reason is None]
    small = [r for r in with_value if noun is not None and r.sample_size < SMALL_SAMPLE]
    ranked = sorted(
        (r for r in with_value if r not in small), key=lambda r: _badness(goal, r), reverse=True
    )
    return Drilldown(
        by=by,
        offered=offered,
        period=period,
        grain=goal.evaluation_grain,
        ranked=ranked,
        too_small=sorted(small, key=lambda r: _badness(goal, r), reverse=True),
        no_value=[r for r in rows if r.value is None or reason is not None],
        reason=reason,
        partial=coverage.partial(period, today),
        sample_noun=noun,
        source_names={sid: held.name for sid, held in every_source.sources.items()}
        if len(every_source.sources) > 1
        else {},
    )


def _tabs(goal_id: int, offered: tuple[str, ...], chosen: str) -> str:
    links = []
    for dimension in offered:
        current = " aria-current='page'" if dimension == chosen else ""
        links.append(
            f"<a href='/goals/{goal_id}?by={dimension}#drilldown'{current}>by {dimension}</a>"
        )
    return f"<nav class='tabs' aria-label='Break down by'>{''.join(links)}</nav>"


def _rows(
    rows: list[BreakdownRow],
    unit: str,
    names: dict[int, str],
    *,
    ranked: bool,
    note: str = "",
) -> str:
    out = []
    for index, row in enumerate(rows, start=1):
        rank = str(index) if ranked else "—"
        psa = names.get(row.source_id) if row.source_id is not None else None
        where = f"<div class='muted'>{escape(psa)}</div>" if psa else ""
        out.append(
            f"<tr><td>{rank}</td><td>{escape(row.name)}{where}</td>"
            f"<td>{escape(amount(row.value, unit))}</td><td>{row.sample_size:,}</td>"
            f"<td>{escape(note)}</td></tr>"
        )
    return "".join(out)


def render_drilldown(goal: GoalAlignmentOut, found: Drilldown | None) -> str:
    title = "<h2 id='drilldown-title'>Behind the number</h2>"
    if found is None:
        words = (
            "No period has been judged yet, so there is nothing to break down."
            if goal.window is None
            else f"{goal.kpi.name} has no breakdown by client, technician, board or priority."
        )
        return (
            f"<section id='drilldown' aria-labelledby='drilldown-title'>{title}"
            f"<p class='muted'>{escape(words)}</p></section>"
        )
    unit = goal.kpi.unit
    when = period_label(found.period.start, found.period.end - timedelta(days=1), found.grain)
    so_far = " (so far)" if found.partial else ""
    intro = (
        f"<p>{escape(goal.kpi.name)} in {escape(when)}{so_far} by {escape(found.by)}, worst "
        "first for this goal."
    )
    if found.sample_noun:
        intro += (
            f" Fewer than {SMALL_SAMPLE} {escape(found.sample_noun)} is too few to call a "
            f"{escape(found.by)} the worst: those are listed apart, not ranked."
        )
    intro += "</p>"
    if found.reason:
        body = (
            f"<p class='warning'>No values: this period is {escape(found.reason)} "
            "(the PSA data does not cover it).</p>"
        )
    else:
        small_note = f"small sample (under {SMALL_SAMPLE})"
        rows = (
            _rows(found.ranked, unit, found.source_names, ranked=True)
            + _rows(found.too_small, unit, found.source_names, ranked=False, note=small_note)
            + _rows(found.no_value, unit, found.source_names, ranked=False, note="nothing measured")
        )
        sample_head = escape(found.sample_noun or "sample").capitalize()
        body = (
            "<div class='scroll' tabindex='0' role='region' aria-label='Breakdown'>"
            "<table class='breakdown'><thead><tr><th scope='col'>Rank</th>"
            f"<th scope='col'>{escape(found.by.capitalize())}</th><th scope='col'>Value</th>"
            f"<th scope='col'>{sample_head}</th><th scope='col'>Note</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>"
            if rows
            else "<p class='muted'>Nothing was measured in this period.</p>"
        )
    csv = (
        f"/api/v1/kpis/{escape(goal.kpi.key)}/breakdown?by={escape(found.by)}"
        f"&amp;period={escape(_period_text(found.period, found.grain))}&amp;format=csv"
    )
    return (
        f"<section id='drilldown' aria-labelledby='drilldown-title'>{title}"
        f"{_tabs(goal.goal_id, found.offered, found.by)}{intro}{body}"
        f"<p><a href='{csv}'>Download this breakdown (CSV)</a></p></section>"
    )


def _period_text(period: Period, grain: str) -> str:
    """The period as `/kpis/{key}/breakdown?period=` writes it."""
    start = period.start
    if grain == "year":
        return str(start.year)
    if grain == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if grain == "month":
        return f"{start:%Y-%m}"
    if grain == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return start.isoformat()
