"""verdicts: data coverage per source, manual KPI scales, goals judged on the period so far

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 10:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('sources') as batch:
        batch.add_column(sa.Column('history_from', sa.Date(), nullable=True))
    with op.batch_alter_table('sync_cursors') as batch:
        batch.add_column(
            sa.Column('history_read', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column('history_since', sa.Date(), nullable=True))
    # Streams that have succeeded before were read from the start once (a first sync reads
    # the PSA whole); the next sync works out each source's first complete day from that.
    op.execute("UPDATE sync_cursors SET history_read = true WHERE last_success_at IS NOT NULL")
    with op.batch_alter_table('manual_kpis') as batch:
        batch.add_column(sa.Column('scale_min', sa.Float(), nullable=True))
        batch.add_column(sa.Column('scale_max', sa.Float(), nullable=True))
    with op.batch_alter_table('goals') as batch:
        batch.add_column(
            sa.Column('judge_partial', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table('goal_alignment_snapshots') as batch:
        batch.add_column(sa.Column('detail', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('goal_alignment_snapshots') as batch:
        batch.drop_column('detail')
    with op.batch_alter_table('goals') as batch:
        batch.drop_column('judge_partial')
    with op.batch_alter_table('manual_kpis') as batch:
        batch.drop_column('scale_max')
        batch.drop_column('scale_min')
    with op.batch_alter_table('sync_cursors') as batch:
        batch.drop_column('history_since')
        batch.drop_column('history_read')
    with op.batch_alter_table('sources') as batch:
        batch.drop_column('history_from')
