"""drafts numbered apart from versions: draft n is stored as version -n

Earlier, every test of a changed workflow stored the next version number, so a first
deploy after four tests was "version 5". Now versions are numbered on deploy only, and
drafts count 1, 2, 3 on their own (stored as -1, -2, -3; runs refer to them the same way).

A stored version becomes a draft here when it is not the deployed one and no live run
(test = 0) ever ran on it: that is what a draft is, whether an earlier relayflow stored
it from a test or it was deployed and replaced before any event came. The versions that
stay keep their numbers, which runs and people already refer to.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _renumber(bind: sa.Connection, workflow_id: str, old: int, new: int) -> None:
    params = {"w": workflow_id, "old": old, "new": new}
    for table in ("workflow_versions", "runs"):
        bind.execute(
            sa.text(f"UPDATE {table} SET version = :new WHERE workflow_id = :w AND version = :old"),
            params,
        )


def upgrade() -> None:
    bind = op.get_bind()
    ran_live = sa.text("SELECT DISTINCT workflow_id, version FROM runs WHERE test = 0")
    live = {(row[0], row[1]) for row in bind.execute(ran_live)}
    for workflow_id, current in bind.execute(
        sa.text("SELECT id, current_version FROM workflows")
    ).fetchall():
        stored = bind.execute(
            sa.text(
                "SELECT version FROM workflow_versions WHERE workflow_id = :w AND version > 0"
                " ORDER BY version"
            ),
            {"w": workflow_id},
        ).fetchall()
        drafts = [v for (v,) in stored if v != current and (workflow_id, v) not in live]
        for number, old in enumerate(drafts, start=1):
            _renumber(bind, workflow_id, old, -number)


def downgrade() -> None:
    bind = op.get_bind()
    for (workflow_id,) in bind.execute(
        sa.text("SELECT DISTINCT workflow_id FROM workflow_versions WHERE version < 0")
    ).fetchall():
        newest = bind.execute(
            sa.text("SELECT MAX(version) FROM workflow_versions WHERE workflow_id = :w"),
            {"w": workflow_id},
        ).scalar()
        drafts = bind.execute(
            sa.text(
                "SELECT version FROM workflow_versions WHERE workflow_id = :w AND version < 0"
                " ORDER BY version DESC"
            ),
            {"w": workflow_id},
        ).fetchall()
        for offset, (old,) in enumerate(drafts, start=1):
            _renumber(bind, workflow_id, old, max(newest or 0, 0) + offset)
