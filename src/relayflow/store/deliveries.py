"""Signed deliveries: at most one run per idempotency key within a window, and a log of
the deliveries that made no run (duplicates, types not subscribed, refusals) for the UI.

The dedupe check is one upsert that only takes the key when it is new or its window has
passed; it commits in the same transaction as the run it starts, so two copies of one
delivery (retried by the app, sent concurrently, reaching two servers) make one run.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from relayflow.ids import new_id
from relayflow.store.database import Database
from relayflow.store.runs import NewRun, Statement
from relayflow.store.writer import Batch

TAKE_KEY = (
    "INSERT INTO deliveries (workflow_id, key, expires_at, run_id) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (workflow_id, key) DO UPDATE SET expires_at = excluded.expires_at,"
    " run_id = excluded.run_id WHERE deliveries.expires_at < ?"
)
LOG = (
    "INSERT INTO delivery_log (id, workflow_id, received_at, outcome, reason, key, event_type,"
    " run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
KEEP_LOGGED = 200  # log rows kept per workflow
MAX_KEY = 500


@dataclass(frozen=True)
class Keyed:
    """A new run and the idempotency key that must be new for it to start (None: always)."""

    run: NewRun
    key: str | None
    window: float
    event_type: str | None = None


def log_entry(
    workflow_id: str,
    outcome: str,
    reason: str | None = None,
    key: str | None = None,
    event_type: str | None = None,
    run_id: str | None = None,
) -> Statement:
    """One delivery that made no run (or a refused one), as the trigger card lists it."""
    return (
        LOG,
        (new_id(), workflow_id, time.time(), outcome, reason, _short(key), event_type, run_id),
    )


def ingest_keyed(items: Sequence[Keyed], also: Sequence[Statement] = ()) -> Batch:
    """Commit each item's event and run unless its key was seen within its window; the
    batch's result is, per item, True (a run was started) or False (a duplicate)."""

    def take(cur: Any, db: Database) -> list[bool]:
        now = time.time()
        started = []
        for item in items:
            new = item.run
            if item.key is not None:
                key = _short(item.key)
                cur.execute(
                    db.sql(TAKE_KEY), (new.workflow_id, key, now + item.window, new.run_id, now)
                )
                if cur.rowcount == 0:
                    cur.execute(
                        db.sql(LOG),
                        (
                            new_id(),
                            new.workflow_id,
                            now,
                            "duplicate",
                            None,
                            key,
                            item.event_type,
                            None,
                        ),
                    )
                    started.append(False)
                    continue
            for sql, params in new.statements():
                cur.execute(db.sql(sql), params)
            started.append(True)
        return started

    return Batch(statements=list(also), then=take, notify=True)


def purge(db_now: float | None = None) -> Statement:
    """Forget keys whose window has passed."""
    return ("DELETE FROM deliveries WHERE expires_at < ?", (db_now or time.time(),))


def trim_log(workflow_id: str) -> Statement:
    """Keep the newest KEEP_LOGGED log rows of a workflow."""
    return (
        "DELETE FROM delivery_log WHERE workflow_id = ? AND received_at < (SELECT received_at"
        " FROM delivery_log WHERE workflow_id = ? ORDER BY received_at DESC LIMIT 1 OFFSET ?)",
        (workflow_id, workflow_id, KEEP_LOGGED - 1),
    )


def logged_workflows(db: Database) -> list[str]:
    return [row[0] for row in db.fetchall("SELECT DISTINCT workflow_id FROM delivery_log")]


def recent_deliveries(db: Database, workflow_id: str, limit: int = 20) -> list[dict[str, Any]]:
    """The newest deliveries that made no run, and why, newest first."""
    return db.fetchdicts(
        "SELECT received_at, outcome, reason, key, event_type, run_id FROM delivery_log"
        " WHERE workflow_id = ? ORDER BY received_at DESC LIMIT ?",
        (workflow_id, limit),
    )


def _short(key: str | None) -> str | None:
    return None if key is None else str(key)[:MAX_KEY]
