"""Answers to webhook requests that wait in another process (`respond: from_workflow`).

A run executed by a worker elsewhere leaves its answer here; the server holding the
request takes it. Answers nobody collected are purged after an hour.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from relayflow.jsoncodec import dumps, loads
from relayflow.store.database import Database
from relayflow.store.runs import Statement

FINAL = ("succeeded", "failed", "exited", "cancelled")
KEEP_SECONDS = 3600.0

INSERT = (
    "INSERT INTO http_responses (run_id, status, headers, body, created_at)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (run_id) DO NOTHING"
)


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    headers: dict[str, str]
    body: Any


def save_answer(run_id: str, status: int, headers: dict[str, str], body: Any) -> Statement:
    return (INSERT, (run_id, status, dumps(headers), dumps(body), time.time()))


def forget_answer(run_id: str) -> Statement:
    return ("DELETE FROM http_responses WHERE run_id = ?", (run_id,))


def purge_old_answers(now: float | None = None) -> Statement:
    return (
        "DELETE FROM http_responses WHERE created_at < ?",
        ((now or time.time()) - KEEP_SECONDS,),
    )


def find_answer(db: Database, run_id: str) -> StoredAnswer | None | bool:
    """The answer left for `run_id`; None when the run ended without one; False while
    there is nothing yet."""
    row = db.fetchone(
        "SELECT status, headers, body FROM http_responses WHERE run_id = ?", (run_id,)
    )
    if row is not None:
        return StoredAnswer(row[0], loads(row[1]), loads(row[2]))
    status = db.fetchone("SELECT status FROM runs WHERE id = ?", (run_id,))
    if status and status[0] in FINAL:
        return None
    return False
