"""Iterations of loops (and branches of parallel blocks): one row each, per run and block.

`checkpoint` is a hot-path `Statement` (batched by the writer); `recorded` reads a block's
rows back when a run resumes, and for the inspector, a page at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from relayflow.jsoncodec import dumps, loads
from relayflow.store.database import Database

Statement = tuple[str, tuple]

UPSERT_ITERATION = (
    "INSERT INTO iterations (run_id, step_index, iteration, status, next_node, steps, result,"
    " error, started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (run_id, step_index, iteration) DO UPDATE SET status = excluded.status,"
    " next_node = excluded.next_node, steps = excluded.steps, result = excluded.result,"
    " error = excluded.error, finished_at = excluded.finished_at"
)
SELECT_ITERATIONS = (
    "SELECT iteration, status, next_node, steps, result, error, started_at, finished_at"
    " FROM iterations WHERE run_id = ? AND step_index = ? AND iteration >= ?"
    " ORDER BY iteration LIMIT ?"
)


@dataclass
class IterationRow:
    """One iteration: its steps' results so far (as the inspector shows steps), the index
    of the block's next node, and the last step's result once it is done."""

    run_id: str
    step_index: int
    iteration: int
    status: str  # running | succeeded | failed
    next_node: int
    steps: list[dict[str, Any]]
    result: Any
    error: dict[str, Any] | None
    started_at: float
    finished_at: float

    def shown(self) -> dict[str, Any]:
        """As the API shows it."""
        return {
            "iteration": self.iteration,
            "status": self.status,
            "steps": self.steps,
            "result": self.result,
            "error": self.error,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


def checkpoint(row: IterationRow) -> Statement:
    """Record (or rewrite, as its steps finish) one iteration."""
    return (
        UPSERT_ITERATION,
        (
            row.run_id,
            row.step_index,
            row.iteration,
            row.status,
            row.next_node,
            dumps(row.steps),
            dumps(row.result),
            dumps(row.error) if row.error else None,
            row.started_at,
            row.finished_at,
        ),
    )


def recorded(
    db: Database, run_id: str, step_index: int, offset: int = 0, limit: int = 1_000_000
) -> list[IterationRow]:
    """The block's iterations from number `offset` on, in order (at most `limit`)."""
    rows = db.fetchall(SELECT_ITERATIONS, (run_id, step_index, offset, limit))
    return [
        IterationRow(
            run_id, step_index, number, status, nxt, loads(steps), loads(result),
            loads(error) if error else None, started, finished,
        )
        for number, status, nxt, steps, result, error, started, finished in rows
    ]


def page(
    db: Database, run_id: str, step_index: int, offset: int, limit: int
) -> tuple[int, list[IterationRow]]:
    """How many iterations the block has recorded, and `limit` of them from `offset` on."""
    row = db.fetchone(
        "SELECT COUNT(*) FROM iterations WHERE run_id = ? AND step_index = ?", (run_id, step_index)
    )
    return (row[0] if row else 0), recorded(db, run_id, step_index, offset, limit)


def run_version(db: Database, run_id: str) -> tuple[str, int] | None:
    """(workflow id, version) of the run, to find its blocks' nodes by name."""
    row = db.fetchone("SELECT workflow_id, version FROM runs WHERE id = ?", (run_id,))
    return (row[0], row[1]) if row else None
