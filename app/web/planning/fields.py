"""A planning form's fields: reading what was typed into the API's own schemas, putting
each of the API's validation messages next to its field, and drawing the fields again with
what the person typed.

A message comes from one of two places, both the API's: pydantic's validation of the
schema (its `loc` names the field) and the services' `InvalidInput`, whose details name
`body.<field>`. Form fields are named as the schema's fields; a goal's scope fields are
`scope_client` and so on."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from app.api.errors import validation_problem as api_problem
from app.errors import InvalidInput
from app.people.principal import Person
from app.people.web import CSRF_FIELD
from app.web.render import header, page

Errors = dict[str, str]
GENERAL = "_form"  # a problem that names no field of the form


def field_name(location: Sequence[Any]) -> str:
    """`("scope", "client")` or `"body.scope.client"` → `scope_client`; `body.0.value` →
    `0.value` (a row of a list)."""
    parts = [str(p) for p in location]
    if parts and parts[0] == "body":
        parts = parts[1:]
    if len(parts) >= 2 and parts[0] == "scope":
        return f"scope_{parts[1]}"
    return ".".join(parts) or GENERAL


def _sentence(text: str) -> str:
    """The API's words as a sentence under the field: "is required" → "This is required."."""
    text = text.strip()
    if text.startswith(("is ", "should ")):
        text = "This " + text
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def schema_errors(error: ValidationError) -> Errors:
    """Each field's first problem, in the API's words."""
    errors: Errors = {}
    for problem in error.errors():
        located = dict(problem, loc=("body", *problem["loc"]))
        errors.setdefault(field_name(problem["loc"]), _sentence(api_problem(located)))
    return errors


def service_errors(error: InvalidInput, rename: Mapping[str, str] | None = None) -> Errors:
    """The fields an `InvalidInput` names (`rename` maps the API's names to the form's);
    a problem without a field is the form's."""
    errors: Errors = {}
    for detail in error.details or [{"field": None, "problem": error.message}]:
        name = field_name(str(detail.get("field") or "").split(".")) if detail else GENERAL
        name = (rename or {}).get(name, name)
        errors.setdefault(name, str(detail.get("problem") or error.message))
    return errors


def typed(form: Mapping[str, str], names: Iterable[str]) -> dict[str, str | None]:
    """The named fields as typed (trimmed); an empty field is None (left out, or cleared)."""
    return {name: (form.get(name, "").strip() or None) for name in names}


def given(values: Mapping[str, Any]) -> dict[str, Any]:
    """Without the fields left empty."""
    return {name: value for name, value in values.items() if value is not None}


# ---- drawing --------------------------------------------------------------------------------


def csrf_input(person: Person) -> str:
    return f"<input type='hidden' name='{CSRF_FIELD}' value='{escape(person.csrf_token)}'>"


def hidden(name: str, value: object) -> str:
    return f"<input type='hidden' name='{escape(name)}' value='{escape(str(value))}'>"


def problem_note(errors: Errors, shown: Iterable[str] | None = None) -> str:
    """Above a refused form: that it was not saved, and the problems naming no field of
    the form (`shown`: the fields it draws; without it, only the problem naming none)."""
    if not errors:
        return ""
    drawn = set(shown) if shown is not None else set(errors) - {GENERAL}
    general = "".join(f" {escape(m)}" for name, m in errors.items() if name not in drawn)
    return (
        "<p class='status off_track form-problem' role='alert'>Nothing was saved: check the "
        f"fields marked below.{general}</p>"
    )


def _described(name: str, hint: str, errors: Errors) -> tuple[str, str]:
    """(attributes of the control, the hint and the error under it)."""
    ids, notes = [], ""
    if hint:
        ids.append(f"{name}-hint")
        notes += f"<span class='hint' id='{escape(name)}-hint'>{escape(hint)}</span>"
    if name in errors:
        ids.append(f"{name}-error")
        notes += (
            f"<span class='field-error' id='{escape(name)}-error'>{escape(errors[name])}</span>"
        )
    attrs = f" aria-describedby='{escape(' '.join(ids))}'" if ids else ""
    if name in errors:
        attrs += " aria-invalid='true'"
    return attrs, notes


def field(
    name: str,
    label: str,
    values: Mapping[str, str],
    errors: Errors,
    *,
    kind: str = "text",
    hint: str = "",
    required: bool = False,
    extra: str = "",
) -> str:
    """A labelled input (`kind` "textarea" for a text area) with its hint and error."""
    attrs, notes = _described(name, hint, errors)
    value = escape(values.get(name, "") or "")
    need = " required" if required else ""
    if kind == "textarea":
        control = (
            f"<textarea id='{escape(name)}' name='{escape(name)}' rows='3'{need}{attrs}{extra}>"
            f"{value}</textarea>"
        )
    else:
        control = (
            f"<input id='{escape(name)}' name='{escape(name)}' type='{kind}' value='{value}'"
            f"{need}{attrs}{extra}>"
        )
    label_html = f"<label for='{escape(name)}'>{escape(label)}</label>"
    return f"<div class='field'>{label_html}{control}{notes}</div>"


def select(
    name: str,
    label: str,
    options: Sequence[tuple[str, str]],
    values: Mapping[str, str],
    errors: Errors,
    *,
    hint: str = "",
) -> str:
    """A labelled choice; `options` are (value, words)."""
    attrs, notes = _described(name, hint, errors)
    chosen = values.get(name, "") or ""
    items = "".join(
        f"<option value='{escape(value)}'{' selected' if value == chosen else ''}>"
        f"{escape(words)}</option>"
        for value, words in options
    )
    return (
        f"<div class='field'><label for='{escape(name)}'>{escape(label)}</label>"
        f"<select id='{escape(name)}' name='{escape(name)}'{attrs}>{items}</select>{notes}</div>"
    )


def radios(
    name: str,
    legend: str,
    options: Sequence[tuple[str, str, str]],
    values: Mapping[str, str],
    errors: Errors,
) -> str:
    """A choice with each option explained: (value, words, explanation)."""
    chosen = values.get(name, "") or ""
    attrs, notes = _described(name, "", errors)
    items = "".join(
        f"<div class='choice'><input type='radio' id='{escape(name)}-{escape(value)}' "
        f"name='{escape(name)}' value='{escape(value)}'"
        f"{' checked' if value == chosen else ''}>"
        f"<label for='{escape(name)}-{escape(value)}'><strong>{escape(words)}</strong>: "
        f"{escape(explained)}</label></div>"
        for value, words, explained in options
    )
    return (
        f"<fieldset class='field'{attrs}><legend>{escape(legend)}</legend>{items}{notes}</fieldset>"
    )


def checkbox(name: str, label: str, values: Mapping[str, str], hint: str = "") -> str:
    checked = " checked" if values.get(name) else ""
    note = f"<span class='hint'>{escape(hint)}</span>" if hint else ""
    return (
        f"<div class='field check'><input type='checkbox' id='{escape(name)}' "
        f"name='{escape(name)}' value='on'{checked}><label for='{escape(name)}'>"
        f"{escape(label)}</label>{note}</div>"
    )


def buttons(*labels: tuple[str, str]) -> str:
    """Submit buttons: (value of `action`, words); the first is the default."""
    return (
        "<div class='actions'>"
        + "".join(
            f"<button type='submit' name='action' value='{escape(value)}'>{escape(words)}</button>"
            for value, words in labels
        )
        + "</div>"
    )


def number_text(value: float | None) -> str:
    """A stored number as the form shows it again: 75 rather than 75.0."""
    if value is None:
        return ""
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def planning_page(
    person: Person, title: str, body: str, last_quarter: str, *, status: int = 200
) -> HTMLResponse:
    """A planning page in the site's shell; `status` 422 (or 409) for a refused form."""
    top = header("Northstar scorecard", context=title, last_quarter=last_quarter, person=person)
    return HTMLResponse(page(f"{title}: Northstar", f"{top}<main>{body}</main>"), status)
