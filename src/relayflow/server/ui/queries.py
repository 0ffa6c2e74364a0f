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
from relayflow.store.history import DAY, SINCE, RunFilter, find_runs  # noqa: F401 - UI uses
from relayflow.store.workflows import WorkflowRow, list_workflows

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
