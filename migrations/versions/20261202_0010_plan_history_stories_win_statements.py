"""plan: change history, stories, win-feels-like statements, archived objectives, observation authors

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Only new nullable columns on existing tables: every row already there is kept as is.
    with op.batch_alter_table("objectives", schema=None) as batch_op:
        batch_op.add_column(sa.Column("win_feels_like", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("archived_at", app.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("goals", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("archived_at", app.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("kpi_observations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recorded_by", sa.String(length=200), nullable=True))

    op.create_table(
        "plan_stories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.String(length=7), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("story_date", sa.Date(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=True),
        sa.Column("objective_id", sa.Integer(), nullable=True),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["objective_id"],
            ["objectives.id"],
            name=op.f("fk_plan_stories_objective_id_objectives"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_stories")),
    )
    with op.batch_alter_table("plan_stories", schema=None) as batch_op:
        batch_op.create_index("ix_plan_stories_quarter", ["quarter"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_plan_stories_objective_id"), ["objective_id"], unique=False
        )

    op.create_table(
        "plan_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=16), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("goal_id", sa.Integer(), nullable=True),
        sa.Column("objective_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("changed_by", sa.String(length=200), nullable=True),
        sa.Column("changed_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_changes")),
    )
    with op.batch_alter_table("plan_changes", schema=None) as batch_op:
        batch_op.create_index("ix_plan_changes_entity", ["entity", "entity_id"], unique=False)
        batch_op.create_index("ix_plan_changes_goal_id", ["goal_id"], unique=False)
        batch_op.create_index("ix_plan_changes_objective_id", ["objective_id"], unique=False)
        batch_op.create_index("ix_plan_changes_changed_at", ["changed_at"], unique=False)


def downgrade() -> None:
    op.drop_table("plan_changes")
    op.drop_table("plan_stories")
    with op.batch_alter_table("kpi_observations", schema=None) as batch_op:
        batch_op.drop_column("recorded_by")
    with op.batch_alter_table("goals", schema=None) as batch_op:
        batch_op.drop_column("archived_at")
    with op.batch_alter_table("objectives", schema=None) as batch_op:
        batch_op.drop_column("archived_at")
        batch_op.drop_column("win_feels_like")
