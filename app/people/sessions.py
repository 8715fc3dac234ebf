"""Web sessions: a random token in the browser's cookie, its SHA-256 in `web_sessions`.

A session ends when it is signed out (revoked), when its person is disabled or given a new
password (all their sessions are revoked), after `session_idle_hours` without a page, and
`session_max_days` after it began, however active. `last_seen_at` is written at most once
a minute per session, with the request that notices it is due, never on every request.

The CSRF token of a session's forms is derived from its token (`csrf_token_for`), so
nothing more is stored and another session's forms carry another token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from app.db import utcnow
from app.people.models import CLIENT_MAX, USER_AGENT_MAX, User, WebSession
from app.people.principal import Person, Role
from app.settings import Settings

SESSION_COOKIE = "northstar_session"
TOKEN_BYTES = 32
TOUCH_EVERY = timedelta(minutes=1)
# What a form token is derived for: changing it invalidates every open form at once.
CSRF_LABEL = b"northstar form token v1"


def now() -> datetime:
    """The current moment for sessions; tests move it (monkeypatch) to age a session."""
    return utcnow()


class SessionState(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"  # idle too long, or older than the longest a sign-in lasts
    ENDED = "ended"  # signed out, or its person was disabled or given a new password
    UNKNOWN = "unknown"  # no such session (never was, or cleaned up)


@dataclass(frozen=True, slots=True)
class FoundSession:
    state: SessionState
    user: User | None = None  # set when ACTIVE


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_token_for(secret: str) -> str:
    """The token a form of the caller holding `secret` (a session token or an API key)
    must send back: an HMAC of a fixed label keyed with the secret, in hex. It reveals
    nothing of the secret and differs for every session."""
    return hmac.new(secret.encode("utf-8"), CSRF_LABEL, hashlib.sha256).hexdigest()


def _lifetimes(settings: Settings) -> tuple[timedelta, timedelta]:
    return timedelta(hours=settings.session_idle_hours), timedelta(days=settings.session_max_days)


def start_session(
    session: Session,
    user: User,
    *,
    settings: Settings,
    client: str | None = None,
    user_agent: str | None = None,
) -> str:
    """A new session for `user`; returns its token, which only the cookie keeps. Sessions
    of `user` that have ended are cleaned up on the way."""
    moment = now()
    _idle, longest = _lifetimes(settings)
    session.execute(
        delete(WebSession).where(
            WebSession.user_id == user.id,
            or_(WebSession.expires_at <= moment, WebSession.revoked_at.is_not(None)),
        )
    )
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        WebSession(
            token_hash=hash_token(token),
            user_id=user.id,
            created_at=moment,
            last_seen_at=moment,
            expires_at=moment + longest,
            client=(client or "")[:CLIENT_MAX] or None,
            user_agent=(user_agent or "")[:USER_AGENT_MAX] or None,
        )
    )
    session.flush()
    return token


def find_session(session: Session, token: str, *, settings: Settings) -> FoundSession:
    """The state of the session `token` names, with its person when it is active. Notes
    the visit (`last_seen_at`) when the last note is a minute old or more; the caller's
    transaction writes it."""
    row = session.scalar(select(WebSession).where(WebSession.token_hash == hash_token(token)))
    if row is None:
        return FoundSession(SessionState.UNKNOWN)
    user = session.get(User, row.user_id)
    if row.revoked_at is not None or user is None or user.disabled_at is not None:
        return FoundSession(SessionState.ENDED)
    moment = now()
    idle, longest = _lifetimes(settings)
    # The setting as it is today applies to sessions begun before it was lowered, too.
    ends = min(row.expires_at, row.created_at + longest)
    if moment >= ends or moment >= row.last_seen_at + idle:
        return FoundSession(SessionState.EXPIRED)
    if moment - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = moment
    return FoundSession(SessionState.ACTIVE, user)


def person_for_token(session: Session, token: str, *, settings: Settings) -> Person | SessionState:
    """The person signed in with the session `token` names, or why there is none."""
    found = find_session(session, token, settings=settings)
    if found.user is None:
        return found.state
    return Person(
        name=found.user.name,
        role=Role(found.user.role),
        user_id=found.user.id,
        csrf_token=csrf_token_for(token),
    )


def revoke_session(session: Session, token: str) -> bool:
    """End the session `token` names; False when there was none still open."""
    result = session.execute(
        update(WebSession)
        .where(WebSession.token_hash == hash_token(token), WebSession.revoked_at.is_(None))
        .values(revoked_at=now())
    )
    return bool(getattr(result, "rowcount", 0))


def revoke_sessions_of(session: Session, user_id: int) -> int:
    """End every open session of a person; returns how many there were."""
    result = session.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=now())
    )
    return int(getattr(result, "rowcount", 0) or 0)
