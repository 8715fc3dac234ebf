"""Each source's latest reading of its PSA tenant's shared usage, kept in the database so
every process (the scheduler, command-line syncs, the API's checks) sees the same one
(`connectors.sdk.tenant`). A reading is the tenant's state, never the source's spending."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.db import Base, Database, UTCDateTime
from connectors.sdk import TenantUsage


class TenantUsageRow(Base):
    """The latest reading of a source's PSA tenant: its limit and what all its integrations
    had used, or a refusal for that limit (`limited_until`)."""

    __tablename__ = "tenant_usage"

    source_id: Mapped[int] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True
    )
    threshold: Mapped[int] = mapped_column(Integer)
    used: Mapped[int] = mapped_column(Integer)
    window_minutes: Mapped[int] = mapped_column(Integer, default=60)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime)
    limited_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    def usage(self) -> TenantUsage:
        return TenantUsage(
            threshold=self.threshold,
            used=self.used,
            read_at=self.read_at,
            window_minutes=self.window_minutes,
            limited_until=self.limited_until,
        )


def latest_tenant_usage(session: Session, source_id: int) -> TenantUsage | None:
    row = session.get(TenantUsageRow, source_id)
    return row.usage() if row is not None else None


class DatabaseTenantBook:
    """The `TenantUsageBook` of one source, kept in `db`."""

    def __init__(self, db: Database, source_id: int) -> None:
        self.db = db
        self.source_id = source_id

    def latest(self) -> TenantUsage | None:
        with self.db.session() as session:
            return latest_tenant_usage(session, self.source_id)

    def record(self, usage: TenantUsage) -> None:
        with self.db.session() as session:
            row = session.get(TenantUsageRow, self.source_id)
            if row is None:
                row = TenantUsageRow(source_id=self.source_id)
                session.add(row)
            row.threshold, row.used = usage.threshold, usage.used
            row.window_minutes, row.read_at = usage.window_minutes, usage.read_at
            row.limited_until = usage.limited_until
