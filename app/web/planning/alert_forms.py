"""The alerts page's two forms, drawn with what was typed and read into the API's own
schemas: a channel (`ChannelIn`, the owner's) and a rule (`RuleIn`, an editor's or the
owner's).

A channel's URL, webhook secret and SMTP password are password inputs that are never
filled in again, not even after a refused form: no page ever holds them."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from app.alerts.schemas import ChannelIn, RuleIn
from app.errors import InvalidInput
from app.people.principal import Person
from app.people.web import CSRF_FIELD
from app.web.planning.fields import (
    GENERAL,
    Errors,
    checkbox,
    csrf_input,
    field,
    given,
    problem_note,
    radios,
    select,
    service_errors,
    typed,
)
from app.web.render import STATUS_WORDS

KINDS = (
    (
        "teams",
        "Microsoft Teams",
        "the URL of a Workflows flow 'post to a channel when a webhook request is received' "
        "(or of an older incoming webhook)",
    ),
    ("slack", "Slack", "the URL of an incoming webhook"),
    ("email", "E-mail", "your SMTP server sends each alert to the recipients"),
    (
        "webhook",
        "Signed webhook",
        "a JSON post to a receiver of your own, signed with a secret it checks",
    ),
)
KIND_WORDS = {value: words for value, words, _ in KINDS}
# The settings each kind takes (as the API's `config`); the others on the form are ignored.
CONFIG_FIELDS: dict[str, tuple[str, ...]] = {
    "teams": ("url",),
    "slack": ("url",),
    "webhook": ("url", "secret"),
    "email": ("host", "port", "security", "username", "password", "from_address", "to"),
}
SECRET_FIELDS = frozenset({"url", "secret", "password"})
EMAIL_FIELDS = CONFIG_FIELDS["email"]
CHANNEL_FIELDS = ("name", "kind", "url", "secret", *EMAIL_FIELDS, "digest_weekday", "digest_time")
WEEKDAYS = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")
SECURITY = [
    ("starttls", "STARTTLS (port 587)"),
    ("tls", "TLS (port 465)"),
    ("none", "None: only for a relay on this machine or your own network"),
]

EVENTS = (
    ("status_change", "Its status changes", "tick the statuses below to narrow it"),
    ("milestone", "A milestone is hit or missed", "tick which below"),
    ("forecast_miss", "Its forecast turns to 'will not make it'", "no options"),
    ("source_stale", "A source fails or stops syncing", "after the hours below"),
    ("manual_quiet", "No value is entered", "for a goal on a manual KPI, for the weeks below"),
)
EVENT_WORDS = {value: words for value, words, _ in EVENTS}
STATUSES = tuple(STATUS_WORDS)
OUTCOMES = (("hit", "Hit"), ("missed", "Missed"))
RULE_FIELDS = (
    "channel_id",
    "event",
    "scope",
    "source_id",
    "hours",
    "weeks",
    "quiet_hours",
    "rule_name",
)
# The API's names of a rule's fields → the form's.
RULE_RENAME = {"name": "rule_name", "goal_id": "scope", "objective_id": "scope"}
RULE_SHOWN = (*RULE_FIELDS, "from_statuses", "to_statuses", "outcomes")
RULE_CODES = {
    "channel_not_found": "channel_id",
    "goal_not_found": "scope",
    "objective_not_found": "scope",
    "source_not_found": "source_id",
}


def kept(form: Mapping[str, str]) -> dict[str, str]:
    """What a refused form shows again: everything typed but its secrets and token."""
    return {k: v for k, v in form.items() if k not in SECRET_FIELDS and k != CSRF_FIELD}


def _api_words(text: str) -> str:
    text = text.strip().removeprefix("Value error, ")
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


# ---- channels -------------------------------------------------------------------------------


def channel_body(form: Mapping[str, str]) -> ChannelIn:
    """The form as the API's `ChannelIn` (raises pydantic's ValidationError): only the
    settings of the kind chosen; recipients separated by commas, spaces or new lines."""
    values = typed(form, CHANNEL_FIELDS)
    kind = values["kind"] or ""
    config: dict[str, Any] = given({n: values[n] for n in CONFIG_FIELDS.get(kind, ())})
    if "to" in config:
        config["to"] = [a for a in re.split(r"[,;\s]+", config["to"]) if a]
    body: dict[str, Any] = {
        "name": values["name"] or "",
        "kind": kind,
        "config": config,
        "send_quarterly_review": bool(form.get("send_quarterly_review")),
        **given({"digest_weekday": values["digest_weekday"], "digest_time": values["digest_time"]}),
    }
    return ChannelIn.model_validate(body)


def channel_service_errors(error: InvalidInput) -> Errors:
    """The settings' problems (the API names them `config.url`, `config.to.0`) by field."""
    errors: Errors = {}
    for name, message in service_errors(error).items():
        if name.startswith("config."):
            name = name.split(".")[1]
        errors.setdefault(name, _api_words(message))
    return errors


def channel_form(person: Person, values: Mapping[str, str], errors: Errors) -> str:
    weekdays = [("", "No weekly digest")] + [(str(n), w) for n, w in enumerate(WEEKDAYS, 1)]
    never_shown = " Typed again after a refused form: it is never shown back."
    return (
        f"<form class='plan' method='post' action='/alerts/channels'>{csrf_input(person)}"
        f"{problem_note(errors, CHANNEL_FIELDS)}"
        + field("name", "Name", values, errors, required=True, hint="e.g. Leadership (Teams).")
        + radios("kind", "Where the messages go", KINDS, values, errors)
        + "<fieldset class='field'><legend>Teams, Slack or signed webhook</legend>"
        + field(
            "url",
            "URL to post to",
            values,
            errors,
            kind="password",
            hint="A secret: anyone who has it can post to the channel. Stored encrypted; "
            "the pages show its host only." + never_shown,
            extra=" autocomplete='off'",
        )
        + field(
            "secret",
            "Signing secret (signed webhook only)",
            values,
            errors,
            kind="password",
            hint="16 characters or more; your receiver checks the signature with it." + never_shown,
            extra=" autocomplete='off'",
        )
        + "</fieldset><fieldset class='field'><legend>E-mail</legend>"
        + field("host", "SMTP server", values, errors, hint="e.g. smtp.office365.com.")
        + field("port", "Port", values, errors, hint="587 for STARTTLS, 465 for TLS.")
        + select("security", "Security", SECURITY, values, errors)
        + field("username", "SMTP user name", values, errors, hint="Empty: no login.")
        + field(
            "password",
            "SMTP password",
            values,
            errors,
            kind="password",
            hint="Stored encrypted." + never_shown,
            extra=" autocomplete='off'",
        )
        + field("from_address", "Sender", values, errors, hint="e.g. northstar@example.com.")
        + field(
            "to",
            "Recipients",
            values,
            errors,
            hint="E-mail addresses, separated by commas (20 at most).",
        )
        + "</fieldset>"
        + select("digest_weekday", "Weekly digest", weekdays, values, errors)
        + field(
            "digest_time",
            "Digest time",
            values,
            errors,
            kind="time",
            hint="In the reporting time zone, e.g. 08:00. Needed with a digest day.",
        )
        + checkbox(
            "send_quarterly_review",
            "Send the quarter's review when a quarter closes",
            values,
        )
        + "<div class='actions'><button type='submit'>Add the channel</button></div></form>"
    )


# ---- rules ----------------------------------------------------------------------------------


def rule_body(form: Mapping[str, str]) -> RuleIn:
    """The form as the API's `RuleIn` (raises pydantic's ValidationError): the scope picked
    ("goal:4", "objective:2" or the whole plan) and only the chosen event's options."""
    values = typed(form, RULE_FIELDS)
    event = values["event"] or ""
    body: dict[str, Any] = {
        "channel_id": values["channel_id"] or "",
        "event": event,
        **given({"name": values["rule_name"], "quiet_hours": values["quiet_hours"]}),
    }
    scope = values["scope"]
    if scope is not None:
        what, _, ident = scope.partition(":")
        body["objective_id" if what == "objective" else "goal_id"] = ident or scope
    if event == "status_change":
        body["from_statuses"] = [s for s in STATUSES if form.get(f"from_{s}")]
        body["to_statuses"] = [s for s in STATUSES if form.get(f"to_{s}")]
    elif event == "milestone":
        ticked = [o for o, _ in OUTCOMES if form.get(f"outcome_{o}")]
        if ticked:
            body["outcomes"] = ticked
    elif event == "source_stale":
        body.update(given({"hours": values["hours"], "source_id": values["source_id"]}))
    elif event == "manual_quiet":
        body.update(given({"weeks": values["weeks"]}))
    return RuleIn.model_validate(body)


def rule_errors(errors: Errors) -> Errors:
    """The API's field names as the form's."""
    renamed: Errors = {}
    for name, message in errors.items():
        renamed.setdefault(RULE_RENAME.get(name.split(".")[0], name.split(".")[0]), message)
    return renamed


def rule_service_errors(error: InvalidInput) -> Errors:
    return {RULE_CODES.get(error.code, GENERAL): error.message}


def _ticks(
    prefix: str, legend: str, options: Sequence[tuple[str, str]], values: Mapping[str, str]
) -> str:
    boxes = "".join(checkbox(f"{prefix}_{value}", words, values) for value, words in options)
    return f"<fieldset class='field'><legend>{escape(legend)}</legend>{boxes}</fieldset>"


def _error_under(name: str, errors: Errors) -> str:
    if name not in errors:
        return ""
    return f"<span class='field-error' id='{name}-error'>{escape(errors[name])}</span>"


def rule_form(
    person: Person,
    values: Mapping[str, str],
    errors: Errors,
    *,
    channels: Sequence[tuple[str, str]],
    scopes: Sequence[tuple[str, str]],
    sources: Sequence[tuple[str, str]],
) -> str:
    statuses = [(s, STATUS_WORDS[s]) for s in STATUSES]
    return (
        f"<form class='plan' method='post' action='/alerts/rules'>{csrf_input(person)}"
        f"{problem_note(errors, RULE_SHOWN)}"
        + select("channel_id", "Tell the channel", channels, values, errors)
        + select(
            "scope",
            "About",
            scopes,
            values,
            errors,
            hint="An objective includes its goals and those of every objective below it.",
        )
        + radios("event", "When", EVENTS, values, errors)
        + "<fieldset class='field'><legend>Options of 'Its status changes'</legend>"
        "<p class='hint'>None ticked: any status.</p>"
        + _ticks("from", "From the statuses", statuses, values)
        + _ticks("to", "To the statuses", statuses, values)
        + _error_under("from_statuses", errors)
        + _error_under("to_statuses", errors)
        + "</fieldset>"
        + _ticks("outcome", "Options of 'A milestone': None ticked, both", OUTCOMES, values)
        + _error_under("outcomes", errors)
        + select("source_id", "Source (for 'A source fails')", sources, values, errors)
        + field(
            "hours",
            "Hours without a sync (for 'A source fails')",
            values,
            errors,
            kind="number",
        )
        + field(
            "weeks",
            "Weeks without a value (for 'No value is entered')",
            values,
            errors,
            kind="number",
        )
        + field(
            "quiet_hours",
            "Quiet hours",
            values,
            errors,
            kind="number",
            hint="After a message about a goal or source, hold back the next one about it "
            "for this many hours (0: none).",
        )
        + field("rule_name", "Name (optional)", values, errors, hint="e.g. Off-track goals.")
        + "<div class='actions'><button type='submit'>Add the rule</button></div></form>"
    )


# What the forms show before anything is typed: the API's defaults.
RULE_DEFAULTS = {"event": "status_change", "hours": "24", "weeks": "2", "quiet_hours": "24"}
CHANNEL_DEFAULTS = {
    "kind": "teams",
    "port": "587",
    "security": "starttls",
    "send_quarterly_review": "on",
}
