"""pair rollups: additive sums per pair of scopes (client and priority, technician and board...)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("kpi_daily_pair_rollups", "kpi_monthly_pair_rollups")


def _create(name: str) -> None:
    op.create_table(
        name,
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("pair", sa.String(length=32), nullable=False),
        sa.Column("first_value", sa.String(length=200), nullable=False),
        sa.Column("second_value", sa.String(length=200), nullable=False),
        sa.Column('tickets_created', sa.Float(), nullable=False),
        sa.Column('tickets_closed', sa.Float(), nullable=False),
        sa.Column('response_met', sa.Float(), nullable=False),
        sa.Column('response_decided', sa.Float(), nullable=False),
        sa.Column('resolution_met', sa.Float(), nullable=False),
        sa.Column('resolution_decided', sa.Float(), nullable=False),
        sa.Column('response_hours_sum', sa.Float(), nullable=False),
        sa.Column('response_count', sa.Float(), nullable=False),
        sa.Column('resolution_hours_sum', sa.Float(), nullable=False),
        sa.Column('resolution_count', sa.Float(), nullable=False),
        sa.Column('csat_good', sa.Float(), nullable=False),
        sa.Column('csat_count', sa.Float(), nullable=False),
        sa.Column('csat_score_sum', sa.Float(), nullable=False),
        sa.Column('time_entries', sa.Float(), nullable=False),
        sa.Column('hours', sa.Float(), nullable=False),
        sa.Column('utilization_hours', sa.Float(), nullable=False),
        sa.Column('billable_hours', sa.Float(), nullable=False),
        sa.Column('client_hours', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f(f"fk_{name}_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        batch_op.create_index(
            f"ix_{name}_member_day",
            ["pair", "first_value", "second_value", "day", "source_id"],
            unique=True,
        )


def upgrade() -> None:
    for name in TABLES:
        _create(name)
    with op.batch_alter_table("goals", schema=None) as batch_op:
        # The second scope of a goal scoped by a pair (client and priority...), resolved.
        batch_op.add_column(sa.Column("scope_second_dim", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("scope_second_value", sa.String(length=200), nullable=True)
        )
    # The pair rows of the history already held are built by each source's next sync: a
    # whole rebuild, asked for as a backfill asks for one (app.kpis.models.KpiRebuildPending).
    op.execute(
        "INSERT INTO kpi_rebuilds_pending (source_id, requested_at) "
        "SELECT id, CURRENT_TIMESTAMP FROM sources "
        "WHERE id NOT IN (SELECT source_id FROM kpi_rebuilds_pending)"
    )


def downgrade() -> None:
    with op.batch_alter_table("goals", schema=None) as batch_op:
        batch_op.drop_column("scope_second_value")
        batch_op.drop_column("scope_second_dim")
    for name in reversed(TABLES):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{name}_member_day")
        op.drop_table(name)
