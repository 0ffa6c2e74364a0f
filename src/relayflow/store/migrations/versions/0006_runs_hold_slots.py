"""runs.holds_slot: whether a running run counts against its workflow's concurrency

Runs waiting on a batched upload (an action declared `coalesces=True`) hold no slot.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 13:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(
            sa.Column("holds_slot", sa.Integer(), nullable=False, server_default="1")
        )


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("holds_slot")
