"""API keys: created once, shown once, stored as a SHA-256 hash, scoped read or admin."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.security.models import ApiKey, KeyScope

KEY_PREFIX = "ns_"


@dataclass(frozen=True, slots=True)
class CreatedKey:
    id: int
    name: str
    scope: KeyScope
    key: str  # the only time the key exists in clear


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(session: Session, *, name: str, scope: KeyScope) -> CreatedKey:
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(name=name, prefix=key[:10], key_hash=hash_key(key), scope=scope)
    session.add(row)
    session.flush()
    return CreatedKey(id=row.id, name=name, scope=scope, key=key)


def find_active_key(session: Session, key: str) -> ApiKey | None:
    """The unrevoked key matching `key`, with its last use stamped; None if unknown."""
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    # Stamping every request would write on every read; a minute's precision is enough.
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        row.last_used_at = now
    return row


def list_api_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke_api_key(session: Session, key_id: int) -> bool:
    row = session.get(ApiKey, key_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    return True
