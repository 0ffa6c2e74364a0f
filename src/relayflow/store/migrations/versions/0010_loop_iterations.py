"""iterations: each iteration of a loop (and branch of a parallel block), checkpointed

A loop's iterations are rows of their own, not step results: a run resumes at the first
unfinished iteration (at the step inside it that has no result yet), and the inspector
pages through them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 17:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "iterations",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("iteration", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("next_node", sa.Integer(), nullable=False),
        sa.Column("steps", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("finished_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "step_index", "iteration"),
    )


def downgrade() -> None:
    op.drop_table("iterations")
