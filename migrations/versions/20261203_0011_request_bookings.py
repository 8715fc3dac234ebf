"""sync: each source's PSA requests booked per minute, the request budget every process shares

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "request_bookings",
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("minute", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_request_bookings_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_id", "minute", name=op.f("pk_request_bookings")),
    )


def downgrade() -> None:
    op.drop_table("request_bookings")
