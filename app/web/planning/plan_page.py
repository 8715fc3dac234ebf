"""`/plan`: the plan as written down, with (for an editor or the owner) every way to change
it: new objectives and goals, milestones, check-ins, manual KPIs and their values, stories.
A viewer sees the same list with no control."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.api.deps import ContextDep, SessionDep
from app.goals import objectives, service
from app.goals.models import Goal, Objective
from app.goals.stories import quarter_of
from app.kpis import manual
from app.people.principal import Person
from app.web.planning.access import last_quarter, reader, today
from app.web.render import header, page

router = APIRouter(include_in_schema=False)


def _controls(person: Person, links: list[tuple[str, str]]) -> str:
    """Links to forms, for those who may use them; nothing for a viewer."""
    if not person.can_edit:
        return ""
    items = " · ".join(f"<a href='{href}'>{escape(words)}</a>" for href, words in links)
    return f"<p class='controls'>{items}</p>"


def _goal_item(person: Person, goal: Goal) -> str:
    archived = " <span class='muted'>(archived)</span>" if goal.archived_at else ""
    controls = _controls(
        person,
        [
            (f"/plan/goals/{goal.id}/edit", "Change"),
            (f"/plan/milestones/new?goal_id={goal.id}", "Add a milestone"),
            (f"/plan/check-ins/new?goal_id={goal.id}", "Check in"),
        ],
    )
    return f"<li><a href='/goals/{goal.id}'>{escape(goal.title)}</a>{archived}{controls}</li>"


def _objective_item(person: Person, objective: Objective, goals: list[Goal]) -> str:
    archived = " <span class='muted'>(archived)</span>" if objective.archived_at else ""
    controls = _controls(
        person,
        [
            (f"/plan/objectives/{objective.id}/edit", "Change or archive"),
            (f"/plan/goals/new?objective_id={objective.id}", "Add a goal"),
            (f"/plan/check-ins/new?objective_id={objective.id}", "Check in"),
            (f"/plan/objectives/new?parent_id={objective.id}", "Add an objective under it"),
        ],
    )
    purpose = f"<p class='purpose'>{escape(objective.purpose)}</p>" if objective.purpose else ""
    own = [g for g in goals if g.objective_id == objective.id]
    listed = (
        f"<ul>{''.join(_goal_item(person, g) for g in own)}</ul>"
        if own
        else "<p class='muted'>No goals yet.</p>"
    )
    return (
        f"<li class='plan-objective' id='plan-objective-{objective.id}'>"
        f"<strong>{escape(objective.title)}</strong>{archived}{purpose}{controls}{listed}</li>"
    )


@router.get("/plan", response_class=HTMLResponse)
def plan_view(request: Request, session: SessionDep, context: ContextDep) -> Response:
    person = reader(request, session)
    if isinstance(person, Response):
        return person
    day = today(context)
    rows = objectives.list_objectives(session, include_archived=True)
    goals = service.list_goals(session, include_archived=True)
    items = "".join(_objective_item(person, o, goals) for o in rows)
    manual_kpis = [k for k in manual.all_kpis(session) if k.manual]
    kpi_items = "".join(
        f"<li><a href='/kpis/{escape(k.key)}'>{escape(k.name)}</a>"
        + _controls(person, [(f"/plan/kpis/{escape(k.key)}/record", "Record values")])
        + "</li>"
        for k in manual_kpis
    )
    quarter = quarter_of(day)
    top_controls = _controls(
        person,
        [
            ("/plan/objectives/new", "New objective"),
            ("/plan/goals/new", "New goal"),
            ("/plan/kpis/new", "New manual KPI"),
            ("/plan/stories/new", "Record a story"),
        ],
    )
    body = (
        "<section aria-labelledby='plan-title'><h2 id='plan-title'>The plan</h2>"
        f"<p>Objectives and their goals, archived ones included. The review of this quarter: "
        f"<a href='/reviews/{quarter}'>{quarter}</a>.</p>{top_controls}"
        + (f"<ul class='plan-list'>{items}</ul>" if items else "<p>No objectives yet.</p>")
        + "</section><section aria-labelledby='manual-title'><h2 id='manual-title'>Manual KPIs"
        "</h2><p>What no PSA measures: a weekly team pulse, a client-trust score.</p>"
        + (f"<ul>{kpi_items}</ul>" if kpi_items else "<p class='muted'>None declared yet.</p>")
        + "</section>"
    )
    top = header(
        "Northstar scorecard",
        context=f"Plan, as of {day}",
        last_quarter=last_quarter(context),
        person=person,
    )
    return HTMLResponse(page("The plan: Northstar", f"{top}<main>{body}</main>"))
