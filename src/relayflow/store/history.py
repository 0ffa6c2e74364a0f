"""Reading what happened: runs with their events and step results, for the CLI and API."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from relayflow.jsoncodec import loads
from relayflow.store.database import Database

RUN_COLUMNS = (
    "r.id, w.name AS workflow, r.version, r.status, r.event_id, r.created_at, r.started_at,"
    " r.finished_at, r.next_step, r.claims, r.error, r.test, r.replay_of, r.available_at"
)


DAY = 24 * 3600
SINCE = {"1h": 3600, "24h": DAY, "7d": 7 * DAY, "30d": 30 * DAY}
FEW = 2000  # matching events up to which a search looks runs up by event


@dataclass(frozen=True)
class RunFilter:
    workflow_id: str | None = None
    status: str | None = None
    since: str | None = None  # a key of SINCE
    q: str = ""
    before: float | None = None  # created_at of the last run on the previous page


def find_runs(db: Database, where: RunFilter, limit: int = 50) -> list[dict[str, Any]]:
    """Runs matching `where`, newest first; searching `q` in the event payloads."""
    clauses, params = [], []
    if where.workflow_id:
        clauses.append("r.workflow_id = ?")
        params.append(where.workflow_id)
    if where.status:
        clauses.append("r.status || '' = ?")
        params.append(where.status)
    if where.since in SINCE:
        clauses.append("r.created_at >= ?")
        params.append(time.time() - SINCE[where.since])
    if where.before is not None:
        clauses.append("r.created_at < ?")
        params.append(where.before)
    join = ""
    if where.q:
        like = "ILIKE" if db.is_postgres else "LIKE"
        pattern = "%" + _escape_like(where.q) + "%"
        # A search that matches few events: find them in one pass over the payloads, then
        # only their runs. One that matches many: walk the runs newest first and stop at a
        # page. Each plan is fast exactly where the other is slow (bench/ui_pages.py).
        inner = f"SELECT id FROM events WHERE payload {like} ? ESCAPE '\\'"
        inner_params: list[Any] = [pattern]
        if where.workflow_id:
            inner += " AND workflow_id = ?"
            inner_params.append(where.workflow_id)
        events = [row[0] for row in db.fetchall(f"{inner} LIMIT ?", (*inner_params, FEW + 1))]
        if len(events) <= FEW:
            if not events:
                return []
            clauses.append(f"r.event_id IN ({','.join('?' * len(events))})")
            params.extend(events)
        else:
            join = " JOIN events e ON e.id = r.event_id"
            clauses.append(f"e.payload {like} ? ESCAPE '\\'")
            params.append(pattern)
    clause = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    return db.fetchdicts(
        "SELECT r.id, w.name AS workflow, r.version, r.status, r.event_id, r.created_at,"
        " r.started_at, r.finished_at, r.error, r.test, r.replay_of FROM runs r"
        f" JOIN workflows w ON w.id = r.workflow_id{join}{clause}"
        " ORDER BY r.created_at DESC LIMIT ?",
        (*params, limit),
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_runs(
    db: Database,
    workflow_id: str | None = None,
    status: str | None = None,
    limit: int = 50,
    before: float | None = None,
    q: str = "",
    since: str | None = None,
) -> list[dict[str, Any]]:
    """Runs newest first; `before` (a created_at) pages back, `q` searches event payloads,
    `since` is one of SINCE's keys."""
    where = RunFilter(workflow_id, status, since, q, before)
    return find_runs(db, where, limit)


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
    event = db.fetchone(
        "SELECT payload, received_at, context FROM events WHERE id = ?", (run["event_id"],)
    )
    run["event"] = loads(event[0]) if event else None
    run["event_received_at"] = event[1] if event else None
    run["event_context"] = (loads(event[2]) if event else None) or {}
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


def run_counts_since(db: Database, workflow_id: str, since: float) -> tuple[int, int]:
    """(runs, failed runs) of a workflow created after `since`."""
    runs = db.fetchone(
        "SELECT COUNT(*) FROM runs WHERE workflow_id = ? AND created_at > ?", (workflow_id, since)
    )
    errors = db.fetchone(
        "SELECT COUNT(*) FROM runs WHERE workflow_id = ? AND status = 'failed'"
        " AND created_at > ?",
        (workflow_id, since),
    )
    return (int(runs[0]) if runs else 0, int(errors[0]) if errors else 0)


def last_run(db: Database, workflow_id: str) -> dict[str, Any] | None:
    """The newest run of a workflow: id, status, created_at."""
    rows = db.fetchdicts(
        "SELECT id, status, created_at FROM runs WHERE workflow_id = ?"
        " ORDER BY created_at DESC LIMIT 1",
        (workflow_id,),
    )
    return rows[0] if rows else None


def runs_of_event(db: Database, event_id: str) -> list[dict[str, Any]]:
    """Every run of one event: the original and its replays, oldest first."""
    return db.fetchdicts(
        "SELECT id, version, status, created_at, replay_of FROM runs WHERE event_id = ?"
        " ORDER BY created_at",
        (event_id,),
    )


def run_origin(db: Database, run_id: str) -> tuple[str, str] | None:
    """(event id, workflow id) of a run, or None when there is no such run."""
    row = db.fetchone("SELECT event_id, workflow_id FROM runs WHERE id = ?", (run_id,))
    return (row[0], row[1]) if row else None
