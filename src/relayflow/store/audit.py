"""The `audit_log` table: one row per change (relayflow.audit writes and reads it)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from relayflow.store.database import Database


@dataclass(frozen=True)
class AuditRow:
    id: str
    at: float
    actor: str
    action: str
    target: str
    details: dict[str, Any]

    def public(self) -> dict[str, Any]:
        return asdict(self)


def insert_entry(db: Database, row: AuditRow) -> None:
    db.execute(
        "INSERT INTO audit_log (id, at, actor, action, target, details)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (row.id, row.at, row.actor, row.action, row.target, json.dumps(row.details)),
    )


def list_entries(
    db: Database,
    *,
    limit: int = 100,
    action: str | None = None,
    target: str | None = None,
    actor: str | None = None,
    since: float | None = None,
) -> list[AuditRow]:
    """Newest first; `action` matches a prefix ("workflow." is every workflow change)."""
    where, params = [], []
    if action:
        where.append("action LIKE ?")
        params.append(action.replace("%", "") + "%")
    if target:
        where.append("target = ?")
        params.append(target)
    if actor:
        where.append("actor = ?")
        params.append(actor)
    if since is not None:
        where.append("at >= ?")
        params.append(since)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = db.fetchall(
        "SELECT id, at, actor, action, target, details FROM audit_log"
        f"{clause} ORDER BY at DESC, id DESC LIMIT ?",
        (*params, int(limit)),
    )
    return [AuditRow(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]
