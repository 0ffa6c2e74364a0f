"""Events, runs and step results on the hot path: typed operations over prebuilt SQL.

Each operation returns a `Statement` (or a `Batch` that runs inside the writer's
transaction), so callers compose what must commit together, e.g.
`Batch([checkpoint(step), finish(run_id, "succeeded", 3, now)])`, and the writer groups
it with other callers' writes. `claim_batch` claims, reads the events and the recorded
steps of resumed runs in one round trip.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from relayflow.ids import new_id
from relayflow.jsoncodec import dumps, loads
from relayflow.store.database import Database
from relayflow.store.writer import Batch

Statement = tuple[str, tuple]

INSERT_EVENT = (
    "INSERT INTO events (id, workflow_id, received_at, payload, test, context)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
INSERT_RUN = (
    "INSERT INTO runs (id, event_id, workflow_id, version, status, created_at, available_at,"
    " next_step, lease_owner, lease_expires, claims, test, replay_of)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, 0, ?, ?)"
)
UPSERT_STEP = (
    "INSERT INTO step_results (run_id, step_index, step_name, status, inputs, return_value,"
    " exports, logs, error, attempts, started_at, finished_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (run_id, step_index) DO UPDATE SET status = excluded.status,"
    " inputs = excluded.inputs, return_value = excluded.return_value,"
    " exports = excluded.exports, logs = excluded.logs, error = excluded.error,"
    " attempts = excluded.attempts, started_at = excluded.started_at,"
    " finished_at = excluded.finished_at"
)
ADVANCE_RUN = "UPDATE runs SET next_step = ? WHERE id = ? AND lease_owner = ?"
ADVANCE_RELEASING_SLOT = (
    "UPDATE runs SET next_step = ?, holds_slot = 0 WHERE id = ? AND lease_owner = ?"
)
FINISH_RUN = (
    "UPDATE runs SET status = ?, next_step = ?, finished_at = ?, error = ?, lease_owner = NULL,"
    " lease_expires = NULL WHERE id = ?"
)
REQUEUE_RUN = (
    "UPDATE runs SET status = ?, next_step = ?, available_at = ?, lease_owner = NULL,"
    " lease_expires = NULL WHERE id = ? AND lease_owner = ?"
)
RENEW_LEASES = "UPDATE runs SET lease_expires = ? WHERE lease_owner = ? AND status = 'running'"
RELEASE_LEASES = (
    "UPDATE runs SET status = 'queued', lease_owner = NULL, lease_expires = NULL"
    " WHERE lease_owner = ? AND status = 'running'"
)
RECLAIM_EXPIRED = (
    "UPDATE runs SET status = 'queued', lease_owner = NULL, lease_expires = NULL"
    " WHERE status = 'running' AND lease_expires < ?"
)


@dataclass(frozen=True)
class StepRow:
    """What one attempt of one step recorded (JSON-ready values, written as JSON text)."""

    run_id: str
    index: int
    name: str
    status: str  # succeeded | failed | retrying | rerun
    inputs: Any
    return_value: Any
    exports: dict[str, Any]
    logs: list[str]
    error: dict[str, Any] | None
    attempts: int
    started_at: float
    finished_at: float

    def marked(self, status: str) -> StepRow:
        return replace(self, status=status)


def checkpoint(step: StepRow) -> Statement:
    """Record (or overwrite, on a later attempt) a step's result."""
    return (
        UPSERT_STEP,
        (
            step.run_id,
            step.index,
            step.name,
            step.status,
            dumps(step.inputs),
            dumps(step.return_value),
            dumps(step.exports),
            dumps(step.logs),
            dumps(step.error) if step.error else None,
            step.attempts,
            step.started_at,
            step.finished_at,
        ),
    )


def advance(run_id: str, owner: str, next_step: int, *, release_slot: bool = False) -> Statement:
    """Move a run that `owner` holds on to `next_step`; `release_slot` when that step holds
    no concurrency slot (a batched upload), so that another run may take it."""
    return (ADVANCE_RELEASING_SLOT if release_slot else ADVANCE_RUN, (next_step, run_id, owner))


def finish(
    run_id: str, status: str, next_step: int, finished_at: float, error: str | None = None
) -> Statement:
    """End a run (succeeded, failed or exited) and drop its lease."""
    return (FINISH_RUN, (status, next_step, finished_at, error, run_id))


def requeue(
    run_id: str, owner: str, next_step: int, available_at: float, *, sleeping: bool = False
) -> Statement:
    """Hand a run back to the queue, to resume at `next_step` from `available_at` on:
    a retry (queued) or a delay (sleeping)."""
    status = "sleeping" if sleeping else "queued"
    return (REQUEUE_RUN, (status, next_step, available_at, run_id, owner))


def renew_leases(owner: str, until: float) -> Statement:
    return (RENEW_LEASES, (until, owner))


def release_leases(owner: str) -> Statement:
    """Requeue every run `owner` is running (a clean stop)."""
    return (RELEASE_LEASES, (owner,))


def release_dead_leases() -> Batch:
    """Requeue runs leased by processes of this host that no longer exist (after kill -9),
    so a restarted server need not wait for their leases to expire."""

    def release(cur: Any, db: Database) -> int:
        host = socket.gethostname()
        cur.execute(db.sql("SELECT DISTINCT lease_owner FROM runs WHERE status = 'running'"), ())
        dead = [owner for (owner,) in cur.fetchall() if owner and dead_here(owner, host)]
        for owner in dead:
            cur.execute(db.sql(RELEASE_LEASES), (owner,))
        return len(dead)

    return Batch(then=release)


def dead_here(owner: str, host: str) -> bool:
    """Whether the lease owner `owner` was a process of host `host` that no longer runs."""
    parts = owner.split(":")
    if len(parts) != 4 or parts[1] != host or not parts[2].isdigit():
        return False
    try:
        os.kill(int(parts[2]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass
class NewRun:
    """An event and the run it starts, ready to be committed together."""

    event_id: str
    run_id: str
    workflow_id: str
    version: int
    payload: str
    received_at: float
    test: bool = False
    lease_owner: str | None = None
    lease_expires: float | None = None
    replay_of: str | None = None
    new_event: bool = True
    context: str | None = None  # JSON: what the trigger knew besides the payload

    @classmethod
    def of(cls, workflow_id: str, version: int, payload: str, **options: Any) -> NewRun:
        """A new event received now and its run (`options`: test, lease, …)."""
        return cls(new_id(), new_id(), workflow_id, version, payload, time.time(), **options)

    def statements(self) -> list[Statement]:
        status = "running" if self.lease_owner else "queued"
        stmts: list[tuple[str, tuple]] = []
        if self.new_event:
            stmts.append(
                (
                    INSERT_EVENT,
                    (
                        self.event_id,
                        self.workflow_id,
                        self.received_at,
                        self.payload,
                        int(self.test),
                        self.context,
                    ),
                )
            )
        stmts.append(
            (
                INSERT_RUN,
                (
                    self.run_id,
                    self.event_id,
                    self.workflow_id,
                    self.version,
                    status,
                    self.received_at,
                    self.received_at,
                    self.lease_owner,
                    self.lease_expires,
                    int(self.test),
                    self.replay_of,
                ),
            )
        )
        return stmts


@dataclass(frozen=True)
class Limits:
    """A workflow's execution controls: runs at once, and run starts per period.

    `free_steps` are the nodes of `version` (the current one) at which a run holds no
    concurrency slot (batched uploads, flow control): such runs are claimed beyond the
    limit, so a batch is not capped by `concurrency`.
    """

    concurrency: int
    throttle_limit: int | None = None
    throttle_per: float | None = None
    version: int | None = None
    free_steps: frozenset[int] = frozenset()

    def slot_free(self, version: int, next_step: int) -> bool:
        return version == self.version and next_step in self.free_steps


@dataclass
class ClaimedRun:
    id: str
    event_id: str
    workflow_id: str
    version: int
    next_step: int
    claims: int
    test: bool
    replay_of: str | None
    created_at: float
    event: dict[str, Any]
    event_received_at: float
    results: dict[int, dict[str, Any]]
    event_context: dict[str, Any] = field(default_factory=dict)
    holds_slot: bool = True  # counts against its workflow's concurrency (Limits)


def claim_batch(
    owner: str,
    lease_seconds: float,
    limits: dict[str, Limits],
    max_runs: int,
    reclaim: bool,
    caps: dict[str, int] | None = None,
) -> Batch:
    """Claim up to `max_runs` ready runs, honouring each workflow's concurrency limit.

    `caps` (per workflow id) bounds how many slot-holding runs this claim may add, below
    what the limit leaves free: a claimer's share when several split one limit.

    `limits` maps every workflow id to its limit; each is an index seek, so a backlog of
    queued runs does not slow claiming down. Callers rotate the order for fairness. Runs
    whose next step holds no slot (`Limits.slot_free`) are claimed beyond the limit, with
    `holds_slot = 0`; the others take the free slots in queue order.
    """

    def claim(cur: Any, db: Database) -> list[ClaimedRun]:
        now = time.time()
        if reclaim:
            cur.execute(db.sql(RECLAIM_EXPIRED), (now,))
        with_slot: list[str] = []
        without_slot: list[str] = []
        budget = max_runs
        for workflow_id, limit in limits.items():
            if budget <= 0:
                break
            if db.is_postgres:
                # Serialises claimers per workflow so the concurrency limit holds across hosts.
                cur.execute("SELECT id FROM workflows WHERE id = %s FOR UPDATE", (workflow_id,))
            cur.execute(
                db.sql(
                    "SELECT COUNT(*) FROM runs WHERE workflow_id = ? AND status = 'running'"
                    " AND holds_slot = 1"
                ),
                (workflow_id,),
            )
            slots = min(budget, limit.concurrency - cur.fetchone()[0])
            if caps is not None:
                slots = min(slots, caps.get(workflow_id, slots))
            starts = budget
            if limit.throttle_limit and limit.throttle_per:
                cur.execute(
                    db.sql("SELECT COUNT(*) FROM runs WHERE workflow_id = ? AND started_at > ?"),
                    (workflow_id, now - limit.throttle_per),
                )
                starts = min(budget, limit.throttle_limit - cur.fetchone()[0])
                slots = min(slots, starts)
            # Without slot-free steps only `slots` runs can be claimed; with them, any.
            wanted = starts if limit.free_steps else slots
            if wanted <= 0:
                continue
            lock = " FOR UPDATE SKIP LOCKED" if db.is_postgres else ""
            # One index range scan per status (an IN list would sort the whole backlog).
            ready: list[tuple[float, str, int, int]] = []
            for status in ("queued", "sleeping"):
                cur.execute(
                    db.sql(
                        "SELECT available_at, id, version, next_step FROM runs"
                        " WHERE workflow_id = ? AND status = ? AND available_at <= ?"
                        f" ORDER BY available_at LIMIT ?{lock}"
                    ),
                    (workflow_id, status, now, wanted),
                )
                ready.extend(cur.fetchall())
            taken = 0
            for _at, run_id, version, next_step in sorted(ready):
                if taken >= wanted:
                    break
                if limit.slot_free(version, next_step):
                    without_slot.append(run_id)
                elif slots > 0:
                    with_slot.append(run_id)
                    slots -= 1
                else:
                    continue
                taken += 1
            budget -= taken
        claimed = [(ids, flag) for ids, flag in ((with_slot, 1), (without_slot, 0)) if ids]
        for ids, holds in claimed:
            marks = ",".join("?" * len(ids))
            cur.execute(
                db.sql(
                    "UPDATE runs SET status = 'running', lease_owner = ?, lease_expires = ?,"
                    " claims = claims + 1, started_at = COALESCE(started_at, ?), holds_slot = ?"
                    f" WHERE id IN ({marks})"
                ),
                (owner, now + lease_seconds, now, holds, *ids),
            )
        if not claimed:
            return []
        return load_runs(cur, db, with_slot + without_slot)

    return Batch(then=claim)


def load_runs(cur: Any, db: Database, run_ids: list[str]) -> list[ClaimedRun]:
    marks = ",".join("?" * len(run_ids))
    cur.execute(
        db.sql(
            "SELECT r.id, r.event_id, r.workflow_id, r.version, r.next_step, r.claims, r.test,"
            " r.replay_of, r.created_at, e.payload, e.received_at, r.holds_slot, e.context"
            " FROM runs r"
            f" JOIN events e ON e.id = r.event_id WHERE r.id IN ({marks})"
        ),
        tuple(run_ids),
    )
    rows = cur.fetchall()
    # Runs claimed before (resumed after a crash, or retrying) bring their recorded steps.
    resumed = [row[0] for row in rows if row[4] > 0 or row[5] > 1]
    results: dict[str, dict[int, dict[str, Any]]] = {}
    if resumed:
        marks = ",".join("?" * len(resumed))
        cur.execute(
            db.sql(
                "SELECT run_id, step_index, step_name, status, return_value, exports, attempts"
                f" FROM step_results WHERE run_id IN ({marks})"
            ),
            tuple(resumed),
        )
        for run_id, index, name, status, rv, exports, attempts in cur.fetchall():
            results.setdefault(run_id, {})[index] = {
                "name": name,
                "status": status,
                "return_value": loads(rv),
                "exports": loads(exports) or {},
                "attempts": attempts,
            }
    return [
        ClaimedRun(
            id=row[0],
            event_id=row[1],
            workflow_id=row[2],
            version=row[3],
            next_step=row[4],
            claims=row[5],
            test=bool(row[6]),
            replay_of=row[7],
            created_at=row[8],
            event=orjson.loads(row[9]),
            event_received_at=row[10],
            results=results.get(row[0], {}),
            holds_slot=bool(row[11]),
            event_context=loads(row[12]) or {},
        )
        for row in rows
    ]
