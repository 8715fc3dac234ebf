"""Where each stream of each source stands (cursor) and what every sync run did."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class SyncCursor(Base):
    """The resumable position of one stream of one source, advanced with every stored page."""

    __tablename__ = "sync_cursors"

    source_id: Mapped[int] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True
    )
    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    cursor: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Data coverage (which days of the PSA's history Northstar holds in full): true once a
    # pass that started from no cursor (a first sync, a full re-read, a backfill) finished;
    # `history_since` is that pass's first day, null when it read the PSA's history whole.
    history_read: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    history_since: Mapped[date | None] = mapped_column(Date)
    # The newest change stamp (the stream's `cursor_field`) among the records it has read:
    # how recent the newest change Northstar holds is. Null until a record carried one.
    newest_change_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # the process stopped mid-run; the next run resumed it


class SyncRun(Base):
    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_source_started", "source_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    stream: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(20))
    # The "sync now" request this run answers (the source's sync_requested_at it cleared).
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default=RunStatus.RUNNING)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    records: Mapped[int] = mapped_column(Integer, default=0)
    facts_changed: Mapped[int] = mapped_column(Integer, default=0)
    facts_deleted: Mapped[int] = mapped_column(Integer, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    # Records not stored because they could not be read (see QuarantinedRecord).
    records_skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # What the run had to do without or chose not to do, in plain words, once each.
    warnings: Mapped[list[str] | None] = mapped_column(JSON)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)


class SweepSeenId(Base):
    """An id a listing stream (sweep or full refresh) saw during one run.

    Kept in the database rather than in memory, so a sweep over millions of records runs in
    flat memory; the rows go when the run ends.
    """

    __tablename__ = "sweep_seen_ids"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("sync_runs.id", ondelete="CASCADE"), primary_key=True
    )
    external_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class QuarantinedRecord(Base):
    """A record the PSA sent that could not become a fact (a required field missing, a
    number that is not one), kept raw with the field and the reason.

    The rest of its page is stored and the stream's cursor moves on; the record is tried
    again whenever the PSA sends it again (a record fixed at the source carries a new change
    stamp) and on every later run of the stream, and leaves quarantine once it is stored.
    """

    __tablename__ = "quarantined_records"
    __table_args__ = (UniqueConstraint("source_id", "stream", "record_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    stream: Mapped[str] = mapped_column(String(64))
    # The record's id in the PSA, or "sha256:…" of its content when it has none.
    record_key: Mapped[str] = mapped_column(String(80))
    field: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id", ondelete="SET NULL"))
