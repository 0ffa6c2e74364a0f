"""The reads behind the UI's lists, shaped to stay fast with hundreds of thousands of runs.

Each query walks an index in the order it is shown (runs newest first by `created_at`),
so a page reads about as many rows as it shows. `status || ''` keeps SQLite from picking
the status index and then sorting every run of that status.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson

from relayflow.store.database import Database
from relayflow.store.workflows import WorkflowRow, list_workflows

DAY = 24 * 3600
SINCE = {"1h": 3600, "24h": DAY, "7d": 7 * DAY, "30d": 30 * DAY}
FEW = 2000  # matching events up to which a search looks runs up by event
STATUSES = ("queued", "running", "sleeping", "succeeded", "failed", "exited", "cancelled")


@dataclass
class WorkflowListing:
    row: WorkflowRow
    latest_version: int
    trigger: dict[str, Any]
    runs_24h: int
    errors_24h: int
    last_run: dict[str, Any] | None

    @property
    def status(self) -> str:
        if not self.row.current_version:
            return "draft"
        return "active" if self.row.active else "paused"


def latest_definitions(db: Database) -> dict[str, tuple[int, dict[str, Any]]]:
    """Each workflow's newest version (a draft may be newer than the current one)."""
    rows = db.fetchall(
        "SELECT v.workflow_id, v.version, v.definition FROM workflow_versions v"
        " JOIN (SELECT workflow_id, MAX(version) AS version FROM workflow_versions"
        " GROUP BY workflow_id) m ON m.workflow_id = v.workflow_id AND m.version = v.version"
    )
    return {row[0]: (row[1], orjson.loads(row[2])) for row in rows}


def workflow_listings(db: Database) -> list[WorkflowListing]:
    since = time.time() - DAY
    latest = latest_definitions(db)
    found = []
    for row in list_workflows(db):
        version, definition = latest.get(row.id, (0, {}))
        runs = db.fetchone(
            "SELECT COUNT(*) FROM runs WHERE workflow_id = ? AND created_at > ?", (row.id, since)
        )
        errors = db.fetchone(
            "SELECT COUNT(*) FROM runs WHERE workflow_id = ? AND status = 'failed'"
            " AND created_at > ?",
            (row.id, since),
        )
        last = db.fetchdicts(
            "SELECT id, status, created_at FROM runs WHERE workflow_id = ?"
            " ORDER BY created_at DESC LIMIT 1",
            (row.id,),
        )
        found.append(
            WorkflowListing(
                row=row,
                latest_version=version,
                trigger=definition.get("trigger") or {},
                runs_24h=int(runs[0]) if runs else 0,
                errors_24h=int(errors[0]) if errors else 0,
                last_run=last[0] if last else None,
            )
        )
    return found


def describe_trigger(trigger: dict[str, Any]) -> str:
    if trigger.get("http"):
        return f"HTTP /hooks/{trigger['http'].get('path', '')}"
    schedule = trigger.get("schedule")
    if schedule:
        zone = schedule.get("timezone") or "UTC"
        if schedule.get("cron"):
            return f"Schedule {schedule['cron']} ({zone})"
        return f"Every {_seconds(schedule.get('interval'))}"
    return "Manual"


def _seconds(value: Any) -> str:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return str(value)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


# Runs -----------------------------------------------------------------------------------


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
        "SELECT r.id, w.name AS workflow, r.version, r.status, r.created_at, r.started_at,"
        " r.finished_at, r.error, r.test, r.replay_of FROM runs r"
        f" JOIN workflows w ON w.id = r.workflow_id{join}{clause}"
        " ORDER BY r.created_at DESC LIMIT ?",
        (*params, limit),
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def runs_of_event(db: Database, event_id: str) -> list[dict[str, Any]]:
    """Every run of one event: the original and its replays, oldest first."""
    return db.fetchdicts(
        "SELECT id, version, status, created_at, replay_of FROM runs WHERE event_id = ?"
        " ORDER BY created_at",
        (event_id,),
    )


def recent_events(db: Database, workflow_id: str, limit: int = 10) -> list[dict[str, Any]]:
    """The latest events a workflow received (test events left out)."""
    rows = db.fetchall(
        "SELECT id, received_at, payload FROM events WHERE workflow_id = ? AND test = 0"
        " ORDER BY received_at DESC LIMIT ?",
        (workflow_id, limit),
    )
    return [{"id": r[0], "received_at": r[1], "payload": orjson.loads(r[2])} for r in rows]
