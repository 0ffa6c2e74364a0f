"""poll_cursors and poll_seen: polling sources' cursors, leases, status and seen ids

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "poll_cursors",
        sa.Column("workflow_id", sa.String(length=32), nullable=False),
        sa.Column("config", sa.String(length=64), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("state", sa.Text(), nullable=True),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("lease_expires", sa.Float(), nullable=True),
        sa.Column("next_poll_at", sa.Float(), nullable=False),
        sa.Column("last_poll_at", sa.Float(), nullable=True),
        sa.Column("last_ok_at", sa.Float(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.Float(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("emitted", sa.Integer(), nullable=False),
        sa.Column("last_emitted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("workflow_id"),
    )
    op.create_table(
        "poll_seen",
        sa.Column("workflow_id", sa.String(length=32), nullable=False),
        sa.Column("item_id", sa.String(length=500), nullable=False),
        sa.Column("seen_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("workflow_id", "item_id"),
    )
    op.create_index("ix_poll_seen_workflow", "poll_seen", ["workflow_id", "seen_at"])


def downgrade() -> None:
    op.drop_index("ix_poll_seen_workflow", table_name="poll_seen")
    op.drop_table("poll_seen")
    op.drop_table("poll_cursors")
