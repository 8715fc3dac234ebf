"""A goal's preview before it is saved: its baseline and the KPI's last 12 periods, from
the data held now.

The goal is written exactly as saving would write it (`app.goals.service.create_goal`,
every check included) and the transaction is then rolled back: nothing is kept, and what
the preview shows is what saving would give. The baseline comes from the same logic as a
saved goal's (`compute_baseline` over `baseline_period`), the periods from the function
behind `/api/v1/kpis/{key}/values`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from html import escape
from typing import Any, cast

from fastapi import Request
from sqlalchemy.orm import Session

from app.api.context import ServiceContext
from app.goals import service
from app.goals.evaluate import compute_baseline
from app.goals.schemas import GoalIn
from app.goals.words import amount, period_label
from app.kpis.catalogue import Grain
from app.kpis.coverage import PeriodState
from app.kpis.manual import get_kpi
from app.kpis.router import kpi_series
from app.kpis.schemas import SeriesOut
from app.kpis.scope import resolve_scope
from app.people.principal import Person
from app.web.planning.access import today as today_in

STATE_WORDS = {
    PeriodState.PARTIAL: "that period is not over yet (or not synced to its end)",
    PeriodState.BEFORE_HISTORY: "that period starts before the history Northstar holds",
    PeriodState.NOT_SYNCED: "that period has not been synced yet",
}


@dataclass(frozen=True)
class Preview:
    unit: str
    grain: Grain
    baseline_label: str
    baseline: float | None
    baseline_note: str
    series: SeriesOut


def goal_preview(
    session: Session, request: Request, context: ServiceContext, body: GoalIn, person: Person
) -> Preview:
    """Raises the service's `InvalidInput` for a goal that saving would refuse."""
    tz = context.settings.tz
    today = today_in(context)
    try:
        row = service.create_goal(session, body, today, tz, by=person.name)
        kpi = get_kpi(session, row.kpi_key)
        scope = resolve_scope(
            session,
            kpi,
            source=row.scope_source,
            client=row.scope_client,
            technician=row.scope_technician,
            board=row.scope_board,
            priority=row.scope_priority,
        )
        value, reading = compute_baseline(session, row, kpi, scope, tz=tz, as_of=today)
        grain = Grain(row.evaluation_grain)
        label = period_label(reading.period.start, reading.period.last_day, grain)
        # A baseline typed in the form is the goal's; the computed one is shown beside it.
        note = "" if value is not None else STATE_WORDS.get(reading.state, "no value yet")
    finally:
        session.rollback()
    series = kpi_series(
        kpi.key,
        request,
        session,
        context,
        # The page is signed in already; the function reads no key of its own.
        cast(Any, None),
        grain=grain,
        from_=None,
        to=None,
        source=body.scope.source,
        client=body.scope.client,
        technician=body.scope.technician,
        board=body.scope.board,
        priority=body.scope.priority,
        format="json",
    )
    return Preview(kpi.unit, grain, label, value, note, cast(SeriesOut, series))


def preview_section(preview: Preview) -> str:
    """The baseline in a sentence, and the periods as a table (newest last)."""
    unit = preview.unit
    if preview.baseline is not None:
        baseline = (
            f"<p class='baseline'>Baseline over {escape(preview.baseline_label)}: "
            f"<strong>{escape(amount(preview.baseline, unit))}</strong>.</p>"
        )
    else:
        baseline = (
            f"<p class='baseline'>No baseline over {escape(preview.baseline_label)} yet: "
            f"{escape(preview.baseline_note)}. Northstar computes it once it can.</p>"
        )
    rows = []
    for value in preview.series.values:
        label = period_label(
            value.period_start, value.period_end - timedelta(days=1), preview.grain
        )
        shown = amount(value.value, unit)
        note = " (so far)" if value.partial else ""
        if value.reason:
            note = " (no data held for it)"
        rows.append(
            f"<tr><td>{escape(label)}</td><td>{escape(shown)}{note}</td>"
            f"<td>{value.sample_size:,}</td></tr>"
        )
    table = (
        "<div class='scroll' tabindex='0' role='region' aria-label='The last periods'>"
        "<table><caption>The KPI over the last periods, from the data held now</caption>"
        "<thead><tr><th scope='col'>Period</th><th scope='col'>Value</th>"
        f"<th scope='col'>Sample</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )
    return (
        "<section class='preview' aria-labelledby='preview-title'>"
        "<h2 id='preview-title'>Preview (not saved yet)</h2>"
        f"{baseline}{table}<p class='muted'>Change the goal below and preview again, or save "
        "it.</p></section>"
    )
