"""Connected accounts as stored: public fields as JSON, secrets as one sealed token."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from relayflow.store.database import Database

_COLUMNS = "name, app, fields, secrets, created_at, updated_at"


@dataclass(frozen=True)
class AccountRow:
    name: str
    app: str
    fields: dict[str, Any]
    sealed: str  # the secrets, encrypted (relayflow.accounts.crypto)
    created_at: float
    updated_at: float


def _row(row: tuple) -> AccountRow:
    return AccountRow(row[0], row[1], json.loads(row[2]), row[3], row[4], row[5])


def list_accounts(db: Database) -> list[AccountRow]:
    return [_row(r) for r in db.fetchall(f"SELECT {_COLUMNS} FROM accounts ORDER BY name")]


def get_account(db: Database, name: str) -> AccountRow | None:
    row = db.fetchone(f"SELECT {_COLUMNS} FROM accounts WHERE name = ?", (name,))
    return _row(row) if row else None


def account_version(db: Database, name: str) -> tuple[str, float] | None:
    """(app, updated_at) of an account, or None: a cheap check for a changed account."""
    row = db.fetchone("SELECT app, updated_at FROM accounts WHERE name = ?", (name,))
    return (row[0], row[1]) if row else None


def save_account(
    db: Database, name: str, app: str, fields: dict[str, Any], sealed: str, *, exists: bool
) -> None:
    """Insert an account, or (`exists`) replace its fields and secrets."""
    now = time.time()
    text = json.dumps(fields, sort_keys=True)
    if exists:
        db.execute(
            "UPDATE accounts SET fields = ?, secrets = ?, updated_at = ? WHERE name = ?",
            (text, sealed, now, name),
        )
    else:
        db.execute(
            "INSERT INTO accounts (name, app, fields, secrets, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (name, app, text, sealed, now, now),
        )


def delete_account(db: Database, name: str) -> None:
    db.execute("DELETE FROM accounts WHERE name = ?", (name,))


def rename_account(db: Database, name: str, new_name: str) -> None:
    db.execute(
        "UPDATE accounts SET name = ?, updated_at = ? WHERE name = ?",
        (new_name, time.time(), name),
    )


def current_definitions(db: Database) -> list[tuple[str, dict[str, Any]]]:
    """(workflow name, definition) of every workflow's current version, by name."""
    rows = db.fetchall(
        "SELECT w.name, v.definition FROM workflows w JOIN workflow_versions v"
        " ON v.workflow_id = w.id AND v.version = w.current_version ORDER BY w.name"
    )
    return [(name, json.loads(text)) for name, text in rows]
