"""API keys: created once, shown once, stored as a SHA-256 hash, scoped read or admin.

Checking a key never writes. When a key was last used is noted in memory
(`KeyUseRecorder`) and written a few seconds later by a thread of its own, at most once a
minute per key: on SQLite a write takes the database's one write lock, and a read request
must not queue behind a sync (or make a sync queue behind it) for a timestamp.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app.db import Database, utcnow
from app.security.models import ApiKey, KeyScope

log = structlog.get_logger(__name__)

KEY_PREFIX = "ns_"
# `last_used_at` is precise to the minute: a key is stamped at most once a minute.
STAMP_EVERY = timedelta(minutes=1)
# Where a session finds the recorder of its database (`Database.session_info`).
KEY_USES_INFO = "northstar.key_uses"


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
    """The unrevoked key matching `key`, or None. Only reads: the use is noted with the
    session's `KeyUseRecorder`, if it has one, and written later by it."""
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
    if row is None or row.revoked_at is not None:
        return None
    recorder = session.info.get(KEY_USES_INFO)
    if isinstance(recorder, KeyUseRecorder):
        recorder.note(row.id, row.last_used_at)
    return row


class KeyUseRecorder:
    """Keeps when keys were used and writes it to `api_keys.last_used_at` off the request
    path: `note` only touches memory; `flush_delay_s` after the first note a timer thread
    writes what was noted, in one short transaction. A key whose stamp is less than a
    minute old is not noted, and the write is conditional on the stored stamp being older
    than a minute, so several API processes together still stamp a key about once a minute.
    `stop` writes what is pending (at shutdown)."""

    def __init__(self, db: Database, *, flush_delay_s: float = 5.0) -> None:
        self.db = db
        self.flush_delay_s = flush_delay_s
        self._pending: dict[int, datetime] = {}
        self._written: dict[int, datetime] = {}
        self._guard = threading.Lock()
        self._timer: threading.Timer | None = None

    def note(self, key_id: int, stamped: datetime | None) -> None:
        """Key `key_id` was just used; its stored stamp was `stamped`."""
        now = utcnow()
        with self._guard:
            known = max((t for t in (stamped, self._written.get(key_id)) if t), default=None)
            if key_id in self._pending or (known is not None and now - known < STAMP_EVERY):
                return
            self._pending[key_id] = now
            if self._timer is None:
                self._timer = threading.Timer(self.flush_delay_s, self.flush)
                self._timer.daemon = True
                self._timer.name = "northstar-key-use"
                self._timer.start()

    @property
    def pending(self) -> int:
        with self._guard:
            return len(self._pending)

    def flush(self) -> int:
        """Write the uses noted so far; returns how many keys were stamped."""
        with self._guard:
            pending, self._pending = self._pending, {}
            self._timer = None
        if not pending:
            return 0
        try:
            with self.db.session() as session:
                for key_id, used_at in sorted(pending.items()):
                    session.execute(
                        update(ApiKey)
                        .where(
                            ApiKey.id == key_id,
                            or_(
                                ApiKey.last_used_at.is_(None),
                                ApiKey.last_used_at <= used_at - STAMP_EVERY,
                            ),
                        )
                        .values(last_used_at=used_at)
                    )
        except Exception as exc:
            # A lost stamp costs a minute's precision, never a request.
            log.warning("api_key_use_not_recorded", keys=len(pending), error=type(exc).__name__)
            return 0
        with self._guard:
            self._written.update(pending)
        return len(pending)

    def stop(self) -> int:
        """Cancel the timer and write what is pending now."""
        with self._guard:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        return self.flush()


def list_api_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke_api_key(session: Session, key_id: int) -> bool:
    row = session.get(ApiKey, key_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    return True
