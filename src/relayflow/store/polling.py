"""Polling sources' cursors: where each source's last committed poll ended, who polls it.

A poll first takes the source's lease (`claim`), which hands back the cursor and its
generation. Each chunk of new items then commits its runs together with the cursor after
them (`commit_chunk`), and only if the generation is still the one the poll read: a
second poller (another scheduler, a `poll now` at the same moment) finds it moved and
makes nothing, and a crash before a commit leaves the cursor where the items not yet
emitted begin. `finish` records what the poll came to and when the next one is due.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from relayflow.ids import new_id
from relayflow.jsoncodec import dumps, loads
from relayflow.store.database import Database
from relayflow.store.runs import NewRun, Statement, dead_here
from relayflow.store.writer import Batch

SEEN_KEPT = 10_000  # ids a `unique` source remembers (Pipedream keeps 100)
MAX_ID = 500

COLUMNS = (
    "config, generation, state, owner, lease_expires, next_poll_at, last_poll_at,"
    " last_ok_at, last_error, last_error_at, failures, emitted, last_emitted"
)
CREATE = (
    "INSERT INTO poll_cursors (workflow_id, config, generation, state, next_poll_at, failures,"
    " emitted, last_emitted) VALUES (?, ?, 0, NULL, 0, 0, 0, 0) ON CONFLICT (workflow_id)"
    " DO NOTHING"
)
ADVANCE = (
    "UPDATE poll_cursors SET generation = generation + 1, state = ?, lease_expires = ?"
    " WHERE workflow_id = ? AND generation = ?"
)
EMITTED = "UPDATE poll_cursors SET emitted = emitted + ? WHERE workflow_id = ?"
SEE = (
    "INSERT INTO poll_seen (workflow_id, item_id, seen_at) VALUES (?, ?, ?)"
    " ON CONFLICT (workflow_id, item_id) DO NOTHING"
)
PROBLEM = "UPDATE poll_cursors SET last_error = ?, last_error_at = ? WHERE workflow_id = ?"
LOG = (
    "INSERT INTO delivery_log (id, workflow_id, received_at, outcome, reason, key, event_type,"
    " run_id) VALUES (?, ?, ?, 'problem', ?, NULL, NULL, NULL)"
)


@dataclass(frozen=True)
class Claim:
    """This process holds the source's lease; the cursor as the poll found it."""

    workflow_id: str
    owner: str
    generation: int
    state: dict[str, Any] | None  # {"cursor": …, "position": …}; None before the first poll
    failures: int

    @property
    def first(self) -> bool:
        return self.state is None


@dataclass(frozen=True)
class Busy:
    """The source was not claimed: polled elsewhere right now, or not due yet."""

    next_poll_at: float
    owner: str | None = None


def claim(
    workflow_id: str, config: str, owner: str, lease: float, *, force: bool = False
) -> Batch:
    """Take the lease of the workflow's source if it is due (or `force`) and free, its
    holder's lease expired or its holder died; a changed `config` (the source's inputs)
    starts the cursor afresh. The batch's result is a Claim or a Busy."""

    def take(cur: Any, db: Database) -> Claim | Busy:
        now = time.time()
        cur.execute(db.sql(CREATE), (workflow_id, config))
        lock = " FOR UPDATE" if db.is_postgres else ""
        cur.execute(
            db.sql(
                "SELECT config, generation, state, owner, lease_expires, next_poll_at, failures"
                f" FROM poll_cursors WHERE workflow_id = ?{lock}"
            ),
            (workflow_id,),
        )
        stored, generation, state, holder, expires, next_at, failures = cur.fetchone()
        held = holder and holder != owner and (expires or 0) > now
        if held and not dead_here(holder, socket.gethostname()):
            return Busy(next_at, holder)
        fresh = stored != config  # a new source or new inputs: poll it now, from the start
        if not force and not fresh and next_at > now:
            return Busy(next_at)
        if fresh:
            state, generation = None, generation + 1
        cur.execute(
            db.sql(
                "UPDATE poll_cursors SET owner = ?, lease_expires = ?, config = ?, generation = ?,"
                " state = ? WHERE workflow_id = ?"
            ),
            (owner, now + lease, config, generation, state, workflow_id),
        )
        return Claim(workflow_id, owner, generation, loads(state), failures)

    return Batch(then=take)


def commit_chunk(
    held: Claim,
    generation: int,
    state: dict[str, Any],
    runs: Sequence[NewRun],
    ids: Sequence[str] | None,
    problems: Sequence[str],
    lease: float,
) -> Batch:
    """Store `runs` and advance the cursor to `state`, only if it is still at `generation`.

    With `ids` (a `unique` source: one per run) a run whose id was emitted before is
    left out. The batch's result is the runs started, or None when the cursor had moved.
    """

    def advance(cur: Any, db: Database) -> list[NewRun] | None:
        now = time.time()
        cur.execute(db.sql(ADVANCE), (dumps(state), now + lease, held.workflow_id, generation))
        if cur.rowcount != 1:
            return None  # another poller moved it first; this batch wrote nothing
        started = list(runs)
        if ids is not None:
            started = []
            for offset, (new, item_id) in enumerate(zip(runs, ids, strict=True)):
                cur.execute(db.sql(SEE), (held.workflow_id, item_id[:MAX_ID], now + offset * 1e-6))
                if cur.rowcount == 1:
                    started.append(new)
        grouped: dict[str, list[tuple]] = {}
        for new in started:
            for sql, params in new.statements():
                grouped.setdefault(sql, []).append(params)
        for sql, rows in grouped.items():
            cur.executemany(db.sql(sql), rows)
        if started:
            cur.execute(db.sql(EMITTED), (len(started), held.workflow_id))
        if problems:
            cur.execute(db.sql(PROBLEM), (problems[-1], now, held.workflow_id))
            cur.executemany(
                db.sql(LOG), [(new_id(), held.workflow_id, now, reason) for reason in problems]
            )
        return started

    return Batch(then=advance, notify=bool(runs))


def finish(
    held: Claim, next_poll_at: float, emitted: int, error: str | None = None
) -> Statement:
    """Release the lease and record the poll: succeeded, or failed with `error`."""
    now = time.time()
    if error is None:
        return (
            "UPDATE poll_cursors SET owner = NULL, lease_expires = NULL, next_poll_at = ?,"
            " last_poll_at = ?, last_ok_at = ?, failures = 0, last_emitted = ?"
            " WHERE workflow_id = ? AND owner = ?",
            (next_poll_at, now, now, emitted, held.workflow_id, held.owner),
        )
    return (
        "UPDATE poll_cursors SET owner = NULL, lease_expires = NULL, next_poll_at = ?,"
        " last_poll_at = ?, last_error = ?, last_error_at = ?, failures = failures + 1,"
        " last_emitted = ? WHERE workflow_id = ? AND owner = ?",
        (next_poll_at, now, error, now, emitted, held.workflow_id, held.owner),
    )


def renew(held: Claim, lease: float) -> Statement:
    """Extend the lease of a poll that is still reading."""
    return (
        "UPDATE poll_cursors SET lease_expires = ? WHERE workflow_id = ? AND owner = ?",
        (time.time() + lease, held.workflow_id, held.owner),
    )


def trim_seen(workflow_id: str) -> Statement:
    """Keep the newest SEEN_KEPT ids of a `unique` source."""
    return (
        "DELETE FROM poll_seen WHERE workflow_id = ? AND seen_at < (SELECT seen_at FROM"
        " poll_seen WHERE workflow_id = ? ORDER BY seen_at DESC LIMIT 1 OFFSET ?)",
        (workflow_id, workflow_id, SEEN_KEPT - 1),
    )


def cursor_of(db: Database, workflow_id: str, config: str) -> dict[str, Any] | None:
    """The committed cursor for a source with `config`, or None (a first poll)."""
    row = db.fetchone(
        "SELECT config, state FROM poll_cursors WHERE workflow_id = ?", (workflow_id,)
    )
    return loads(row[1]) if row and row[0] == config else None


def seen_ids(db: Database, workflow_id: str, ids: Sequence[str]) -> set[str]:
    """Which of `ids` a `unique` source has emitted."""
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        part = [i[:MAX_ID] for i in ids[start : start + 500]]
        marks = ",".join("?" * len(part))
        found.update(
            row[0]
            for row in db.fetchall(
                f"SELECT item_id FROM poll_seen WHERE workflow_id = ? AND item_id IN ({marks})",
                (workflow_id, *part),
            )
        )
    return found


def poll_status(db: Database, workflow_id: str) -> dict[str, Any] | None:
    """What the source's polls came to: last poll, last success, last error, next poll,
    failures in a row, items emitted (in the last poll and since the cursor started),
    and who is polling it now; None before its first poll."""
    row = db.fetchone(f"SELECT {COLUMNS} FROM poll_cursors WHERE workflow_id = ?", (workflow_id,))
    if row is None:
        return None
    names = [c.strip() for c in COLUMNS.split(",")]
    found = dict(zip(names, row, strict=True))
    polling_now = found["owner"] is not None and (found["lease_expires"] or 0) > time.time()
    return {
        "last_poll_at": found["last_poll_at"],
        "last_ok_at": found["last_ok_at"],
        "last_error": found["last_error"],
        "last_error_at": found["last_error_at"],
        "next_poll_at": found["next_poll_at"],
        "failures": found["failures"],
        "emitted": found["emitted"],
        "last_emitted": found["last_emitted"],
        "polling_now": found["owner"] if polling_now else None,
        "cursor": loads(found["state"]),
    }
