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

# Versions and drafts share one table and one key, and are numbered apart: version n is
# stored as n, draft n as -n. A run refers to either by that key (test runs of a draft
# hold its negative key), so drafts never take a version number: versions are numbered on
# deploy only.


def draft_key(draft: int) -> int:
    """How draft `draft` is stored, and how its runs refer to it."""
    return -draft


def label(key: int) -> str:
    """A stored key as people read it: `version 3`, or `draft 2`."""
    return f"version {key}" if key > 0 else f"draft {-key}"


@dataclass(frozen=True)
class Drafted:
    """A draft stored for testing; `key` is what its test runs run (the deployed version's,
    when the draft is the same as it)."""

    name: str
    workflow_id: str
    key: int
    changed: bool

    @property
    def draft(self) -> int | None:
        return -self.key if self.key < 0 else None


def deploy(db: Database, workflow: Workflow, source: str | None) -> Deployed:
    """Store `workflow` and make it the version that runs; no new version if nothing changed.

    A definition that an earlier version had becomes current again under its number; one
    that only a draft had gets the next version number.
    """
    definition = dumps(workflow.model_dump(mode="json", by_alias=True))
    path = workflow.trigger.hook_path
    now = time.time()
    with db.transaction(lock=DEPLOY_LOCK) as cur:
        workflow_id, current = _workflow_for(cur, db, workflow, now)
        if path:
            cur.execute(db.sql("SELECT name FROM workflows WHERE http_path = ?"), (path,))
            owner = cur.fetchone()
            if owner and owner[0] != workflow.name:
                raise DeployError(
                    f"{workflow.name}: trigger.{workflow.trigger.kind}.path {path!r} is already"
                    " used by workflow"
                    f" {owner[0]!r}; pick another path or change that workflow first"
                )
        same = _same_keys(cur, db, workflow_id, definition, "version > 0")
        if current in same:
            return Deployed(workflow.name, workflow_id, current, False)
        if same:
            version = same[0]
        else:
            version = _newest(cur, db, workflow_id, drafts=False) + 1
            _insert(cur, db, workflow_id, version, definition, source, now)
        _make_current(cur, db, workflow_id, version, workflow, now)
        return Deployed(workflow.name, workflow_id, version, True)


def save_draft(db: Database, workflow: Workflow, source: str | None) -> Drafted:
    """Store `workflow` as the next draft, to test without deploying it. A workflow that
    only has drafts has `current_version` 0 and receives no events.

    Nothing new is stored when it is the deployed version, or the same as the newest draft.
    """
    definition = dumps(workflow.model_dump(mode="json", by_alias=True))
    now = time.time()
    with db.transaction(lock=DEPLOY_LOCK) as cur:
        workflow_id, current = _workflow_for(cur, db, workflow, now)
        newest = _newest(cur, db, workflow_id, drafts=True)
        same = _same_keys(cur, db, workflow_id, definition, "version IN (?, ?)", (current, newest))
        for key in (current, newest):
            if key and key in same:
                return Drafted(workflow.name, workflow_id, key, False)
        key = newest - 1
        _insert(cur, db, workflow_id, key, definition, source, now)
        return Drafted(workflow.name, workflow_id, key, True)


def _workflow_for(cur: Any, db: Database, workflow: Workflow, now: float) -> tuple[str, int]:
    """(id, current version) of the workflow named like `workflow`, created if new."""
    cur.execute(db.sql(f"SELECT {_COLUMNS} FROM workflows WHERE name = ?"), (workflow.name,))
    found = cur.fetchone()
    if found:
        existing = _row(found)
        return existing.id, existing.current_version
    workflow_id = new_id()
    cur.execute(
        db.sql(
            "INSERT INTO workflows (id, name, active, current_version, concurrency,"
            " created_at, updated_at) VALUES (?, ?, 1, 0, ?, ?, ?)"
        ),
        (workflow_id, workflow.name, workflow.settings.concurrency, now, now),
    )
    return workflow_id, 0


def _same_keys(
    cur: Any, db: Database, workflow_id: str, definition: str, where: str, params: tuple = ()
) -> list[int]:
    """Keys of the stored versions or drafts (those `where` picks) that are `definition`,
    the highest first."""
    cur.execute(
        db.sql(
            "SELECT version, definition FROM workflow_versions WHERE workflow_id = ?"
            f" AND {where} ORDER BY version DESC"
        ),
        (workflow_id, *params),
    )
    return [row[0] for row in cur.fetchall() if _same_definition(row[1], definition)]


def _newest(cur: Any, db: Database, workflow_id: str, drafts: bool) -> int:
    """The key of the newest version (or draft), 0 when there is none."""
    aggregate, sign = ("MIN", "<") if drafts else ("MAX", ">")
    cur.execute(
        db.sql(
            f"SELECT {aggregate}(version) FROM workflow_versions WHERE workflow_id = ?"
            f" AND version {sign} 0"
        ),
        (workflow_id,),
    )
    return cur.fetchone()[0] or 0


def _insert(
    cur: Any,
    db: Database,
    workflow_id: str,
    key: int,
    definition: str,
    source: str | None,
    now: float,
) -> None:
    cur.execute(
        db.sql(
            "INSERT INTO workflow_versions (workflow_id, version, definition, source,"
            " created_at) VALUES (?, ?, ?, ?, ?)"
        ),
        (workflow_id, key, definition, source, now),
    )


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
    """Make an earlier version the one that runs (a draft is deployed, not rolled back to)."""
    row = get_workflow(db, name)
    if row is None:
        raise KeyError(f"no workflow named {name!r}")
    if version <= 0:
        raise KeyError(f"{name} has no version {version}")
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


def get_version(db: Database, workflow_id: str, key: int) -> tuple[Workflow, str | None]:
    """The definition and source stored under `key` (a version, or a draft's `draft_key`)."""
    row = db.fetchone(
        "SELECT definition, source FROM workflow_versions WHERE workflow_id = ? AND version = ?",
        (workflow_id, key),
    )
    if row is None:
        raise KeyError(f"workflow {workflow_id} has no {label(key)}")
    return Workflow.model_validate(loads(row[0])), row[1]


def list_versions(db: Database, workflow_id: str) -> list[dict[str, Any]]:
    """Deployed versions, newest first: version, created_at, current (1 or 0)."""
    return db.fetchdicts(
        "SELECT v.version, v.created_at, CASE WHEN v.version = w.current_version THEN 1"
        " ELSE 0 END AS current FROM workflow_versions v JOIN workflows w ON w.id = v.workflow_id"
        " WHERE v.workflow_id = ? AND v.version > 0 ORDER BY v.version DESC",
        (workflow_id,),
    )


def list_drafts(db: Database, workflow_id: str, limit: int = 20) -> list[dict[str, Any]]:
    """The newest drafts (tested, never deployed), newest first: draft, created_at."""
    return db.fetchdicts(
        "SELECT -version AS draft, created_at FROM workflow_versions"
        " WHERE workflow_id = ? AND version < 0 ORDER BY version LIMIT ?",
        (workflow_id, limit),
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
            "DELETE FROM iterations WHERE run_id IN (SELECT id FROM runs WHERE workflow_id = ?)",
            "DELETE FROM runs WHERE workflow_id = ?",
            "DELETE FROM events WHERE workflow_id = ?",
            "DELETE FROM schedule_ticks WHERE workflow_id = ?",
            "DELETE FROM workflow_versions WHERE workflow_id = ?",
            "DELETE FROM workflows WHERE id = ?",
        ):
            cur.execute(db.sql(sql), (workflow_id,))
        bump_epoch(cur, db)


@dataclass(frozen=True)
class Shown:
    """What a workflow list shows of a workflow: the trigger of its deployed version (else
    of its newest draft), and its newest draft when that is newer than what is deployed."""

    trigger: dict[str, Any]
    pending_draft: int | None


def shown_definitions(db: Database) -> dict[str, Shown]:
    """Per workflow id, what the workflow list shows of it."""
    rows = db.fetchall(
        "SELECT v.workflow_id, v.version, v.definition, v.created_at FROM workflow_versions v"
        " JOIN workflows w ON w.id = v.workflow_id WHERE v.version = w.current_version"
        " OR v.version = (SELECT MIN(d.version) FROM workflow_versions d"
        " WHERE d.workflow_id = v.workflow_id AND d.version < 0)"
    )
    versions: dict[str, tuple[float, dict[str, Any]]] = {}
    drafts: dict[str, tuple[float, dict[str, Any], int]] = {}
    for workflow_id, key, definition, created_at in rows:
        if key > 0:
            versions[workflow_id] = (created_at, loads(definition))
        else:
            drafts[workflow_id] = (created_at, loads(definition), -key)
    shown = {}
    for workflow_id in versions.keys() | drafts.keys():
        version, draft = versions.get(workflow_id), drafts.get(workflow_id)
        definition = version[1] if version else draft[1] if draft else {}
        newer = draft is not None and (version is None or draft[0] > version[0])
        pending = draft[2] if draft is not None and newer else None
        shown[workflow_id] = Shown(definition.get("trigger") or {}, pending)
    return shown
