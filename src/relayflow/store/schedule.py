"""Fired schedule ticks: one row per (workflow, tick), so a tick never fires twice."""

from __future__ import annotations

from relayflow.store.database import Database
from relayflow.store.runs import Statement


def fired_tick(workflow_id: str, tick: float, missed: int, run_id: str) -> Statement:
    """The row that claims a tick; commit it with the tick's run (a second insert fails)."""
    return (
        "INSERT INTO schedule_ticks (workflow_id, tick, missed, run_id) VALUES (?, ?, ?, ?)",
        (workflow_id, tick, missed, run_id),
    )


def last_tick(db: Database, workflow_id: str) -> float | None:
    """The latest tick fired for a workflow, or None when it never fired."""
    row = db.fetchone("SELECT MAX(tick) FROM schedule_ticks WHERE workflow_id = ?", (workflow_id,))
    return row[0] if row and row[0] is not None else None
