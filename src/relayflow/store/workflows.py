"""Deploying and reading workflows and their versions (ordinary queries, not the hot path)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from relayflow.ids import new_id
from relayflow.jsoncodec import dumps, loads
from relayflow.model.workflow import Workflow
from relayflow.store.database import Database


class DeployError(Exception):
    """A deploy that cannot happen, e.g. an HTTP path another workflow already uses."""


@dataclass(frozen=True)
class Deployed:
    name: str
    workflow_id: str
    version: int
    changed: bool


@dataclass(frozen=True)
class WorkflowRow:
    id: str
    name: str
    active: bool
    current_version: int
    http_path: str | None
    concurrency: int
    created_at: float
    updated_at: float
    throttle_limit: int | None = None
    throttle_per: float | None = None


_COLUMNS = (
    "id, name, active, current_version, http_path, concurrency, created_at, updated_at,"
    " throttle_limit, throttle_per"
)


def _row(row: tuple) -> WorkflowRow:
    return WorkflowRow(
        row[0], row[1], bool(row[2]), row[3], row[4], row[5], row[6], row[7], row[8], row[9]
    )


def bump_epoch(cur: Any, db: Database) -> None:
    """Tell running servers and workers to reload workflows (they poll this value)."""
    cur.execute(
        db.sql(
            "INSERT INTO settings (key, value) VALUES ('epoch', ?) ON CONFLICT (key)"
            " DO UPDATE SET value = excluded.value"
        ),
        (new_id(),),
    )


def read_epoch(db: Database) -> str | None:
    row = db.fetchone("SELECT value FROM settings WHERE key = 'epoch'")
    return row[0] if row else None


DEPLOY_LOCK = 7270002  # one writer of workflows at a time across PostgreSQL clients


def deploy(db: Database, workflow: Workflow, source: str | None, draft: bool = False) -> Deployed:
    """Store `workflow` and make it the version that runs; no new version if nothing changed.

    With `draft`, the version is stored for testing but does not become current: a
    workflow that only has drafts has `current_version` 0 and receives no events.
    """
    definition = dumps(workflow.model_dump(mode="json", by_alias=True))
    path = workflow.trigger.hook_path
    now = time.time()
    with db.transaction(lock=DEPLOY_LOCK) as cur:
        cur.execute(db.sql(f"SELECT {_COLUMNS} FROM workflows WHERE name = ?"), (workflow.name,))
        found = cur.fetchone()
        existing = _row(found) if found else None
        if path and not draft:
            cur.execute(db.sql("SELECT name FROM workflows WHERE http_path = ?"), (path,))
            owner = cur.fetchone()
            if owner and owner[0] != workflow.name:
                raise DeployError(
                    f"{workflow.name}: trigger.{workflow.trigger.kind}.path {path!r} is already"
                    " used by workflow"
                    f" {owner[0]!r}; pick another path or change that workflow first"
                )
        if existing is None:
            workflow_id = new_id()
            cur.execute(
                db.sql(
                    "INSERT INTO workflows (id, name, active, current_version, concurrency,"
                    " created_at, updated_at) VALUES (?, ?, 1, 0, ?, ?, ?)"
                ),
                (workflow_id, workflow.name, workflow.settings.concurrency, now, now),
            )
            current = 0
        else:
            workflow_id, current = existing.id, existing.current_version
        # The same definition as the current version (deploy) or any version (draft, or a
        # deploy of a tested draft) is not stored twice.
        cur.execute(
            db.sql(
                "SELECT version, definition FROM workflow_versions WHERE workflow_id = ?"
                " ORDER BY version DESC"
            ),
            (workflow_id,),
        )
        same = [row[0] for row in cur.fetchall() if _same_definition(row[1], definition)]
        if current in same or (draft and same):
            return Deployed(
                workflow.name, workflow_id, current if current in same else same[0], False
            )
        if same:
            version = same[0]
        else:
            cur.execute(
                db.sql("SELECT MAX(version) FROM workflow_versions WHERE workflow_id = ?"),
                (workflow_id,),
            )
            version = (cur.fetchone()[0] or 0) + 1
            cur.execute(
                db.sql(
                    "INSERT INTO workflow_versions (workflow_id, version, definition, source,"
                    " created_at) VALUES (?, ?, ?, ?, ?)"
                ),
                (workflow_id, version, definition, source, now),
            )
        if not draft:
            _make_current(cur, db, workflow_id, version, workflow, now)
        return Deployed(workflow.name, workflow_id, version, True)


def _same_definition(stored: str, definition: str) -> bool:
    """Whether a stored definition is `definition`, also when an earlier relayflow wrote it
    in another shape (e.g. every step carrying every kind's field as null)."""
    if stored == definition:
        return True
    try:
        again = Workflow.model_validate(loads(stored)).model_dump(mode="json", by_alias=True)
    except ValueError:
        return False
    return dumps(again) == definition


def _make_current(
    cur: Any, db: Database, workflow_id: str, version: int, workflow: Workflow, now: float
) -> None:
    throttle = workflow.settings.throttle
    cur.execute(
        db.sql(
            "UPDATE workflows SET current_version = ?, http_path = ?, concurrency = ?,"
            " throttle_limit = ?, throttle_per = ?, updated_at = ? WHERE id = ?"
        ),
        (
            version,
            workflow.trigger.hook_path,
            workflow.settings.concurrency,
            throttle.limit if throttle else None,
            throttle.per if throttle else None,
            now,
            workflow_id,
        ),
    )
    bump_epoch(cur, db)


def rollback(db: Database, name: str, version: int) -> WorkflowRow:
    """Make an earlier (or drafted) version the one that runs."""
    row = get_workflow(db, name)
    if row is None:
        raise KeyError(f"no workflow named {name!r}")
    workflow, _source = get_version(db, row.id, version)
    path = workflow.trigger.hook_path
    with db.transaction(lock=DEPLOY_LOCK) as cur:
        if path:
            cur.execute(db.sql("SELECT name FROM workflows WHERE http_path = ?"), (path,))
            owner = cur.fetchone()
            if owner and owner[0] != name:
                raise DeployError(
                    f"version {version} listens on {path!r}, now used by {owner[0]!r}"
                )
        _make_current(cur, db, row.id, version, workflow, time.time())
    return get_workflow(db, name)  # type: ignore[return-value]


def list_workflows(db: Database) -> list[WorkflowRow]:
    return [_row(r) for r in db.fetchall(f"SELECT {_COLUMNS} FROM workflows ORDER BY name")]


def get_workflow(db: Database, name: str) -> WorkflowRow | None:
    row = db.fetchone(f"SELECT {_COLUMNS} FROM workflows WHERE name = ?", (name,))
    return _row(row) if row else None


def get_workflow_by_id(db: Database, workflow_id: str) -> WorkflowRow | None:
    row = db.fetchone(f"SELECT {_COLUMNS} FROM workflows WHERE id = ?", (workflow_id,))
    return _row(row) if row else None


def get_version(db: Database, workflow_id: str, version: int) -> tuple[Workflow, str | None]:
    row = db.fetchone(
        "SELECT definition, source FROM workflow_versions WHERE workflow_id = ? AND version = ?",
        (workflow_id, version),
    )
    if row is None:
        raise KeyError(f"workflow {workflow_id} has no version {version}")
    return Workflow.model_validate(loads(row[0])), row[1]


def list_versions(db: Database, workflow_id: str) -> list[dict[str, Any]]:
    return db.fetchdicts(
        "SELECT v.version, v.created_at, CASE WHEN v.version = w.current_version THEN 1"
        " ELSE 0 END AS current FROM workflow_versions v JOIN workflows w ON w.id = v.workflow_id"
        " WHERE v.workflow_id = ? ORDER BY v.version DESC",
        (workflow_id,),
    )


def set_active(db: Database, name: str, active: bool) -> WorkflowRow:
    row = get_workflow(db, name)
    if row is None:
        raise KeyError(name)
    with db.transaction(lock=DEPLOY_LOCK) as cur:
        cur.execute(
            db.sql("UPDATE workflows SET active = ?, updated_at = ? WHERE id = ?"),
            (int(active), time.time(), row.id),
        )
        bump_epoch(cur, db)
    return get_workflow(db, name)  # type: ignore[return-value]


def delete_workflow(db: Database, workflow_id: str) -> None:
    """Remove a workflow with its versions, events, runs, step results and ticks."""
    with db.transaction(lock=DEPLOY_LOCK) as cur:
        for sql in (
            "DELETE FROM step_results WHERE run_id IN (SELECT id FROM runs WHERE workflow_id = ?)",
            "DELETE FROM runs WHERE workflow_id = ?",
            "DELETE FROM events WHERE workflow_id = ?",
            "DELETE FROM schedule_ticks WHERE workflow_id = ?",
            "DELETE FROM workflow_versions WHERE workflow_id = ?",
            "DELETE FROM workflows WHERE id = ?",
        ):
            cur.execute(db.sql(sql), (workflow_id,))
        bump_epoch(cur, db)


def latest_definitions(db: Database) -> dict[str, tuple[int, dict[str, Any]]]:
    """Each workflow's newest version and its definition (a draft may be newer than the
    current one), by workflow id."""
    rows = db.fetchall(
        "SELECT v.workflow_id, v.version, v.definition FROM workflow_versions v"
        " JOIN (SELECT workflow_id, MAX(version) AS version FROM workflow_versions"
        " GROUP BY workflow_id) m ON m.workflow_id = v.workflow_id AND m.version = v.version"
    )
    return {row[0]: (row[1], loads(row[2])) for row in rows}
