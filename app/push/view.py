"""How a source's push stands, for `GET /api/v1/sources/{id}` and `/metrics`."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.push.models import PushChannel, PushNoticeRow, PushState

OFF_MESSAGE = (
    "Push is off: set `public_base_url` (NORTHSTAR_PUBLIC_BASE_URL) to an address the PSA "
    "can reach, and changes show within seconds. Without it Northstar checks for changes "
    "every minute."
)


class PushOut(BaseModel):
    """Whether the PSA tells Northstar about changes as they happen."""

    state: str = Field(
        description="`active` (registered with the PSA: changes show within seconds), "
        "`gap` (the PSA changed records without telling Northstar: it registered again), "
        "`failed` (the PSA refused the registration: tried again hourly) or `off` (no "
        "public URL, or this PSA cannot push). Checking every minute goes on in every state."
    )
    message: str = Field(description="The state in words, with what to do if anything.")
    registered_at: datetime | None = Field(description="When Northstar last registered.")
    registrations: int = Field(description="Callbacks or webhooks registered in the PSA.")
    last_delivery_at: datetime | None = Field(description="When the last notice came.")
    deliveries: int = Field(description="Notices accepted since push was set up.")
    replays: int = Field(description="Notices received again and not acted on twice.")
    refused: int = Field(description="Notices refused: wrong token or signature.")
    gaps: int = Field(description="Times the PSA changed records without telling Northstar.")
    pending: int = Field(description="Announced records not read yet.")


def push_out(session: Session, source_id: int) -> PushOut:
    channel = session.get(PushChannel, source_id)
    if channel is None:
        return PushOut(
            state=PushState.OFF,
            message=OFF_MESSAGE,
            registered_at=None,
            registrations=0,
            last_delivery_at=None,
            deliveries=0,
            replays=0,
            refused=0,
            gaps=0,
            pending=0,
        )
    pending = session.scalar(
        select(func.count())
        .select_from(PushNoticeRow)
        .where(PushNoticeRow.source_id == source_id, PushNoticeRow.processed_at.is_(None))
    )
    return PushOut(
        state=channel.state,
        message=channel.state_message or OFF_MESSAGE,
        registered_at=channel.registered_at,
        registrations=len(channel.subscriptions),
        last_delivery_at=channel.last_delivery_at,
        deliveries=channel.deliveries,
        replays=channel.replays,
        refused=channel.refused,
        gaps=channel.gaps,
        pending=pending or 0,
    )
