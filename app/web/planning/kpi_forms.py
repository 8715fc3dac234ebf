"""Emotional milestones in the browser: declare a manual KPI (a weekly team pulse, a
client-trust score) with its scale, record a value, and record a pulse for several people
at once.

A manual KPI holds one observation per day (the API's upsert on date). A pulse of several
people is therefore stored as that day's one observation: the people's mean, with each
person's score in its note, so the day, and a week or month holding only that pulse, has the
team's mean as its value. A period holding several days' observations averages the days
(the KPI's `mean` aggregation); recording a pulse again for the same day replaces that
day's. The pulse form is offered for KPIs that average (`mean`); a KPI that keeps its `last`
value takes one value at a time."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.api.context import ServiceContext
from app.api.deps import ContextDep, SessionDep
from app.errors import Conflict, InvalidInput, NorthstarError
from app.kpis import manual
from app.kpis.catalogue import KpiDefinition
from app.kpis.schemas import ManualKpiIn, ObservationIn
from app.people.principal import Person
from app.web.pages import problem_page
from app.web.planning.access import answer_post, done, editor, last_quarter, today
from app.web.planning.fields import (
    GENERAL,
    Errors,
    csrf_input,
    field,
    given,
    planning_page,
    problem_note,
    schema_errors,
    select,
    service_errors,
    typed,
)

router = APIRouter(include_in_schema=False)

KPI_FIELDS = ("key", "name", "unit", "direction", "aggregation", "description", "min", "max")
DIRECTIONS = [("up", "Higher is better"), ("down", "Lower is better"), ("neutral", "Neither")]
AGGREGATIONS = [
    ("mean", "Mean: a period's value is the average of its observations"),
    ("last", "Last: a period's value is its last observation"),
]
PULSE_ROWS = 8


def _kpi_form(person: Person, values: Mapping[str, str], errors: Errors) -> str:
    return (
        f"<form class='plan' method='post' action='/plan/kpis'>{csrf_input(person)}"
        f"{problem_note(errors)}"
        + field("name", "Name", values, errors, required=True, hint="e.g. Team confidence.")
        + field(
            "key",
            "Key",
            values,
            errors,
            required=True,
            hint="Lower-case letters, digits and _, e.g. team_confidence: how the API and "
            "BI feeds name it.",
        )
        + field("unit", "Unit", values, errors, hint="e.g. score.")
        + field("min", "Scale from", values, errors, hint="The lowest value, e.g. 1.")
        + field("max", "Scale to", values, errors, hint="The highest value, e.g. 10.")
        + select("direction", "Direction", DIRECTIONS, values, errors)
        + select("aggregation", "A period's value", AGGREGATIONS, values, errors)
        + field(
            "description",
            "What it measures",
            values,
            errors,
            kind="textarea",
            hint="e.g. Every Friday each of us answers: how confident and unhurried "
            "did you feel this week?",
        )
        + "<div class='actions'><button type='submit'>Declare the KPI</button> "
        "<a href='/plan'>Cancel</a></div></form>"
    )


@router.get("/plan/kpis/new")
def new_kpi(request: Request, session: SessionDep, context: ContextDep) -> Response:
    person = editor(request, session)
    if isinstance(person, Response):
        return person
    values = {"unit": "score", "min": "1", "max": "10", "direction": "up", "aggregation": "mean"}
    body = f"<section><h2>New manual KPI</h2>{_kpi_form(person, values, {})}</section>"
    return planning_page(person, "New manual KPI", body, last_quarter(context))


@router.post("/plan/kpis")
async def declare_kpi(request: Request, session: SessionDep, context: ContextDep) -> Response:
    return await answer_post(
        request, session, lambda person, form: _declare(session, context, person, form)
    )


def _declare(
    session: Session, context: ServiceContext, person: Person, form: dict[str, str]
) -> Response:
    status = 422
    try:
        body = ManualKpiIn.model_validate(given(typed(form, KPI_FIELDS)))
        kpi = manual.declare_manual_kpi(
            session,
            key=body.key,
            name=body.name,
            unit=body.unit,
            direction=body.direction,
            aggregation=body.aggregation,
            description=body.description,
            scale_min=body.min,
            scale_max=body.max,
        )
    except ValidationError as error:
        errors = schema_errors(error)
    except InvalidInput as error:
        session.rollback()
        errors = service_errors(error)
    except Conflict as error:
        session.rollback()
        errors, status = {"key": error.message}, error.status_code
    else:
        return done(f"/plan/kpis/{kpi.key}/record")
    body_html = f"<section><h2>New manual KPI</h2>{_kpi_form(person, form, errors)}</section>"
    return planning_page(person, "New manual KPI", body_html, last_quarter(context), status=status)


# ---- recording values ------------------------------------------------------------------------


def _scale(kpi: KpiDefinition) -> str:
    low = "" if kpi.scale_min is None else f"from {kpi.scale_min:g} "
    high = "" if kpi.scale_max is None else f"to {kpi.scale_max:g}"
    return (low + high).strip() or "any number"


def _one_form(person: Person, kpi: KpiDefinition, values: Mapping[str, str], errors: Errors) -> str:
    return (
        f"<form class='plan' method='post' action='/plan/kpis/{escape(kpi.key)}/observations'>"
        f"{csrf_input(person)}{problem_note(errors)}"
        + field("date", "Date", values, errors, kind="date", required=True)
        + field(
            "value", "Value", values, errors, required=True, hint=f"On its scale: {_scale(kpi)}."
        )
        + field("note", "Note", values, errors, hint="Optional: what it rests on.")
        + "<div class='actions'><button type='submit'>Record the value</button></div></form>"
    )


def _pulse_form(
    person: Person, kpi: KpiDefinition, values: Mapping[str, str], errors: Errors
) -> str:
    rows = "".join(
        "<div class='pulse-row'>"
        + field(f"person_{n}", f"Person {n}", values, errors)
        + field(f"score_{n}", f"Score of person {n}", values, errors)
        + "</div>"
        for n in range(1, PULSE_ROWS + 1)
    )
    return (
        f"<form class='plan' method='post' action='/plan/kpis/{escape(kpi.key)}/pulse'>"
        f"{csrf_input(person)}{problem_note(errors)}"
        f"<p>Each person's score, on the scale {_scale(kpi)}; rows left empty are skipped. "
        "The day's value is the team's mean, with everyone's score kept in its note; "
        "recording the pulse again for the same day replaces that day's.</p>"
        + field("date", "Date", values, errors, kind="date", required=True)
        + rows
        + "<div class='actions'><button type='submit'>Record the pulse</button></div></form>"
    )


def _record_page(
    person: Person,
    kpi: KpiDefinition,
    quarter: str,
    *,
    one: Mapping[str, str],
    pulse: Mapping[str, str],
    one_errors: Errors,
    pulse_errors: Errors,
    status: int = 200,
) -> Response:
    pulse_section = (
        "<section aria-labelledby='pulse-title'><h2 id='pulse-title'>Record this week's "
        f"pulse</h2>{_pulse_form(person, kpi, pulse, pulse_errors)}</section>"
        if kpi.aggregation == "mean"
        else ""
    )
    body = (
        f"<section><h2>{escape(kpi.name)}</h2><p class='muted'>{escape(kpi.definition)} "
        f"<a href='/kpis/{escape(kpi.key)}'>See its values</a></p></section>{pulse_section}"
        "<section aria-labelledby='one-title'><h2 id='one-title'>Record one value</h2>"
        f"{_one_form(person, kpi, one, one_errors)}</section>"
    )
    return planning_page(person, f"Record {kpi.name}", body, quarter, status=status)


def _manual_kpi(session: Session, key: str) -> KpiDefinition:
    kpi = manual.get_kpi(session, key)
    if not kpi.manual:
        raise InvalidInput(
            f"{kpi.name} is measured from the PSAs' data; only manual KPIs take values typed in.",
            code="kpi_not_manual",
        )
    return kpi


@router.get("/plan/kpis/{key}/record")
def record_page(key: str, request: Request, session: SessionDep, context: ContextDep) -> Response:
    person = editor(request, session)
    if isinstance(person, Response):
        return person
    try:
        kpi = _manual_kpi(session, key)
    except NorthstarError as error:
        return problem_page(error)
    day = {"date": today(context).isoformat()}
    return _record_page(
        person, kpi, last_quarter(context), one=day, pulse=day, one_errors={}, pulse_errors={}
    )


@router.post("/plan/kpis/{key}/{how}")
async def record(
    key: str, how: str, request: Request, session: SessionDep, context: ContextDep
) -> Response:
    return await answer_post(
        request, session, lambda person, form: _record(session, context, person, form, key, how)
    )


def _pulse_rows(form: Mapping[str, str]) -> list[tuple[int, str, str]]:
    """(row number, person, score as typed) of the rows filled in."""
    rows = []
    for n in range(1, PULSE_ROWS + 1):
        who, score = form.get(f"person_{n}", "").strip(), form.get(f"score_{n}", "").strip()
        if who or score:
            rows.append((n, who, score))
    return rows


def _record(
    session: Session,
    context: ServiceContext,
    person: Person,
    form: dict[str, str],
    key: str,
    how: str,
) -> Response:
    try:
        kpi = _manual_kpi(session, key)
        if how not in ("observations", "pulse"):
            raise InvalidInput("Values are recorded one by one or as a pulse.", code="not_found")
    except NorthstarError as error:
        return problem_page(error)
    errors: Errors = {}
    try:
        if how == "observations":
            item = ObservationIn.model_validate(given(typed(form, ("date", "value", "note"))))
            observations = [(item.date, item.value, item.note)]
        else:
            observations = _pulse_observation(kpi, form, errors)
        if not errors:
            manual.record_observations(session, kpi, observations, by=person.name)
            return done(f"/kpis/{kpi.key}")
    except ValidationError as error:
        errors = schema_errors(error)
    except InvalidInput as error:
        session.rollback()
        errors = service_errors(error, {"0.value": "value", "0.date": "date"})
    day = {"date": form.get("date", "")}
    one, pulse = (form, day) if how == "observations" else (day, form)
    return _record_page(
        person,
        kpi,
        last_quarter(context),
        one=one,
        pulse=pulse,
        status=422,
        one_errors=errors if how == "observations" else {},
        pulse_errors=errors if how == "pulse" else {},
    )


def _pulse_observation(
    kpi: KpiDefinition, form: Mapping[str, str], errors: Errors
) -> list[tuple[date, float, str | None]]:
    """The pulse as one observation, each row checked as an observation of `kpi` (so its
    messages are the API's); problems are added to `errors` by row."""
    rows = _pulse_rows(form)
    if not rows:
        errors[GENERAL] = "Type at least one person's score."
        return []
    scores: list[float] = []
    for n, who, score in rows:
        try:
            item = ObservationIn.model_validate({"date": form.get("date", ""), "value": score})
        except ValidationError as error:
            for name, message in schema_errors(error).items():
                errors.setdefault("date" if name == "date" else f"score_{n}", message)
            continue
        try:
            manual.check_observations(kpi, [(item.date, item.value)], listed=False)
        except InvalidInput as error:
            for name, message in service_errors(error).items():
                errors.setdefault("date" if name == "date" else f"score_{n}", message)
            continue
        if not who:
            errors[f"person_{n}"] = "Whose score is it? Type their name (or initials)."
        scores.append(item.value)
    if errors:
        return []
    day = ObservationIn.model_validate({"date": form["date"], "value": scores[0]}).date
    mean = sum(scores) / len(scores)
    note = f"Pulse of {len(rows)}: " + ", ".join(f"{who} {score}" for _n, who, score in rows)
    return [(day, mean, note[:2000])]
