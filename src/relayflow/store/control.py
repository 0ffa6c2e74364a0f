"""Changing a run from outside: resume a sleeping run now, or cancel a waiting one."""

from __future__ import annotations

import time

from relayflow.store.database import Database
from relayflow.store.writer import Batch

RESUME = "UPDATE runs SET available_at = ? WHERE id = ? AND status = 'sleeping'"
CANCEL = (
    "UPDATE runs SET status = 'cancelled', finished_at = ?, error = ?, lease_owner = NULL,"
    " lease_expires = NULL WHERE id = ? AND status IN ('queued', 'sleeping')"
)


AT_STEP = " AND status = 'sleeping' AND next_step = ?"


def control_batch(
    run_id: str, action: str, reason: str = "cancelled", *, sleeping_at: int | None = None
) -> Batch:
    """A batch whose result is True when the run was in a state the action applies to;
    with `sleeping_at`, only while the run sleeps and resumes at that step index."""
    where, extra = (AT_STEP, (sleeping_at,)) if sleeping_at is not None else ("", ())

    def apply(cur, db: Database) -> bool:
        if action == "resume":
            cur.execute(db.sql(RESUME + where), (time.time(), run_id, *extra))
        else:
            cur.execute(db.sql(CANCEL + where), (time.time(), reason, run_id, *extra))
        return cur.rowcount == 1

    return Batch(then=apply, notify=True)


def sleeping_run(db: Database, run_id: str) -> tuple[str, int, int] | None:
    """(workflow id, version, the step index it resumes at) of a sleeping run, else None."""
    row = db.fetchone(
        "SELECT workflow_id, version, next_step FROM runs WHERE id = ? AND status = 'sleeping'",
        (run_id,),
    )
    return (row[0], int(row[1]), int(row[2])) if row else None
