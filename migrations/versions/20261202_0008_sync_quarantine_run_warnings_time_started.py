"""sync: quarantined records, run warnings and answered requests, time entry start times

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 14:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_runs") as batch:
        batch.add_column(
            sa.Column("records_skipped", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("warnings", sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column("requested_at", app.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("time_entries") as batch:
        batch.add_column(sa.Column("started_at", app.db.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "quarantined_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("record_key", sa.String(length=80), nullable=False),
        sa.Column("field", sa.String(length=120), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("first_seen_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["last_run_id"], ["sync_runs.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_id", "stream", "record_key"),
    )


def downgrade() -> None:
    op.drop_table("quarantined_records")
    with op.batch_alter_table("time_entries") as batch:
        batch.drop_column("started_at")
    with op.batch_alter_table("sync_runs") as batch:
        batch.drop_column("requested_at")
        batch.drop_column("warnings")
        batch.drop_column("records_skipped")
