"""`/api/v1/alerts/...`: channels (admin keys only), rules and the delivery history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from app.alerts import service
from app.alerts.models import AlertChannel, AlertRule, DeliveryStatus
from app.alerts.schemas import (
    ChannelIn,
    ChannelOut,
    ChannelPatch,
    DeliveryOut,
    RuleIn,
    RuleOut,
    RulePatch,
)
from app.api.deps import AdminKey, ContextDep, ReadKey, SessionDep
from app.api.openapi import A_CHANGE
from app.db import utcnow

router = APIRouter(prefix="/alerts", tags=["alerts"])

ADMIN_ONLY: dict[int | str, dict[str, Any]] = {"403": A_CHANGE["403"]}
NOT_FOUND: dict[int | str, dict[str, Any]] = {"404": {"description": "No such channel or rule."}}
ChannelLimit = Annotated[int, Query(ge=1, le=500, description="How many, newest first.")]


@router.get(
    "/channels", response_model=list[ChannelOut], summary="Alert channels", responses=ADMIN_ONLY
)
def list_channels(session: SessionDep, _key: AdminKey) -> Any:
    """Where alerts go: Teams, Slack, e-mail or your own webhook. Admin keys only, though
    no answer ever shows a channel's URL, signing secret or password."""
    return list(session.scalars(select(AlertChannel).order_by(AlertChannel.id)))


@router.post("/channels", response_model=ChannelOut, status_code=201, summary="Add a channel")
def create_channel(
    body: ChannelIn, session: SessionDep, context: ContextDep, _key: AdminKey
) -> Any:
    """Add a place to send alerts. Its URL (or SMTP password, or webhook secret) is stored
    encrypted with NORTHSTAR_ENCRYPTION_KEY and never shown again; answers show its host.
    Send a test message next: `POST /api/v1/alerts/channels/{id}/test`."""
    return service.create_channel(session, context.cipher, body, utcnow())


@router.get(
    "/channels/{channel_id}",
    response_model=ChannelOut,
    summary="One channel",
    responses={**ADMIN_ONLY, **NOT_FOUND},
)
def get_channel(channel_id: int, session: SessionDep, _key: AdminKey) -> Any:
    """A channel's settings, without its URL, secret or password."""
    return service.get_channel(session, channel_id)


@router.patch(
    "/channels/{channel_id}",
    response_model=ChannelOut,
    summary="Change a channel",
    responses=NOT_FOUND,
)
def update_channel(
    channel_id: int, body: ChannelPatch, session: SessionDep, context: ContextDep, _key: AdminKey
) -> Any:
    """Rename, switch off or on, set the weekly digest (day 1-7 and HH:MM; day 0 stops it),
    or change the settings: a URL, secret or password left out keeps its value."""
    return service.update_channel(session, context.cipher, channel_id, body)


@router.delete(
    "/channels/{channel_id}", status_code=204, summary="Delete a channel", responses=NOT_FOUND
)
def delete_channel(channel_id: int, session: SessionDep, _key: AdminKey) -> Response:
    """The channel, its rules and its delivery history go; alerts queued for it are dropped."""
    service.delete_channel(session, channel_id)
    return Response(status_code=204)


@router.post(
    "/channels/{channel_id}/test",
    response_model=DeliveryOut,
    summary="Send a test message",
    responses=NOT_FOUND,
)
def test_channel(channel_id: int, session: SessionDep, context: ContextDep, _key: AdminKey) -> Any:
    """Send a test message now and say what the channel answered (`status`, `last_error`).
    A channel that is busy or down is tried again later, as any alert would be."""
    channel = service.get_channel(session, channel_id)
    return service.send_test_message(context.db, context.cipher, channel, utcnow())


@router.get(
    "/channels/{channel_id}/deliveries",
    response_model=list[DeliveryOut],
    summary="A channel's delivery history",
    responses=NOT_FOUND,
)
def channel_deliveries(
    channel_id: int,
    session: SessionDep,
    _key: ReadKey,
    status: Annotated[DeliveryStatus | None, Query(description="Only this status.")] = None,
    limit: ChannelLimit = 100,
) -> Any:
    """What was sent to the channel, newest first: sent, failed (with the reason) or waiting
    to be tried again, with every attempt."""
    return service.list_deliveries(
        session, channel_id, status.value if status is not None else None, limit
    )


@router.get("/rules", response_model=list[RuleOut], summary="Alert rules")
def list_rules(
    session: SessionDep,
    _key: ReadKey,
    channel_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Any:
    """What each channel is told about: which goals, which events, with which filters."""
    query = select(AlertRule).order_by(AlertRule.id)
    if channel_id is not None:
        query = query.where(AlertRule.channel_id == channel_id)
    return list(session.scalars(query))


@router.post("/rules", response_model=RuleOut, status_code=201, summary="Add a rule")
def create_rule(body: RuleIn, session: SessionDep, _key: AdminKey) -> Any:
    """Subscribe a channel to a goal, an objective (and the objectives below it) or the whole
    plan. Example: `{"channel_id": 1, "event": "status_change", "to_statuses": ["at_risk",
    "off_track"]}` says so when any goal turns at risk or off track, once per day at most."""
    return service.create_rule(session, body)


@router.get("/rules/{rule_id}", response_model=RuleOut, summary="One rule", responses=NOT_FOUND)
def get_rule(rule_id: int, session: SessionDep, _key: ReadKey) -> Any:
    """A rule and how far it has read the daily snapshots."""
    return service.get_rule(session, rule_id)


@router.patch(
    "/rules/{rule_id}", response_model=RuleOut, summary="Change a rule", responses=NOT_FOUND
)
def update_rule(rule_id: int, body: RulePatch, session: SessionDep, _key: AdminKey) -> Any:
    """Rename, switch off or on, change the quiet period or the rule's own filters (for a
    status_change rule, e.g. `{"to_statuses": ["off_track"]}`)."""
    return service.update_rule(session, rule_id, body)


@router.delete("/rules/{rule_id}", status_code=204, summary="Delete a rule", responses=NOT_FOUND)
def delete_rule(rule_id: int, session: SessionDep, _key: AdminKey) -> Response:
    """The rule stops; alerts it already queued are still sent."""
    session.delete(service.get_rule(session, rule_id))
    return Response(status_code=204)
