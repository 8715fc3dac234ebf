"""The people who sign in to the pages, and their web sessions.

A password is kept only as its argon2id hash; a session only as the SHA-256 of its token
(the token itself lives in the browser's cookie and nowhere else).

`password_is_temporary` marks a password someone else chose for the person (the one-time
password of an invite or a reset on the People page): until they choose their own on
*My account*, that is the only page they may use (app.people.web.signed_in_person)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow

EMAIL_MAX = 254  # RFC 5321's longest address
NAME_MAX = 200  # as authors are kept (check-ins, stories, plan changes)
CLIENT_MAX = 64  # an IPv6 address with room to spare
USER_AGENT_MAX = 200  # enough to tell one browser from another in a list


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Stored lower-cased: one person, one address, however they type it.
    email: Mapped[str] = mapped_column(String(EMAIL_MAX), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    role: Mapped[str] = mapped_column(String(10))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_is_temporary: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebSession(Base):
    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    client: Mapped[str | None] = mapped_column(String(CLIENT_MAX))
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_MAX))
