"""The outbox: deliveries written with their event, sent by the delivery worker.

A delivery is claimed before it is sent (`pending` → `sending`, in a transaction of its own
that only one worker can win), sent, then marked `sent` or scheduled again. A delivery once
`sent` is never sent again. If the process dies after the claim and before the outcome is
written, the delivery stays `sending`; after `LEASE` it is sent again with the same
idempotency key. So delivery is at least once, and exactly once for a receiver that drops a
repeated `X-Northstar-Idempotency-Key` (docs/alerts.md, "Delivery guarantees").
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import structlog
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from app.alerts.channels import channel_secrets
from app.alerts.messages import Message
from app.alerts.models import AlertChannel, AlertDelivery, AlertEvent, ChannelKind, DeliveryStatus
from app.alerts.send import Outcome, send
from app.db import Database, utcnow
from app.security.crypto import CredentialCipher, CredentialCipherError

log = structlog.get_logger(__name__)

LEASE = timedelta(minutes=10)  # a `sending` delivery older than this was lost in a crash
MAX_ATTEMPTS = 8
FIRST_BACKOFF_S = 30.0
MAX_BACKOFF_S = 3600.0
BATCH = 20

Transports = Callable[[AlertChannel], httpx.BaseTransport | None]


def enqueue(
    session: Session,
    channel: AlertChannel,
    message: Message,
    *,
    purpose: str,
    key: str,
    event: AlertEvent | None = None,
    now: datetime | None = None,
) -> AlertDelivery:
    """Add a delivery to the session (committed with whatever the caller writes with it)."""
    delivery = AlertDelivery(
        channel_id=channel.id,
        event_id=event.id if event is not None else None,
        purpose=purpose,
        idempotency_key=key,
        message=message.model_dump(mode="json"),
        status=DeliveryStatus.PENDING,
        next_attempt_at=now or utcnow(),
        history=[],
    )
    session.add(delivery)
    return delivery


def backoff_seconds(attempts: int, retry_after: float | None) -> float:
    """Wait before the next attempt: what the channel asked for, else doubling from 30 s."""
    if retry_after is not None:
        return min(max(retry_after, 1.0), MAX_BACKOFF_S)
    return float(min(FIRST_BACKOFF_S * 2 ** max(attempts - 1, 0), MAX_BACKOFF_S))


def _due(now: datetime) -> Any:
    return or_(
        and_(AlertDelivery.status == DeliveryStatus.PENDING, AlertDelivery.next_attempt_at <= now),
        and_(
            AlertDelivery.status == DeliveryStatus.SENDING, AlertDelivery.claimed_at < now - LEASE
        ),
    )


def _claim(db: Database, delivery_id: int, now: datetime) -> bool:
    """Mark the delivery `sending`; False when another worker claimed it first."""
    with db.session() as session:
        claimed = session.execute(
            update(AlertDelivery)
            .where(AlertDelivery.id == delivery_id, _due(now))
            .values(
                status=DeliveryStatus.SENDING,
                claimed_at=now,
                attempts=AlertDelivery.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(claimed, "rowcount", 0) == 1)


def _record(db: Database, delivery_id: int, outcome: Outcome, now: datetime) -> str:
    with db.session() as session:
        delivery = session.get(AlertDelivery, delivery_id)
        if delivery is None:  # its channel was deleted meanwhile
            return "gone"
        entry: dict[str, Any] = {
            "at": now.isoformat(),
            "attempt": delivery.attempts,
            "result": outcome.detail,
        }
        if outcome.sent:
            delivery.status, delivery.sent_at, delivery.last_error = DeliveryStatus.SENT, now, None
            entry["next"] = "sent"
        elif outcome.retry and delivery.attempts < MAX_ATTEMPTS:
            wait = backoff_seconds(delivery.attempts, outcome.retry_after)
            delivery.status = DeliveryStatus.PENDING
            delivery.next_attempt_at = now + timedelta(seconds=wait)
            delivery.last_error = outcome.detail
            entry["next"] = f"retry in {wait:.0f} s"
        else:
            delivery.status, delivery.last_error = DeliveryStatus.FAILED, outcome.detail
            entry["next"] = "gave up" if outcome.retry else "refused: not retried"
        delivery.history = [*delivery.history, entry]
        return str(delivery.status)


def deliver_one(
    db: Database,
    cipher: CredentialCipher,
    delivery_id: int,
    *,
    now: datetime | None = None,
    transports: Transports | None = None,
) -> str | None:
    """Claim, send and record one delivery; its new status, or None if it was not due."""
    now = now or utcnow()
    if not _claim(db, delivery_id, now):
        return None
    with db.session() as session:
        delivery = session.get(AlertDelivery, delivery_id)
        channel = session.get(AlertChannel, delivery.channel_id) if delivery else None
        if delivery is None or channel is None:
            return None
        message = Message.model_validate(delivery.message)
        key, kind, shown = (
            delivery.idempotency_key,
            ChannelKind(channel.kind),
            dict(channel.display),
        )
        transport = transports(channel) if transports else None
    try:
        secrets = channel_secrets(channel, cipher)
    except CredentialCipherError as exc:
        outcome = Outcome(sent=False, detail=exc.args[0])
    else:
        outcome = send(kind, shown, secrets, message, key, transport=transport)
    status = _record(db, delivery_id, outcome, now)
    log.info(
        "alert_delivery_attempted",
        delivery_id=delivery_id,
        channel_id=channel.id,
        channel_kind=kind.value,
        status=status,
        result=outcome.detail,
    )
    return status


def deliver_due(
    db: Database,
    cipher: CredentialCipher,
    *,
    now: datetime | None = None,
    transports: Transports | None = None,
    limit: int = BATCH,
) -> int:
    """Send the deliveries that are due, oldest first; how many were attempted."""
    now = now or utcnow()
    with db.session() as session:
        due = list(
            session.scalars(
                select(AlertDelivery.id)
                .join(AlertChannel, AlertChannel.id == AlertDelivery.channel_id)
                .where(_due(now), AlertChannel.enabled.is_(True))
                .order_by(AlertDelivery.next_attempt_at, AlertDelivery.id)
                .limit(limit)
            )
        )
    attempted = 0
    for delivery_id in due:
        if deliver_one(db, cipher, delivery_id, now=now, transports=transports) is not None:
            attempted += 1
    return attempted
