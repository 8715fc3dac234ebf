"""Registering a source's push with its PSA, removing it, and noticing when it stops.

Northstar registers only when `public_base_url` is set (the PSA must reach it) and `push` is
on, for connectors whose PSA can push (`connectors.sdk.Pushable`). What it registered is
kept, so it removes exactly that and nothing else: when the source is deleted, when push is
switched off, or before registering a changed public URL. A refused registration is tried
again after `RETRY_AFTER_FAILURE`; polling goes on meanwhile, as it always does.

A gap: the regular check found a change in a pushed stream, newer than the last delivery
by more than `push_gap_minutes`, made after the registration. Deliveries have stopped (the
PSA disabled the callback after failures, someone deleted the webhook): Northstar reports
it and registers again, which recreates what is missing and reuses what is there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

import httpx
import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import Database, utcnow
from app.ingest.models import SyncCursor
from app.logging import secrets_registry
from app.push import secrets as push_secrets
from app.push.models import PushChannel, PushState
from app.security.crypto import CredentialCipher, CredentialCipherError
from app.settings import Settings
from app.sources.models import Source
from app.sources.service import build_connector
from connectors.sdk import Connector, ConnectorError, Pushable, PushSubscription

log = structlog.get_logger(__name__)

RETRY_AFTER_FAILURE = timedelta(hours=1)
REGISTERED = "Registered with the PSA at {url}: changes show within seconds."
GAP = (
    "The PSA changed {streams} at {at:%Y-%m-%d %H:%M} UTC without telling Northstar "
    "(the last notice came {last}). Northstar registered again; meanwhile it checks for "
    "changes every minute as usual."
)
REFUSED = (
    "The PSA refused Northstar's registration for push ({reason}). Northstar checks for "
    "changes every minute meanwhile and tries to register again in an hour."
)


@dataclass(frozen=True, slots=True)
class PushWish:
    """What the settings ask for a source: the public URL to register, or None (off)."""

    public_base_url: str | None
    gap_after: timedelta = timedelta(minutes=10)

    @classmethod
    def of(cls, settings: Settings, connector: Connector) -> PushWish:
        wanted = push_wanted(settings) and isinstance(connector, Pushable)
        return cls(
            settings.public_base_url if wanted else None,
            gap_after=timedelta(minutes=settings.push_gap_minutes),
        )


def push_wanted(settings: Settings) -> bool:
    """Whether the settings ask for push at all (on, with a public URL)."""
    return bool(settings.push and settings.public_base_url)


def pushes(connector: Connector) -> Pushable | None:
    return connector if isinstance(connector, Pushable) else None


def channel_secret(channel: PushChannel, cipher: CredentialCipher) -> str:
    secret = push_secrets.unseal(cipher, channel.secret_encrypted)
    secrets_registry.add(secret)
    secrets_registry.add(push_secrets.url_token(secret))
    return secret


def _subscriptions(channel: PushChannel) -> list[PushSubscription]:
    return [PushSubscription(str(s["remote_id"]), str(s["entity"])) for s in channel.subscriptions]


async def ensure_push(
    db: Database,
    cipher: CredentialCipher,
    source_id: int,
    connector: Connector,
    wish: PushWish,
    now: datetime | None = None,
) -> None:
    """Make the PSA's registration match `wish`: register, register again after a gap or
    a changed URL, or remove. Never raises: a failure is the channel's state."""
    now = now or utcnow()
    pushable = pushes(connector)
    with db.session() as session:
        channel = session.get(PushChannel, source_id)
        if channel is not None:
            session.expunge(channel)
    if pushable is None or (channel is None and wish.public_base_url is None):
        return
    if channel is None:
        channel = _new_channel(db, cipher, source_id)
    if wish.public_base_url is None:
        await _remove(db, pushable, channel)
        return
    gap = _gap(db, channel, pushable, wish.gap_after)
    registered_here = (
        channel.public_base_url == wish.public_base_url and channel.registered_at is not None
    )
    if registered_here and gap is None:
        return
    if not registered_here and channel.next_attempt_at and channel.next_attempt_at > now:
        return
    if channel.subscriptions and channel.public_base_url != wish.public_base_url:
        await _remove(db, pushable, channel)
    await _register(db, cipher, pushable, channel, wish.public_base_url, gap, now)


def _new_channel(db: Database, cipher: CredentialCipher, source_id: int) -> PushChannel:
    with db.session() as session:
        channel = PushChannel(
            source_id=source_id,
            secret_encrypted=push_secrets.seal(cipher, push_secrets.new_secret()),
            public_base_url="",
            subscriptions=[],
            state=PushState.OFF,
            deliveries=0,
            replays=0,
            refused=0,
            gaps=0,
        )
        session.add(channel)
        session.flush()
        session.expunge(channel)
    return channel


async def _register(
    db: Database,
    cipher: CredentialCipher,
    pushable: Pushable,
    channel: PushChannel,
    public_base_url: str,
    gap: str | None,
    now: datetime,
) -> None:
    secret = channel_secret(channel, cipher)
    url = push_secrets.receiver_url(public_base_url, channel.source_id, secret)
    values: dict[str, Any]
    try:
        subscriptions = await pushable.subscribe(url, secret)
    except ConnectorError as exc:
        reason = secrets_registry.scrub(exc.message)
        log.warning("push_registration_refused", source_id=channel.source_id, reason=reason)
        values = {
            "state": PushState.FAILED,
            "state_message": REFUSED.format(reason=reason),
            "next_attempt_at": now + RETRY_AFTER_FAILURE,
        }
    else:
        log.info("push_registered", source_id=channel.source_id, entities=len(subscriptions))
        values = {
            "public_base_url": public_base_url,
            "subscriptions": [
                {"remote_id": sub.remote_id, "entity": sub.entity} for sub in subscriptions
            ],
            "state": PushState.GAP if gap else PushState.ACTIVE,
            "state_message": gap or REGISTERED.format(url=public_base_url),
            "registered_at": now,
            "next_attempt_at": None,
        }
        if gap:
            values["gaps"] = channel.gaps + 1
            values["gap_detected_at"] = now
    with db.session() as session:
        row = session.get(PushChannel, channel.source_id)
        if row is not None:
            for name, value in values.items():
                setattr(row, name, value)


async def _remove(db: Database, pushable: Pushable, channel: PushChannel) -> None:
    """Remove what this channel registered (only that) and switch it off."""
    if channel.subscriptions:
        try:
            await pushable.unsubscribe(_subscriptions(channel))
        except ConnectorError as exc:
            log.warning(
                "push_removal_failed",
                source_id=channel.source_id,
                reason=secrets_registry.scrub(exc.message),
                remote_ids=[s["remote_id"] for s in channel.subscriptions],
            )
            return
    with db.session() as session:
        row = session.get(PushChannel, channel.source_id)
        if row is not None:
            row.subscriptions = []
            row.public_base_url = ""
            row.registered_at = None
            row.state = PushState.OFF
            row.state_message = None


async def withdraw_push(
    db: Database,
    cipher: CredentialCipher,
    source: Source,
    *,
    reporting_tz: tzinfo,
    transport: httpx.AsyncBaseTransport | None,
) -> None:
    """Before a source is deleted: remove its registrations from the PSA. A failure is
    logged with their ids, so they can be removed by hand (ConnectWise also disables a
    callback that keeps failing); the source is deleted all the same."""
    with db.session() as session:
        channel = session.get(PushChannel, source.id)
        if channel is None or not channel.subscriptions:
            return
        session.expunge(channel)
    try:
        connector, _stats = build_connector(
            source, cipher, reporting_tz=reporting_tz, transport=transport
        )
    except (ConnectorError, CredentialCipherError):
        log.warning("push_removal_failed", source_id=source.id, remote_ids=channel.subscriptions)
        return
    try:
        pushable = pushes(connector)
        if pushable is not None:
            await _remove(db, pushable, channel)
    finally:
        await connector.aclose()


def _gap(db: Database, channel: PushChannel, pushable: Pushable, grace: timedelta) -> str | None:
    """The words for a gap in deliveries, or None (see the module docstring)."""
    if channel.registered_at is None or channel.state not in (PushState.ACTIVE, PushState.GAP):
        return None
    with db.session() as session:
        newest = _newest_changes(session, channel.source_id, list(pushable.push_streams))
    unannounced = {
        stream: stamp
        for stream, stamp in newest.items()
        if stamp > channel.registered_at + grace
        and (channel.last_delivery_at is None or stamp > channel.last_delivery_at + grace)
    }
    if not unannounced:
        return None
    last = (
        "never"
        if channel.last_delivery_at is None
        else f"at {channel.last_delivery_at:%Y-%m-%d %H:%M} UTC"
    )
    log.warning("push_gap_detected", source_id=channel.source_id, streams=sorted(unannounced))
    return GAP.format(
        streams=" and ".join(s.replace("_", " ") for s in sorted(unannounced)),
        at=max(unannounced.values()),
        last=last,
    )


def _newest_changes(session: Session, source_id: int, streams: list[str]) -> dict[str, datetime]:
    rows = session.execute(
        select(SyncCursor.stream, SyncCursor.newest_change_at).where(
            SyncCursor.source_id == source_id, SyncCursor.stream.in_(streams)
        )
    )
    return {stream: stamp for stream, stamp in rows if stamp is not None}
