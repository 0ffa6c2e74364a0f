"""live runs counted from the index: ix_runs_workflow gains `test`

The workflows list counts each workflow's live runs of the last 24 hours (test runs are
not activity). With `test` as the index's last column that count reads the index alone,
as the count of all runs did before; the index still serves a workflow's runs newest
first, so there is no extra index to keep up on every ingested run.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 15:00:00
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_runs_workflow", table_name="runs")
    op.create_index("ix_runs_workflow", "runs", ["workflow_id", "created_at", "test"])


def downgrade() -> None:
    op.drop_index("ix_runs_workflow", table_name="runs")
    op.create_index("ix_runs_workflow", "runs", ["workflow_id", "created_at"])
