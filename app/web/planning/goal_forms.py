"""Goals in the browser: choose the KPI first (a plain GET form), then the goal's form offers
that KPI's scopes, periods and every kind of goal explained in words; preview the baseline
and the last 12 periods before saving; change a goal; archive and restore it.

Forms are parsed into the API's `GoalIn` / `GoalPatch` and handed to the same service as
`/api/v1/goals`, in the name of the person signed in."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from html import escape
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select as sql_select
from sqlalchemy.orm import Session

from app.api.context import ServiceContext
from app.api.deps import ContextDep, SessionDep
from app.errors import InvalidInput, NotFound
from app.goals import objectives, service
from app.goals.schemas import GoalIn
from app.kpis import manual
from app.kpis.catalogue import KpiDefinition, Scope
from app.people.principal import Person
from app.sources.models import Source
from app.web.pages import problem_page
from app.web.planning.access import answer_post, done, editor, last_quarter, today
from app.web.planning.fields import (
    Errors,
    buttons,
    checkbox,
    csrf_input,
    field,
    given,
    hidden,
    planning_page,
    problem_note,
    radios,
    schema_errors,
    select,
    service_errors,
    typed,
)
from app.web.planning.goal_preview import goal_preview, preview_section

router = APIRouter(include_in_schema=False)

KINDS = (
    ("increase", "Increase", "move the KPI up from its baseline to a target by the due date"),
    ("decrease", "Decrease", "bring the KPI down from its baseline to a target by the due date"),
    ("stay_above", "Stay above", "keep the KPI at or above a threshold in every period judged"),
    ("stay_below", "Stay below", "keep the KPI at or below a threshold in every period judged"),
    ("band", "Band", "keep the KPI between a low and a high (utilisation 70 to 80 %)"),
)
SCOPE_WORDS = {
    Scope.CLIENT: ("Client", "Northstar's client id, or the PSA's own id with a source."),
    Scope.TECHNICIAN: ("Technician", "Northstar's technician id, or the PSA's own id."),
    Scope.BOARD: ("Board or queue", "The board (ConnectWise) or queue (Autotask) name."),
    Scope.PRIORITY: ("Priority", "P1 to P4, or a priority's name."),
}
TERMS = (
    "objective_id",
    "title",
    "kind",
    "baseline",
    "baseline_start",
    "baseline_end",
    "target",
    "low",
    "high",
    "start_date",
    "due_date",
    "evaluation_grain",
    "weight",
)
SCOPES = tuple(f"scope_{s.value}" for s in Scope)


def objective_options(session: Session) -> list[tuple[str, str]]:
    return [(str(o.id), o.title) for o in objectives.list_objectives(session)]


def kpi_picker(session: Session, values: Mapping[str, str], errors: Errors) -> str:
    """Step one, a GET form: the objective and the KPI; the goal's form follows."""
    kpis = [(k.key, f"{k.name} ({k.unit})") for k in manual.all_kpis(session)]
    return (
        "<form class='plan' method='get' action='/plan/goals/new'>"
        "<p>First choose what the goal measures: its form then offers what that KPI can be "
        "narrowed to and judged by.</p>"
        + select("objective_id", "Objective", objective_options(session), values, errors)
        + select("kpi", "KPI", kpis, values, errors, hint="Every KPI, manual ones included.")
        + "<div class='actions'><button type='submit'>Next: the goal's terms</button></div></form>"
    )


def _sources(session: Session) -> list[tuple[str, str]]:
    rows = session.execute(sql_select(Source.id, Source.name).order_by(Source.id))
    return [("", "Every PSA connected")] + [(str(i), name) for i, name in rows]


def goal_fields(
    session: Session, kpi: KpiDefinition, values: Mapping[str, str], errors: Errors
) -> str:
    """The terms of a goal on `kpi` (its key is sent as a hidden field)."""
    scope = ""
    if kpi.scopes:
        parts = []
        for narrow in kpi.scopes:
            name = f"scope_{narrow.value}"
            if narrow is Scope.SOURCE:
                parts.append(select(name, "Source (PSA)", _sources(session), values, errors))
            else:
                label, hint = SCOPE_WORDS[narrow]
                parts.append(field(name, label, values, errors, hint=hint))
        note = (
            f"<span class='field-error'>{escape(errors['scope'])}</span>"
            if "scope" in errors
            else ""
        )
        scope = (
            "<fieldset class='field'><legend>Narrow it to (optional; at most one besides "
            f"the source)</legend>{''.join(parts)}{note}</fieldset>"
        )
    grains = [(g.value, g.value.capitalize()) for g in kpi.grains]
    return (
        hidden("kpi", kpi.key)
        + field("title", "Title", values, errors, required=True)
        + scope
        + radios("kind", "Kind of goal", KINDS, values, errors)
        + field(
            "target",
            "Target",
            values,
            errors,
            hint="Increase, decrease: the value to "
            "reach. Stay above, stay below: the threshold. Not for a band.",
        )
        + field("low", "Band low", values, errors, hint="Band goals only.")
        + field("high", "Band high", values, errors, hint="Band goals only.")
        + field(
            "baseline",
            "Baseline",
            values,
            errors,
            hint="Where the KPI started. Leave it "
            "empty to have Northstar compute it from the baseline period.",
        )
        + field(
            "baseline_start",
            "Baseline period's first day",
            values,
            errors,
            kind="date",
            hint="Default: the period before the one the goal starts in.",
        )
        + field(
            "baseline_end", "Day after the baseline period's last day", values, errors, kind="date"
        )
        + field("start_date", "Start", values, errors, kind="date", required=True)
        + field("due_date", "Due", values, errors, kind="date", required=True)
        + select(
            "evaluation_grain",
            "Judged by",
            grains,
            values,
            errors,
            hint="The goal is judged on the last whole period of this length.",
        )
        + checkbox(
            "judge_partial",
            "Judge the period in progress (so far)",
            values,
            hint="Off by default: half a month of data can mislead.",
        )
        + field("weight", "Weight", values, errors, hint="Its weight in its objective's progress.")
    )


def shown_fields(kpi: KpiDefinition) -> set[str]:
    """The fields a goal's form on `kpi` draws (where their problems are shown)."""
    scopes = {f"scope_{s.value}" for s in kpi.scopes}
    return {*TERMS, *scopes, *(["scope"] if kpi.scopes else [])}


def goal_payload(form: Mapping[str, str]) -> dict[str, Any]:
    """The form as the API's body: empty fields left out."""
    values = typed(form, (*TERMS, *SCOPES, "kpi"))
    scope = given({s.value: values.pop(f"scope_{s.value}") for s in Scope})
    body = given(values)
    body["scope"] = scope
    body["judge_partial"] = bool(form.get("judge_partial"))
    return body


def _new_form(
    person: Person,
    session: Session,
    kpi: KpiDefinition,
    values: Mapping[str, str],
    errors: Errors,
    before: str = "",
) -> str:
    return (
        f"<section><h2>New goal on {escape(kpi.name)}</h2><p class='muted'>"
        f"{escape(kpi.definition)} <a href='/plan/goals/new'>Choose another KPI</a></p>"
        f"{before}<form class='plan' method='post' action='/plan/goals'>{csrf_input(person)}"
        f"{problem_note(errors, shown_fields(kpi))}"
        + select("objective_id", "Objective", objective_options(session), values, errors)
        + goal_fields(session, kpi, values, errors)
        + buttons(("preview", "Preview the baseline and last periods"), ("save", "Save the goal"))
        + "</form></section>"
    )


def _defaults(day: date) -> dict[str, str]:
    start = day.replace(day=1)
    month = start.month + 5
    due = date(start.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
    return {
        "start_date": start.isoformat(),
        "due_date": due.isoformat(),
        "evaluation_grain": "month",
        "weight": "1",
    }


@router.get("/plan/goals/new")
def new_goal(request: Request, session: SessionDep, context: ContextDep) -> Response:
    person = editor(request, session)
    if isinstance(person, Response):
        return person
    values = dict(request.query_params)
    quarter = last_quarter(context)
    if not values.get("kpi"):
        body = f"<section><h2>New goal</h2>{kpi_picker(session, values, {})}</section>"
        return planning_page(person, "New goal", body, quarter)
    try:
        kpi = manual.get_kpi(session, values["kpi"])
    except NotFound as error:
        body = kpi_picker(session, values, {"kpi": error.message})
        return planning_page(person, "New goal", f"<section>{body}</section>", quarter, status=404)
    shown = {**_defaults(today(context)), **values}
    return planning_page(person, "New goal", _new_form(person, session, kpi, shown, {}), quarter)


@router.post("/plan/goals")
async def create_goal(request: Request, session: SessionDep, context: ContextDep) -> Response:
    return await answer_post(
        request, session, lambda person, form: _create(request, session, context, person, form)
    )


def _create(
    request: Request,
    session: Session,
    context: ServiceContext,
    person: Person,
    form: dict[str, str],
) -> Response:
    quarter = last_quarter(context)
    try:
        kpi = manual.get_kpi(session, form.get("kpi", ""))
    except NotFound as error:
        return problem_page(error)
    before, status = "", 422
    try:
        body = GoalIn.model_validate(goal_payload(form))
        if form.get("action") == "preview":
            before = preview_section(goal_preview(session, request, context, body, person))
            errors: Errors = {}
            status = 200
        else:
            row = service.create_goal(
                session, body, today(context), context.settings.tz, by=person.name
            )
            return done(f"/goals/{row.id}")
    except ValidationError as error:
        errors = schema_errors(error)
    except InvalidInput as error:
        session.rollback()
        errors = service_errors(error, {"kpi": "kpi"})
    return planning_page(
        person,
        "New goal",
        _new_form(person, session, kpi, form, errors, before),
        quarter,
        status=status,
    )
