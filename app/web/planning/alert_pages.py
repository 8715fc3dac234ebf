"""Alerts in the browser: `/alerts` lists the channels and the rules to anyone signed in;
the owner adds, tests, switches off and deletes channels (as only an admin key may in the
API), an editor or the owner adds, switches off and deletes rules. `/alerts/channels/{id}`
is a channel's delivery history.

Each form is read into the API's schema (`ChannelIn`, `ChannelPatch`, `RuleIn`,
`RulePatch`) and handed to the same service functions as `/api/v1/alerts`. No page ever
shows a channel's URL, webhook secret or SMTP password: only what the API shows (its host,
the SMTP server, sender and recipients)."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.alerts import service
from app.alerts.models import AlertChannel, AlertDelivery, AlertRule
from app.alerts.schemas import ChannelPatch, RulePatch
from app.api.context import ServiceContext
from app.api.deps import ContextDep, SessionDep
from app.db import utcnow
from app.errors import Conflict, InvalidInput, NorthstarError, NotFound
from app.goals import objectives
from app.goals import service as goals
from app.people.principal import Person, Role
from app.sources.models import Source
from app.web.pages import problem_page
from app.web.planning import alert_forms as forms
from app.web.planning.access import answer_post, done, last_quarter, path_id, reader
from app.web.planning.alert_history import deliveries_page, delivery_state
from app.web.planning.fields import Errors, csrf_input, planning_page, schema_errors
from app.web.render import STATUS_WORDS

router = APIRouter(include_in_schema=False)

INTRO = (
    "<p>Northstar tells a channel (Teams, Slack, e-mail or a webhook of your own) when a "
    "goal drifts, as the rules below say; each channel can also get a weekly digest and the "
    "quarter's review. Goals are judged once a day, so a status that flaps within a day "
    "sends one message at most.</p>"
)


def _button(action: str, words: str, person: Person, note: str = "") -> str:
    return (
        f"<form class='plan inline' method='post' action='{escape(action)}'>"
        f"{csrf_input(person)}{note}<button type='submit'>{escape(words)}</button></form>"
    )


def _settings_words(channel: AlertChannel) -> str:
    shown = channel.display or {}
    if channel.kind == "email":
        login = f", as {shown['username']}" if shown.get("username") else ", no login"
        return (
            f"{shown.get('host')}:{shown.get('port')} ({shown.get('security')}{login}), "
            f"from {shown.get('from_address')} to {', '.join(shown.get('to') or [])}"
        )
    return f"posts to {shown.get('host')}"


def _digest_words(channel: AlertChannel) -> str:
    digest = (
        f"weekly digest {forms.WEEKDAYS[channel.digest_weekday - 1]} at {channel.digest_time}"
        if channel.digest_weekday and channel.digest_time
        else "no weekly digest"
    )
    review = "the quarter's review" if channel.send_quarterly_review else "no quarterly review"
    return f"{digest}; {review}"


def _channel_item(session: Session, person: Person, channel: AlertChannel) -> str:
    recent = session.scalars(
        select(AlertDelivery)
        .where(AlertDelivery.channel_id == channel.id)
        .order_by(AlertDelivery.id.desc())
        .limit(3)
    )
    last = "; ".join(delivery_state(service.delivery_out(row)) for row in recent) or "none yet"
    state = "on" if channel.enabled else "switched off"
    controls = ""
    if person.is_owner:
        verb, words = ("disable", "Switch off") if channel.enabled else ("enable", "Switch on")
        base = f"/alerts/channels/{channel.id}"
        controls = (
            "<div class='controls'>"
            + _button(f"{base}/test", "Send a test message", person)
            + _button(f"{base}/{verb}", words, person)
            + _button(
                f"{base}/delete",
                "Delete",
                person,
                "<span class='hint'>Its rules and delivery history go with it.</span> ",
            )
            + "</div>"
        )
    # Where a channel sends (its host, the SMTP server and recipients) is the owner's to
    # see, as the API keeps channels to admin keys; the others see what it is and does.
    where = f"{_settings_words(channel)}; " if person.is_owner else ""
    return (
        f"<li id='channel-{channel.id}'><a href='/alerts/channels/{channel.id}'>"
        f"<strong>{escape(channel.name)}</strong></a> · "
        f"{escape(forms.KIND_WORDS.get(channel.kind, channel.kind))} · {state}"
        f"<p class='muted'>{escape(where)}{escape(_digest_words(channel))}</p>"
        f"<p>Last deliveries: {escape(last)}</p>{controls}</li>"
    )


def _options_words(rule: AlertRule) -> str:
    options = rule.options or {}
    if rule.event == "status_change":
        words = [
            f"{side} {', '.join(STATUS_WORDS.get(s, s) for s in options.get(key) or [])}"
            for side, key in (("from", "from_statuses"), ("to", "to_statuses"))
            if options.get(key)
        ]
        return " ".join(words) or "any status"
    if rule.event == "milestone":
        return " or ".join(options.get("outcomes") or []) or "hit or missed"
    if rule.event == "source_stale":
        return f"not synced for {options.get('hours')} hours"
    if rule.event == "manual_quiet":
        return f"no value for {options.get('weeks')} weeks"
    return "no options"


def _rule_item(person: Person, rule: AlertRule, names: Mapping[str, str]) -> str:
    if rule.goal_id is not None:
        follows = f"the goal {names.get(f'goal:{rule.goal_id}', rule.goal_id)}"
    elif rule.objective_id is not None:
        name = names.get(f"objective:{rule.objective_id}", rule.objective_id)
        follows = f"the objective {name} and those below it"
    elif rule.source_id is not None:
        follows = f"the source {names.get(f'source:{rule.source_id}', rule.source_id)}"
    else:
        follows = "the whole plan"
    controls = ""
    if person.can_edit:
        verb, words = ("disable", "Switch off") if rule.enabled else ("enable", "Switch on")
        controls = (
            "<div class='controls'>"
            + _button(f"/alerts/rules/{rule.id}/{verb}", words, person)
            + _button(f"/alerts/rules/{rule.id}/delete", "Delete", person)
            + "</div>"
        )
    title = f"<strong>{escape(rule.name)}</strong> · " if rule.name else ""
    return (
        f"<li id='rule-{rule.id}'>{title}Tells "
        f"<strong>{escape(names.get(f'channel:{rule.channel_id}', str(rule.channel_id)))}"
        f"</strong> when {escape(forms.EVENT_WORDS.get(rule.event, rule.event).lower())}, "
        f"about {escape(str(follows))} ({escape(_options_words(rule))}); quiet for "
        f"{rule.quiet_hours} hours after a message; {'on' if rule.enabled else 'switched off'}"
        f"{controls}</li>"
    )


def alerts_page(
    person: Person,
    session: Session,
    quarter: str,
    *,
    channel_values: Mapping[str, str] = forms.CHANNEL_DEFAULTS,
    channel_errors: Errors | None = None,
    rule_values: Mapping[str, str] = forms.RULE_DEFAULTS,
    rule_errors: Errors | None = None,
    status: int = 200,
) -> Response:
    """`/alerts`, with the forms this person may use (a refused one as typed, `status` 422
    or 409)."""
    channels = list(session.scalars(select(AlertChannel).order_by(AlertChannel.id)))
    rules = list(session.scalars(select(AlertRule).order_by(AlertRule.id)))
    goal_rows = goals.list_goals(session)
    objective_rows = objectives.list_objectives(session)
    source_rows = list(session.execute(select(Source.id, Source.name).order_by(Source.id)))
    names = {f"channel:{c.id}": c.name for c in channels}
    names |= {f"goal:{g.id}": g.title for g in goals.list_goals(session, include_archived=True)}
    names |= {
        f"objective:{o.id}": o.title
        for o in objectives.list_objectives(session, include_archived=True)
    }
    names |= {f"source:{ident}": name for ident, name in source_rows}
    channel_list = "".join(_channel_item(session, person, c) for c in channels)
    rule_list = "".join(_rule_item(person, r, names) for r in rules)
    add_channel = (
        "<section aria-labelledby='add-channel-title'><h2 id='add-channel-title'>Add a channel"
        f"</h2>{forms.channel_form(person, channel_values, channel_errors or {})}</section>"
        if person.is_owner
        else ""
    )
    add_rule = ""
    if person.can_edit and channels:
        scopes = [("", "The whole plan")]
        scopes += [(f"objective:{o.id}", f"Objective: {o.title}") for o in objective_rows]
        scopes += [(f"goal:{g.id}", f"Goal: {g.title}") for g in goal_rows]
        form = forms.rule_form(
            person,
            rule_values,
            rule_errors or {},
            channels=[(str(c.id), c.name) for c in channels],
            scopes=scopes,
            sources=[("", "Every source")] + [(str(i), n) for i, n in source_rows],
        )
        add_rule = (
            "<section aria-labelledby='add-rule-title'><h2 id='add-rule-title'>Add a rule</h2>"
            f"{form}</section>"
        )
    elif person.can_edit:
        add_rule = "<p class='muted'>A rule needs a channel: the owner adds channels.</p>"
    body = (
        "<section aria-labelledby='channels-title'><h2 id='channels-title'>Channels</h2>"
        + INTRO
        + (f"<ul>{channel_list}</ul>" if channel_list else "<p>No channel yet.</p>")
        + "</section>"
        + add_channel
        + "<section aria-labelledby='rules-title'><h2 id='rules-title'>Rules</h2>"
        + (f"<ul>{rule_list}</ul>" if rule_list else "<p>No rule yet.</p>")
        + "</section>"
        + add_rule
    )
    return planning_page(person, "Alerts", body, quarter, status=status)


@router.get("/alerts")
def alerts_view(request: Request, session: SessionDep, context: ContextDep) -> Response:
    person = reader(request, session)
    if isinstance(person, Response):
        return person
    return alerts_page(person, session, last_quarter(context))


@router.get("/alerts/channels/{channel_id}")
def channel_view(
    channel_id: str, request: Request, session: SessionDep, context: ContextDep
) -> Response:
    person = reader(request, session)
    if isinstance(person, Response):
        return person
    try:
        channel = service.get_channel(session, path_id(channel_id, "channel"))
        rows = service.list_deliveries(session, channel.id)
    except NorthstarError as error:
        return problem_page(error)
    tested = request.query_params.get("tested", "")
    return deliveries_page(person, channel, rows, tested, last_quarter(context))


# ---- channels: the owner's ------------------------------------------------------------------


@router.post("/alerts/channels")
async def add_channel(request: Request, session: SessionDep, context: ContextDep) -> Response:
    return await answer_post(
        request,
        session,
        lambda person, form: _add_channel(session, context, person, form),
        need=Role.OWNER,
    )


def _add_channel(
    session: Session, context: ServiceContext, person: Person, form: dict[str, str]
) -> Response:
    status = 422
    try:
        body = forms.channel_body(form)
        channel = service.create_channel(session, context.cipher, body, utcnow())
    except ValidationError as error:
        errors = schema_errors(error)
    except InvalidInput as error:
        session.rollback()
        errors = forms.channel_service_errors(error)
    except Conflict as error:
        session.rollback()
        errors, status = {"name": error.message}, error.status_code
    else:
        return done(f"/alerts#channel-{channel.id}")
    return alerts_page(
        person,
        session,
        last_quarter(context),
        channel_values=forms.kept(form),
        channel_errors=errors,
        status=status,
    )


@router.post("/alerts/channels/{channel_id}/{verb}")
async def change_channel(
    channel_id: str, verb: str, request: Request, session: SessionDep, context: ContextDep
) -> Response:
    return await answer_post(
        request,
        session,
        lambda _person, _form: _change_channel(session, context, channel_id, verb),
        need=Role.OWNER,
    )


def _change_channel(session: Session, context: ServiceContext, text_id: str, verb: str) -> Response:
    try:
        channel = service.get_channel(session, path_id(text_id, "channel"))
        if verb == "test":
            # Sent in transactions of its own: nothing of this request's is written.
            sent = service.send_test_message(context.db, context.cipher, channel, utcnow())
            return done(f"/alerts/channels/{channel.id}?tested={sent.id}#delivery-{sent.id}")
        if verb in ("enable", "disable"):
            patch = ChannelPatch(enabled=verb == "enable")
            service.update_channel(session, context.cipher, channel.id, patch)
            return done(f"/alerts#channel-{channel.id}")
        if verb == "delete":
            service.delete_channel(session, channel.id)
            return done("/alerts#channels-title")
        raise NotFound(
            "A channel can be tested, switched on or off, or deleted here.", code="not_found"
        )
    except NorthstarError as error:
        session.rollback()
        return problem_page(error)


# ---- rules: an editor's or the owner's ------------------------------------------------------


@router.post("/alerts/rules")
async def add_rule(request: Request, session: SessionDep, context: ContextDep) -> Response:
    return await answer_post(
        request, session, lambda person, form: _add_rule(session, context, person, form)
    )


def _add_rule(
    session: Session, context: ServiceContext, person: Person, form: dict[str, str]
) -> Response:
    try:
        rule = service.create_rule(session, forms.rule_body(form))
    except ValidationError as error:
        errors = forms.rule_errors(schema_errors(error))
    except InvalidInput as error:
        session.rollback()
        errors = forms.rule_service_errors(error)
    else:
        return done(f"/alerts#rule-{rule.id}")
    return alerts_page(
        person,
        session,
        last_quarter(context),
        rule_values=forms.kept(form),
        rule_errors=errors,
        status=422,
    )


@router.post("/alerts/rules/{rule_id}/{verb}")
async def change_rule(rule_id: str, verb: str, request: Request, session: SessionDep) -> Response:
    return await answer_post(
        request, session, lambda _person, _form: _change_rule(session, rule_id, verb)
    )


def _change_rule(session: Session, text_id: str, verb: str) -> Response:
    try:
        rule = service.get_rule(session, path_id(text_id, "rule"))
        if verb in ("enable", "disable"):
            service.update_rule(session, rule.id, RulePatch(enabled=verb == "enable"))
            return done(f"/alerts#rule-{rule.id}")
        if verb == "delete":
            session.delete(rule)  # as the API's DELETE: alerts already queued are still sent
            return done("/alerts#rules-title")
        raise NotFound("A rule can be switched on or off, or deleted here.", code="not_found")
    except NorthstarError as error:
        session.rollback()
        return problem_page(error)
