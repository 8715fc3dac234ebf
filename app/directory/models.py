"""Linked entities: one business (a client, a technician) seen in several PSAs.

A linked entity holds two or more members, each a client (or technician) row of some source;
a row belongs to at most one linked entity. KPIs scoped to a linked entity sum the members'
additive rollups. `link_decisions` remembers the suggested pairs a person rejected, so they
are not suggested again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow

KINDS = ("client", "technician")


class LinkedEntity(Base):
    __tablename__ = "linked_entities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # client | technician
    name: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class EntityLink(Base):
    """One member of a linked entity. Exactly one of `client_id` / `technician_id` is set (as
    the entity's kind says); each is unique, so a row is linked at most once, and deleting
    the row (its source removed) removes the membership."""

    __tablename__ = "entity_links"
    __table_args__ = (
        CheckConstraint("(client_id IS NULL) <> (technician_id IS NULL)", name="one_member"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    linked_entity_id: Mapped[int] = mapped_column(
        ForeignKey("linked_entities.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), unique=True
    )
    technician_id: Mapped[int | None] = mapped_column(
        ForeignKey("technicians.id", ondelete="CASCADE"), unique=True
    )
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def member_id(self) -> int:
        member = self.client_id if self.kind == "client" else self.technician_id
        assert member is not None
        return member


class LinkDecision(Base):
    """A suggested pair a person rejected: `first_id` < `second_id`, ids of `kind` rows."""

    __tablename__ = "link_decisions"
    __table_args__ = (UniqueConstraint("kind", "first_id", "second_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    first_id: Mapped[int] = mapped_column(Integer)
    second_id: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(16), default="rejected")
    decided_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
