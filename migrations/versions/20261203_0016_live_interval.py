"""live interval: tickets and time entries checked every minute; each stream's newest change

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every source already there gets the default live cadence (60 s); its fast and slow
    # intervals are kept as they are.
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "live_interval_seconds", sa.Integer(), server_default="60", nullable=False
            )
        )
    # Unknown until the stream next reads a record: null.
    with op.batch_alter_table("sync_cursors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("newest_change_at", app.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_cursors", schema=None) as batch_op:
        batch_op.drop_column("newest_change_at")
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_column("live_interval_seconds")
