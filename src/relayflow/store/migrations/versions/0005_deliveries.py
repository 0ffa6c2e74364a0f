"""deliveries: dedupe keys of signed webhooks, the log of recent deliveries, event context

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("events", sa.Column("context", sa.Text(), nullable=True))
    op.create_table(
        "deliveries",
        sa.Column("workflow_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=500), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("workflow_id", "key"),
    )
    op.create_index("ix_deliveries_expires", "deliveries", ["expires_at"])
    op.create_table(
        "delivery_log",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workflow_id", sa.String(length=32), nullable=False),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("key", sa.String(length=500), nullable=True),
        sa.Column("event_type", sa.String(length=200), nullable=True),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_delivery_log_workflow", "delivery_log", ["workflow_id", "received_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_delivery_log_workflow", table_name="delivery_log")
    op.drop_table("delivery_log")
    op.drop_index("ix_deliveries_expires", table_name="deliveries")
    op.drop_table("deliveries")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("context")
