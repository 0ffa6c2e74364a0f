"""What the UI's lists show, built from the store's reads (relayflow.store.history),
which stay fast with hundreds of thousands of runs."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from relayflow.store.database import Database
from relayflow.store.history import (  # noqa: F401 - the runs page uses them from here
    DAY,
    SINCE,
    RunFilter,
    find_runs,
    last_run,
    run_counts_since,
    runs_of_event,
)
from relayflow.store.workflows import WorkflowRow, list_workflows, shown_definitions

STATUSES = ("queued", "running", "sleeping", "succeeded", "failed", "exited", "cancelled")


@dataclass
class WorkflowListing:
    row: WorkflowRow
    pending_draft: int | None  # a draft newer than the deployed version
    trigger: dict[str, Any]
    runs_24h: int
    errors_24h: int
    last_run: dict[str, Any] | None

    @property
    def status(self) -> str:
        if not self.row.current_version:
            return "draft"
        return "active" if self.row.active else "paused"


def workflow_listings(db: Database) -> list[WorkflowListing]:
    since = time.time() - DAY
    shown = shown_definitions(db)
    found = []
    for row in list_workflows(db):
        listed = shown.get(row.id)
        runs, errors = run_counts_since(db, row.id, since)
        found.append(
            WorkflowListing(
                row=row,
                pending_draft=listed.pending_draft if listed else None,
                trigger=listed.trigger if listed else {},
                runs_24h=runs,
                errors_24h=errors,
                last_run=last_run(db, row.id),
            )
        )
    return found


def describe_trigger(trigger: dict[str, Any]) -> str:
    if trigger.get("http"):
        return f"HTTP /hooks/{trigger['http'].get('path', '')}"
    source = trigger.get("source")
    if source:
        where = f" at /hooks/{source['path']}" if source.get("path") else ""
        return f"{source.get('uses', '')}{where}"
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
