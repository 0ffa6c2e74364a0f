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


def control_batch(run_id: str, action: str, reason: str = "cancelled") -> Batch:
    """A batch whose result is True when the run was in a state the action applies to."""

    def apply(cur, db: Database) -> bool:
        if action == "resume":
            cur.execute(db.sql(RESUME), (time.time(), run_id))
        else:
            cur.execute(db.sql(CANCEL), (time.time(), reason, run_id))
        return cur.rowcount == 1

    return Batch(then=apply, notify=True)
