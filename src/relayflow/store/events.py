"""Reading events as they were received."""

from __future__ import annotations

from typing import Any

from relayflow.jsoncodec import loads
from relayflow.store.database import Database


def get_event(db: Database, event_id: str) -> dict[str, Any] | None:
    """One event with the name of its workflow, or None."""
    row = db.fetchone(
        "SELECT e.id, w.name, e.received_at, e.payload FROM events e"
        " JOIN workflows w ON w.id = e.workflow_id WHERE e.id = ?",
        (event_id,),
    )
    if row is None:
        return None
    return {"id": row[0], "workflow": row[1], "received_at": row[2], "payload": loads(row[3])}


def recent_events(db: Database, workflow_id: str, limit: int = 10) -> list[dict[str, Any]]:
    """The latest events a workflow received (test events left out)."""
    rows = db.fetchall(
        "SELECT id, received_at, payload FROM events WHERE workflow_id = ? AND test = 0"
        " ORDER BY received_at DESC LIMIT ?",
        (workflow_id, limit),
    )
    return [{"id": r[0], "received_at": r[1], "payload": loads(r[2])} for r in rows]
