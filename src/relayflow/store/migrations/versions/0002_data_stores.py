"""data stores

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_store_entries",
        sa.Column("store", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("store", "key"),
    )
    with op.batch_alter_table("data_store_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_data_store_entries_expires", ["store", "expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("data_store_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_data_store_entries_expires")
    op.drop_table("data_store_entries")
