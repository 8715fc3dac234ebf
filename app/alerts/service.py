"""Creating and changing channels and rules; reading deliveries."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.alerts.channels import channel_secrets, store_secrets, validate_channel_config
from app.alerts.digests import previous_quarter
from app.alerts.messages import Message
from app.alerts.models import AlertChannel, AlertDelivery, AlertRule, ChannelKind
from app.alerts.outbox import deliver_one, enqueue
from app.alerts.schemas import (
    EVENT_OPTIONS,
    ChannelIn,
    ChannelPatch,
    DeliveryOut,
    RuleIn,
    RulePatch,
)
from app.db import Database
from app.errors import Conflict, InvalidInput, NotFound
from app.goals.models import Goal, Objective
from app.security.crypto import CredentialCipher
from app.sources.models import Source


def get_channel(session: Session, channel_id: int) -> AlertChannel:
    channel = session.get(AlertChannel, channel_id)
    if channel is None:
        raise NotFound(f"There is no alert channel with id {channel_id}.", code="channel_not_found")
    return channel


def _flush_name(session: Session, name: str) -> None:
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            f"An alert channel is already called {name!r}: choose another name.",
            code="channel_name_taken",
        ) from None


def create_channel(
    session: Session, cipher: CredentialCipher, body: ChannelIn, now: datetime
) -> AlertChannel:
    shown, secrets = validate_channel_config(body.kind, body.config)
    if session.scalar(select(AlertChannel.id).where(AlertChannel.name == body.name)):
        raise Conflict(
            f"An alert channel is already called {body.name!r}: choose another name.",
            code="channel_name_taken",
        )
    channel = AlertChannel(
        name=body.name,
        kind=body.kind.value,
        display=shown,
        enabled=body.enabled,
        digest_weekday=body.digest_weekday,
        digest_time=body.digest_time,
        send_quarterly_review=body.send_quarterly_review,
        # The quarter already closed is not sent to a channel made after it.
        review_last_quarter=previous_quarter(now.date()),
        digest_last_sent_on=now.date() - timedelta(days=1) if body.digest_weekday else None,
    )
    store_secrets(channel, cipher, secrets)
    session.add(channel)
    _flush_name(session, body.name)
    return channel


def update_channel(
    session: Session, cipher: CredentialCipher, channel_id: int, patch: ChannelPatch
) -> AlertChannel:
    channel = get_channel(session, channel_id)
    changes = patch.model_dump(exclude_unset=True)
    if "config" in changes and changes["config"] is not None:
        stored = channel_secrets(channel, cipher)
        # Settings not given keep their value: merge with what is shown, then the secrets.
        shown_now = {k: v for k, v in channel.display.items() if k not in ("host", "password_set")}
        shown, secrets = validate_channel_config(
            ChannelKind(channel.kind), {**shown_now, **changes["config"]}, stored
        )
        channel.display = shown
        store_secrets(channel, cipher, secrets)
    if changes.get("name"):
        channel.name = changes["name"]
    if changes.get("enabled") is not None:
        channel.enabled = changes["enabled"]
    if changes.get("send_quarterly_review") is not None:
        channel.send_quarterly_review = changes["send_quarterly_review"]
    if "digest_weekday" in changes or "digest_time" in changes:
        weekday = changes.get("digest_weekday", channel.digest_weekday)
        at = changes.get("digest_time", channel.digest_time)
        if weekday and at:
            channel.digest_weekday, channel.digest_time = weekday, at
        elif weekday == 0 or (weekday is None and at is None):
            channel.digest_weekday, channel.digest_time = None, None
        else:
            raise InvalidInput(
                "A weekly digest needs both digest_weekday (1-7) and digest_time (HH:MM).",
                code="digest_schedule_incomplete",
            )
    _flush_name(session, channel.name)
    return channel


def delete_channel(session: Session, channel_id: int) -> None:
    session.delete(get_channel(session, channel_id))


def get_rule(session: Session, rule_id: int) -> AlertRule:
    rule = session.get(AlertRule, rule_id)
    if rule is None:
        raise NotFound(f"There is no alert rule with id {rule_id}.", code="rule_not_found")
    return rule


def _must_exist(session: Session, model: type, ident: int | None, what: str) -> None:
    if ident is not None and session.get(model, ident) is None:
        raise InvalidInput(f"There is no {what} with id {ident}.", code=f"{what}_not_found")


def create_rule(session: Session, body: RuleIn) -> AlertRule:
    _must_exist(session, AlertChannel, body.channel_id, "channel")
    _must_exist(session, Goal, body.goal_id, "goal")
    _must_exist(session, Objective, body.objective_id, "objective")
    _must_exist(session, Source, body.source_id, "source")
    options = {name: getattr(body, name) for name in EVENT_OPTIONS[body.event]}
    rule = AlertRule(
        channel_id=body.channel_id,
        name=body.name,
        event=body.event,
        goal_id=body.goal_id,
        objective_id=body.objective_id,
        source_id=body.source_id,
        options=options,
        quiet_hours=body.quiet_hours,
        enabled=body.enabled,
    )
    session.add(rule)
    session.flush()
    return rule


# What any rule may change, beside its event's own filters (EVENT_OPTIONS).
RULE_SETTINGS = ("name", "enabled", "quiet_hours")


def update_rule(session: Session, rule_id: int, patch: RulePatch) -> AlertRule:
    rule = get_rule(session, rule_id)
    changes = patch.model_dump(exclude_unset=True)
    filters = EVENT_OPTIONS[rule.event]
    for name, value in changes.items():
        if name not in RULE_SETTINGS and name not in filters:
            raise InvalidInput(
                f"A {rule.event} rule has no {name} filter"
                + (f" (its filters: {', '.join(filters)})." if filters else "."),
                code="filter_not_for_this_event",
            )
        if value is None and name != "name":
            raise InvalidInput(f"{name} cannot be empty.", code="invalid_rule_change")
    for name in RULE_SETTINGS:
        if name in changes:
            setattr(rule, name, changes[name])
    rule.options = {**(rule.options or {}), **{n: changes[n] for n in filters if n in changes}}
    session.flush()
    return rule


def list_deliveries(
    session: Session, channel_id: int, status: str | None = None, limit: int = 100
) -> list[DeliveryOut]:
    """A channel's deliveries, newest first (raises NotFound for no such channel)."""
    get_channel(session, channel_id)
    query = select(AlertDelivery).where(AlertDelivery.channel_id == channel_id)
    if status is not None:
        query = query.where(AlertDelivery.status == status)
    rows = session.scalars(query.order_by(AlertDelivery.id.desc()).limit(limit))
    return [delivery_out(row) for row in rows]


def delivery_out(row: AlertDelivery) -> DeliveryOut:
    fields = {name: getattr(row, name) for name in DeliveryOut.model_fields if name != "title"}
    return DeliveryOut(**fields, title=str((row.message or {}).get("title", "")))


def send_test_message(
    db: Database, cipher: CredentialCipher, channel: AlertChannel, now: datetime
) -> DeliveryOut:
    """Queue a test message to `channel` in a transaction of its own, send it at once and
    say what the channel answered (a channel busy or down is tried again later)."""
    message = Message(
        kind="test",
        title="Northstar test message",
        summary=f"This is a test of the alert channel {channel.name!r}. Alerts will look "
        "like this.",
        explanation="Nothing has changed: no goal was judged to send this.",
    )
    with db.session() as writing:
        row = enqueue(
            writing,
            writing.get(AlertChannel, channel.id) or channel,
            message,
            purpose="test",
            key=f"ns-test-{channel.id}-{now.strftime('%Y%m%dT%H%M%S%f')}",
            now=now,
        )
        writing.flush()
        delivery_id = row.id
    deliver_one(db, cipher, delivery_id, now=now)
    with db.session() as reading:
        sent = reading.get(AlertDelivery, delivery_id)
        assert sent is not None
        return delivery_out(sent)
