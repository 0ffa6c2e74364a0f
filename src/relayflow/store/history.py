"""Reading what happened: runs with their events and step results, for the CLI and API."""

from __future__ import annotations

from typing import Any

from relayflow.store.database import Database
from relayflow.store.runs import loads

RUN_COLUMNS = (
    "r.id, w.name AS workflow, r.version, r.status, r.event_id, r.created_at, r.started_at,"
    " r.finished_at, r.next_step, r.claims, r.error, r.test, r.replay_of, r.available_at"
)


def list_runs(
    db: Database,
    workflow_id: str | None = None,
    status: str | None = None,
    limit: int = 50,
    before: str | None = None,
) -> list[dict[str, Any]]:
    """Newest first; `before` (a run id) pages further back."""
    where, params = [], []
    if workflow_id:
        where.append("r.workflow_id = ?")
        params.append(workflow_id)
    if status:
        where.append("r.status = ?")
        params.append(status)
    if before:
        where.append("r.id < ?")
        params.append(before)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    return db.fetchdicts(
        f"SELECT {RUN_COLUMNS} FROM runs r JOIN workflows w ON w.id = r.workflow_id {clause}"
        " ORDER BY r.id DESC LIMIT ?",
        (*params, limit),
    )


def get_run(db: Database, run_id: str) -> dict[str, Any] | None:
    """A run with its trigger event and every recorded step, as the inspector shows it."""
    rows = db.fetchdicts(
        f"SELECT {RUN_COLUMNS} FROM runs r JOIN workflows w ON w.id = r.workflow_id WHERE r.id = ?",
        (run_id,),
    )
    if not rows:
        return None
    run = rows[0]
    run["test"] = bool(run["test"])
    event = db.fetchone("SELECT payload, received_at FROM events WHERE id = ?", (run["event_id"],))
    run["event"] = loads(event[0]) if event else None
    run["event_received_at"] = event[1] if event else None
    steps = db.fetchdicts(
        "SELECT step_index, step_name, status, inputs, return_value, exports, logs, error,"
        " attempts, started_at, finished_at FROM step_results WHERE run_id = ?"
        " ORDER BY step_index",
        (run_id,),
    )
    for step in steps:
        for key in ("inputs", "return_value", "exports", "logs", "error"):
            step[key] = loads(step[key])
        step["duration_ms"] = round((step["finished_at"] - step["started_at"]) * 1000, 3)
    run["steps"] = steps
    return run


def count_runs(db: Database, status: str | None = None) -> int:
    if status:
        row = db.fetchone("SELECT COUNT(*) FROM runs WHERE status = ?", (status,))
    else:
        row = db.fetchone("SELECT COUNT(*) FROM runs")
    return int(row[0]) if row else 0


def queue_depth(db: Database) -> int:
    row = db.fetchone("SELECT COUNT(*) FROM runs WHERE status IN ('queued', 'running')")
    return int(row[0]) if row else 0


def failed_runs_to_replay(db: Database, workflow_id: str) -> list[str]:
    """Failed runs of a workflow, oldest first, leaving out those already replayed."""
    replayed = {
        row[0]
        for row in db.fetchall(
            "SELECT replay_of FROM runs WHERE workflow_id = ? AND replay_of IS NOT NULL",
            (workflow_id,),
        )
    }
    rows = db.fetchall(
        "SELECT id FROM runs WHERE workflow_id = ? AND status = 'failed' AND test = 0"
        " ORDER BY created_at",
        (workflow_id,),
    )
    return [row[0] for row in rows if row[0] not in replayed]
