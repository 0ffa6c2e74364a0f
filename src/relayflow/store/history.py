"""Reading what happened: runs with their events and step results, for the CLI and API."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from relayflow.ids import ALPHABET, LENGTH
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
    test: bool | None = None  # only test runs (True), only live runs (False), or both


def _counted(run: dict[str, Any]) -> dict[str, Any]:
    """`run` with its version as people count them: a run of draft n (a test) has
    `version` None and `draft` n; other runs have their version and `draft` None."""
    key = run["version"]
    run["version"], run["draft"] = (key, None) if key > 0 else (None, -key)
    return run


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
    if where.test is not None:
        clauses.append("r.test = ?")
        params.append(int(where.test))
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
    found = db.fetchdicts(
        "SELECT r.id, w.name AS workflow, r.version, r.status, r.event_id, r.created_at,"
        " r.started_at, r.finished_at, r.error, r.test, r.replay_of FROM runs r"
        f" JOIN workflows w ON w.id = r.workflow_id{join}{clause}"
        " ORDER BY r.created_at DESC LIMIT ?",
        (*params, limit),
    )
    for run in found:
        run["test"] = bool(run["test"])
        _counted(run)
    return found


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
    test: bool | None = None,
) -> list[dict[str, Any]]:
    """Runs newest first; `before` (a created_at) pages back, `q` searches event payloads,
    `since` is one of SINCE's keys, `test` keeps only test (True) or live (False) runs."""
    where = RunFilter(workflow_id, status, since, q, before, test)
    return find_runs(db, where, limit)


def get_run(db: Database, run_id: str) -> dict[str, Any] | None:
    """A run with its trigger event and every recorded step, as the inspector shows it."""
    rows = db.fetchdicts(
        f"SELECT {RUN_COLUMNS} FROM runs r JOIN workflows w ON w.id = r.workflow_id WHERE r.id = ?",
        (run_id,),
    )
    if not rows:
        return None
    run = _counted(rows[0])
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
    """Live runs waiting or running (test runs run at once, outside the queue)."""
    row = db.fetchone(
        "SELECT COUNT(*) FROM runs WHERE status IN ('queued', 'running') AND test = 0"
    )
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
    """(live runs, failed live runs) of a workflow created after `since`; test runs are
    not activity."""
    runs = db.fetchone(
        "SELECT COUNT(*) FROM runs WHERE workflow_id = ? AND created_at > ? AND test = 0",
        (workflow_id, since),
    )
    errors = db.fetchone(
        "SELECT COUNT(*) FROM runs WHERE workflow_id = ? AND status = 'failed'"
        " AND created_at > ? AND test = 0",
        (workflow_id, since),
    )
    return (int(runs[0]) if runs else 0, int(errors[0]) if errors else 0)


def last_run(db: Database, workflow_id: str) -> dict[str, Any] | None:
    """The newest live run of a workflow: id, status, created_at."""
    rows = db.fetchdicts(
        "SELECT id, status, created_at FROM runs WHERE workflow_id = ? AND test = 0"
        " ORDER BY created_at DESC LIMIT 1",
        (workflow_id,),
    )
    return rows[0] if rows else None


def ended_before(db: Database, workflow_id: str, run_id: str) -> str | None:
    """How the newest finished live run of a workflow created before `run_id` ended
    (succeeded, failed or exited), or None: whether `run_id`, which succeeded, recovered."""
    row = db.fetchone(
        "SELECT status FROM runs WHERE workflow_id = ? AND test = 0"
        " AND created_at < (SELECT created_at FROM runs WHERE id = ?)"
        " AND status IN ('succeeded', 'failed', 'exited') ORDER BY created_at DESC LIMIT 1",
        (workflow_id, run_id),
    )
    return row[0] if row else None


def runs_of_event(db: Database, event_id: str) -> list[dict[str, Any]]:
    """Every run of one event: the original and its replays, oldest first."""
    found = db.fetchdicts(
        "SELECT id, version, status, created_at, replay_of FROM runs WHERE event_id = ?"
        " ORDER BY created_at",
        (event_id,),
    )
    return [_counted(run) for run in found]


def run_origin(db: Database, run_id: str) -> tuple[str, str] | None:
    """(event id, workflow id) of a run, or None when there is no such run."""
    row = db.fetchone("SELECT event_id, workflow_id FROM runs WHERE id = ?", (run_id,))
    return (row[0], row[1]) if row else None


# Short run ids ---------------------------------------------------------------------

SHORTEST = 8  # a run id prefix is never shorter, so that it reads as an id


class UnknownRun(LookupError):
    """A run id (or prefix) that names no run, or more than one; the message says which."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def resolve_run_id(db: Database, given: str) -> str:
    """The full id of the one run whose id is or starts with `given`.

    Raises UnknownRun when no run matches, or when several do (naming a few of them).
    """
    text = given.strip().lower()
    if not text or len(text) > LENGTH or any(c not in ALPHABET for c in text):
        raise UnknownRun(f"{given!r} is not a run id; relayflow runs lists them")
    if len(text) == LENGTH:
        if db.fetchone("SELECT id FROM runs WHERE id = ?", (text,)) is None:
            raise UnknownRun(f"no run {text}; relayflow runs lists them")
        return text
    rows = db.fetchall(
        "SELECT id FROM runs WHERE id >= ? AND id <= ? ORDER BY id LIMIT 4",
        (text, text + "z" * (LENGTH - len(text))),
    )
    found = [row[0] for row in rows if row[0].startswith(text)]
    if not found:
        raise UnknownRun(f"no run starts with {text}; relayflow runs lists them")
    if len(found) > 1:
        shown = ", ".join(found[:3]) + (", …" if len(found) > 3 else "")
        raise UnknownRun(f"{text} is the start of more than one run ({shown}); give more of it")
    return found[0]


def short_ids(db: Database, ids: list[str]) -> dict[str, str]:
    """Per run id, its shortest prefix (at least SHORTEST characters) that no other run's
    id starts with, as `resolve_run_id` takes it back."""
    short = {}
    for run_id in ids:
        before = db.fetchone("SELECT MAX(id) FROM runs WHERE id < ?", (run_id,))
        after = db.fetchone("SELECT MIN(id) FROM runs WHERE id > ?", (run_id,))
        shared = max(_common(run_id, row[0] if row else None) for row in (before, after))
        short[run_id] = run_id[: max(SHORTEST, shared + 1)]
    return short


def _common(a: str, b: str | None) -> int:
    n = 0
    for x, y in zip(a, b or "", strict=False):
        if x != y:
            break
        n += 1
    return n
