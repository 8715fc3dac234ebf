"""The route a PSA posts its change notices to.

It takes no API key: the PSA has none. A delivery is accepted only with the source's URL
token (checked before the body is read) and, for a PSA that signs (Autotask), a valid
signature. Nothing in it is believed but which record changed and how: the record is read
again from the PSA (`app.push.drain`). A replayed delivery is answered and not queued
again. The answer comes at once (ConnectWise gives up after 5 seconds); the reading waits
`push_debounce_seconds`, so a burst of notices is read in one go.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from app.api.deps import ContextDep
from app.api.errors import ErrorOut, error_response
from app.db import utcnow
from app.errors import InvalidInput
from app.push import secrets as push_secrets
from app.push.models import PushChannel, PushNoticeRow, PushState
from app.push.setup import channel_secret
from app.sources.models import Source
from app.sources.service import build_connector
from connectors.sdk import Delivery, DeliveryRefused, Pushable

log = structlog.get_logger(__name__)

router = APIRouter(tags=["Push from the PSA"])

REFUSED = (
    "This address only takes change notices from the PSA Northstar registered it with, "
    "sent with its token and, where the PSA signs them, a valid signature."
)
RESUMED = "Deliveries resumed: changes show within seconds again."
SWITCHED_OFF = (
    "The PSA switched Northstar's push registration off (after failed deliveries, or its "
    "owner was deactivated). Northstar registers again within a minute; meanwhile it checks "
    "for changes every minute as usual."
)


class DeliveryAnswer(BaseModel):
    received: int = Field(description="Records this notice announced that Northstar will read.")
    replay: bool = Field(description="True when this exact notice had been received before.")


def _refused() -> JSONResponse:
    return error_response(401, "delivery_refused", REFUSED)


@router.post(
    "/push/{source_id}/{token}",
    response_model=DeliveryAnswer,
    summary="Receive a change notice from the PSA",
    responses={
        401: {
            "description": "Not from the PSA this address was registered with.",
            "model": ErrorOut,
        }
    },
)
async def receive_delivery(
    source_id: int, token: str, request: Request, context: ContextDep
) -> Any:
    """Where ConnectWise callbacks and Autotask webhooks arrive, once Northstar registered
    them (set `public_base_url`). Not for people or BI tools: the address carries a token
    only the PSA was given, and Autotask's notices are also signed. Northstar reads the
    announced records again from the PSA a moment later."""
    with context.db.session() as session:
        channel = session.get(PushChannel, source_id)
        source = session.get(Source, source_id)
        if channel is None or source is None:
            return _refused()
        session.expunge(source)
        secret = channel_secret(channel, context.cipher)
    if not push_secrets.token_matches(secret, token):
        _count_refused(context, source_id)
        return _refused()
    body = await request.body()
    connector, _stats = build_connector(source, context.cipher, reporting_tz=context.settings.tz)
    try:
        if not isinstance(connector, Pushable):
            return _refused()
        delivery = connector.parse_delivery(
            body, dict(request.headers), dict(request.query_params), secret
        )
    except DeliveryRefused as exc:
        log.warning("push_delivery_refused", source_id=source_id, reason=str(exc))
        _count_refused(context, source_id)
        return _refused()
    except ValueError as exc:
        raise InvalidInput(
            f"This is not a change notice Northstar can read: {exc}", code="invalid_delivery"
        ) from exc
    finally:
        await connector.aclose()
    if delivery.deactivated:
        _switched_off(context, source_id)
    replay = _queue(context, source_id, delivery)
    if not replay and delivery.notices:
        scheduler = context.scheduler
        if scheduler is not None:
            scheduler.wake(
                source_id, delay=timedelta(seconds=context.settings.push_debounce_seconds)
            )
    if not delivery.notices:
        log.info("push_delivery_without_records", source_id=source_id)
    return DeliveryAnswer(received=0 if replay else len(delivery.notices), replay=replay)


def _switched_off(context: Any, source_id: int) -> None:
    """The PSA switched Northstar's registration off: register again at the next cycle."""
    log.warning("push_switched_off_by_psa", source_id=source_id)
    with context.db.session() as session:
        channel = session.get(PushChannel, source_id)
        if channel is not None:
            channel.registered_at = None
            channel.state = PushState.GAP
            channel.state_message = SWITCHED_OFF
            channel.gaps += 1
            channel.gap_detected_at = utcnow()


def _count_refused(context: Any, source_id: int) -> None:
    with context.db.session() as session:
        channel = session.get(PushChannel, source_id)
        if channel is not None:
            channel.refused += 1


def _queue(context: Any, source_id: int, delivery: Delivery) -> bool:
    """Queue the delivery's notices; True when it was a replay (nothing queued)."""
    now = utcnow()
    try:
        with context.db.session() as session:
            seen = session.scalar(
                select(
                    exists().where(
                        PushNoticeRow.source_id == source_id,
                        PushNoticeRow.delivery_key == delivery.key,
                    )
                )
            )
            channel = session.get(PushChannel, source_id)
            if channel is None:
                return True
            if seen:
                channel.replays += 1
                return True
            for notice in dict.fromkeys(delivery.notices):
                session.add(
                    PushNoticeRow(
                        source_id=source_id,
                        delivery_key=delivery.key,
                        stream=notice.stream,
                        record_id=notice.record_id,
                        action=notice.action.value,
                        received_at=now,
                        attempts=0,
                    )
                )
            channel.deliveries += 1
            channel.last_delivery_at = now
            if channel.state == PushState.GAP and not delivery.deactivated:
                channel.state = PushState.ACTIVE
                channel.state_message = RESUMED
    except IntegrityError:
        # The same delivery, twice at once: the other one queued it.
        return True
    return False
