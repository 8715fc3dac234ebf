"""Each source's PSA requests, counted in the database per minute: the budget every process
shares (`connectors.sdk.budget.BudgetLedger`).

Without it each process (the scheduler, every `northstar sync`, the API's checks) counted
only its own requests and allowed itself the whole hourly budget. A booking is one
transaction that first writes the current minute's row, which takes the row lock on
PostgreSQL and the database's write lock on SQLite, so two processes booking at once are
served one after the other and never both take the last room.

The rolling window is counted in whole minutes, rounded towards more use: a request made
59 minutes and 30 seconds ago still counts, so the limit holds over every rolling hour.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Integer, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.db import Base, Database, UTCDateTime, utcnow

# Rows older than this are of no window any more and are removed as bookings go.
KEEP = timedelta(hours=3)


class RequestBooking(Base):
    """How many requests to a source's PSA were booked in one minute (UTC)."""

    __tablename__ = "request_bookings"

    source_id: Mapped[int] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True
    )
    minute: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    requests: Mapped[int] = mapped_column(Integer, default=0)


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


class DatabaseLedger:
    """The `BudgetLedger` of one source, kept in `db`."""

    def __init__(
        self, db: Database, source_id: int, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.db = db
        self.source_id = source_id
        self._now = clock

    def _window_start(self, now: datetime, window: float) -> datetime:
        # The minute rows that overlap the window: the oldest may be partly inside it.
        return _minute(now - timedelta(seconds=window))

    def _lock_current_minute(self, session: Session, minute: datetime) -> None:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(RequestBooking).values(
            source_id=self.source_id, minute=minute, requests=0
        )
        statement = statement.on_conflict_do_update(
            index_elements=[RequestBooking.source_id, RequestBooking.minute],
            set_={"requests": RequestBooking.requests},
        )
        session.execute(statement)

    def _booked_since(self, session: Session, start: datetime) -> list[tuple[datetime, int]]:
        rows = session.execute(
            select(RequestBooking.minute, RequestBooking.requests)
            .where(RequestBooking.source_id == self.source_id, RequestBooking.minute >= start)
            .order_by(RequestBooking.minute)
        )
        return [(minute, requests) for minute, requests in rows]

    def book(self, count: int, limit: int, window: float) -> tuple[int, float]:
        now = self._now()
        minute = _minute(now)
        with self.db.session() as session:
            self._lock_current_minute(session, minute)
            rows = self._booked_since(session, self._window_start(now, window))
            used = sum(requests for _, requests in rows)
            room = limit - used
            if room <= 0:
                # Room frees up when the oldest minute with requests leaves the window.
                oldest = next((m for m, requests in rows if requests > 0), minute)
                frees_at = oldest + timedelta(seconds=window + 60)
                return 0, max(1.0, (frees_at - now).total_seconds())
            booked = min(count, room)
            session.execute(
                update(RequestBooking)
                .where(RequestBooking.source_id == self.source_id, RequestBooking.minute == minute)
                .values(requests=RequestBooking.requests + booked)
            )
            session.execute(
                delete(RequestBooking).where(
                    RequestBooking.source_id == self.source_id,
                    RequestBooking.minute < minute - KEEP,
                )
            )
            return booked, 0.0

    def give_back(self, count: int) -> None:
        """Take `count` off the latest minute that has that many (or as many as it has)."""
        with self.db.session() as session:
            latest = session.scalar(
                select(RequestBooking.minute)
                .where(RequestBooking.source_id == self.source_id, RequestBooking.requests > 0)
                .order_by(RequestBooking.minute.desc())
                .limit(1)
            )
            if latest is None:
                return
            # SQLite's two-argument max() is PostgreSQL's greatest().
            larger = func.max if session.get_bind().dialect.name == "sqlite" else func.greatest
            session.execute(
                update(RequestBooking)
                .where(RequestBooking.source_id == self.source_id, RequestBooking.minute == latest)
                .values(requests=larger(RequestBooking.requests - count, 0))
            )

    def used(self, window: float) -> int:
        now = self._now()
        with self.db.session() as session:
            return sum(r for _, r in self._booked_since(session, self._window_start(now, window)))


def booked_last_hour(session: Session, source_id: int, *, now: datetime | None = None) -> int:
    """The source's requests booked over the last hour (in whole minutes, as budgets count)."""
    start = _minute((now or utcnow()) - timedelta(hours=1))
    total = session.scalar(
        select(func.sum(RequestBooking.requests)).where(
            RequestBooking.source_id == source_id, RequestBooking.minute >= start
        )
    )
    return int(total or 0)
