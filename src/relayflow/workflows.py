"""The workflow lifecycle, with one owner: deploy, draft, rollback, pause, activate,
delete, diff and export.

The API, the web UI and the CLI call this instead of the store, so each change is checked
the same way, raises the same domain errors, and reaches the running process at once:
given the process's catalog, every change refreshes it before returning, so a webhook
sent right after a deploy through the API or the UI is served by the new version. Other
processes (a `relayflow deploy` from a shell, other servers) see the change when they
next poll the deploy epoch, within half a second.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from relayflow import audit
from relayflow.model.loader import (
    LoadedWorkflow,
    Problem,
    WorkflowFileError,
    load_file,
    load_paths,
    parse_workflow,
)
from relayflow.model.workflow import Workflow
from relayflow.steps.base import CLI, Hints, Installed
from relayflow.store import history
from relayflow.store import workflows as stored
from relayflow.store.accounts import list_accounts
from relayflow.store.database import Database
from relayflow.store.workflows import Deployed, Drafted, WorkflowRow


class WorkflowError(Exception):
    """A lifecycle change that cannot happen; `status` is the HTTP status the API answers."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class WorkflowNotFound(WorkflowError):
    status = 404


class VersionNotFound(WorkflowError):
    status = 404


class WorkflowConflict(WorkflowError):
    """E.g. a webhook path that another workflow already listens on."""

    status = 409


class InvalidWorkflow(WorkflowError):
    """A workflow file with problems; nothing of it was stored."""

    status = 422

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


class Refreshable:
    """What the service refreshes after a change (the process's `engine.catalog.Catalog`)."""

    def refresh(self) -> bool:
        raise NotImplementedError


@dataclass(frozen=True)
class Stats:
    """A workflow's activity in the last 24 hours."""

    runs_24h: int
    errors_24h: int
    last_run: dict[str, Any] | None


def pruned(workflow: Workflow) -> dict[str, Any]:
    """The workflow as its author would write it: no defaults, no empty fields."""
    return workflow.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def as_yaml(workflow: Workflow) -> str:
    return yaml.safe_dump(pruned(workflow), sort_keys=False, allow_unicode=True, width=100)


class Workflows:
    """Every workflow of one installation. `catalog`: the running process's, if any."""

    def __init__(self, db: Database, catalog: Refreshable | None = None) -> None:
        self.db = db
        self.catalog = catalog

    # Reading ---------------------------------------------------------------------------

    def get(self, name: str) -> WorkflowRow:
        row = stored.get_workflow(self.db, name)
        if row is None:
            raise WorkflowNotFound(f"no workflow named {name!r}")
        return row

    def find(self, name: str) -> WorkflowRow | None:
        return stored.get_workflow(self.db, name)

    def list(self) -> list[WorkflowRow]:
        return stored.list_workflows(self.db)

    def versions(self, name: str) -> list[dict[str, Any]]:
        """Deployed versions, newest first: version, created_at, current."""
        return stored.list_versions(self.db, self.get(name).id)

    def drafts(self, name: str) -> list[dict[str, Any]]:
        """The newest drafts (tested, never deployed), newest first: draft, created_at."""
        return stored.list_drafts(self.db, self.get(name).id)

    def version(self, name: str, version: int) -> tuple[Workflow, str | None]:
        """A deployed version's definition and the source it was deployed from."""
        if version <= 0:
            raise VersionNotFound(f"{name} has no version {version}")
        return self.revision(name, version)

    def draft_version(self, name: str, draft: int) -> tuple[Workflow, str | None]:
        """A draft's definition and the source it was tested from."""
        if draft <= 0:
            raise VersionNotFound(f"{name} has no draft {draft}")
        return self.revision(name, stored.draft_key(draft))

    def revision(self, name: str, key: int) -> tuple[Workflow, str | None]:
        """The definition stored under `key`: a version, or a draft's (negative) key, as a
        run refers to what it ran."""
        row = self.get(name)
        try:
            return stored.get_version(self.db, row.id, key)
        except KeyError:
            raise VersionNotFound(f"{name} has no {stored.label(key)}") from None

    def shown_key(self, name: str) -> int:
        """What a reader sees by default: the deployed version, else the newest draft's key
        (0 when there is neither)."""
        row = self.get(name)
        if row.current_version:
            return row.current_version
        drafts = stored.list_drafts(self.db, row.id, limit=1)
        return stored.draft_key(drafts[0]["draft"]) if drafts else 0

    def stats(self, name: str) -> Stats:
        row = self.get(name)
        since = time.time() - history.DAY
        runs, errors = history.run_counts_since(self.db, row.id, since)
        return Stats(runs, errors, history.last_run(self.db, row.id))

    # Changing --------------------------------------------------------------------------

    def installed(self, hints: Hints = CLI) -> Installed:
        """What workflow files are checked against here: the connected accounts."""
        return Installed({a.name: a.app for a in list_accounts(self.db)}, hints)

    def parse(self, source: str, file: str = "request", hints: Hints = CLI) -> LoadedWorkflow:
        """One workflow given as YAML text, checked in full (accounts included); `hints`
        words the fixes for the CLI or the web UI."""
        try:
            return parse_workflow(source, file, None, self.installed(hints))
        except WorkflowFileError as exc:
            raise InvalidWorkflow(exc.problems) from None

    def load(self, paths: Iterable[Path]) -> list[LoadedWorkflow]:
        """Workflow files and folders, checked in full; every problem of every file is in
        the InvalidWorkflow raised."""
        try:
            return load_paths(paths, self.installed())
        except WorkflowFileError as exc:
            raise InvalidWorkflow(exc.problems) from None

    def load_file(self, path: Path) -> LoadedWorkflow:
        try:
            return load_file(path, self.installed())
        except WorkflowFileError as exc:
            raise InvalidWorkflow(exc.problems) from None

    def deploy(self, loaded: Iterable[LoadedWorkflow]) -> list[Deployed]:
        """Deploy checked workflows, each a new version when it changed. Workflows read
        without the installation's accounts are checked against them first: nothing is
        deployed if any has a problem."""
        items = [self._checked(item) for item in loaded]
        results = []
        try:
            for item in items:
                result = stored.deploy(self.db, item.workflow, item.source)
                results.append(result)
                if result.changed:
                    audit.record(self.db, "workflow.deploy", result.name, version=result.version)
        except stored.DeployError as exc:
            raise WorkflowConflict(str(exc)) from None
        finally:
            self._refresh()
        return results

    def _checked(self, item: LoadedWorkflow) -> LoadedWorkflow:
        if item.installed is not None and item.installed.accounts is not None:
            return item
        path = Path(item.file)
        if path.is_file():
            return self.load_file(path)
        return self.parse(item.source, item.file)

    def deploy_source(self, source: str, file: str = "request", hints: Hints = CLI) -> Deployed:
        """Check and deploy one workflow given as YAML text."""
        return self.deploy([self.parse(source, file, hints)])[0]

    def draft(
        self, source: str, name: str | None = None, file: str = "draft", hints: Hints = CLI
    ) -> Drafted:
        """Store a draft for testing without deploying it; `name` must match, if given."""
        loaded = self.parse(source, file, hints)
        if name is not None and loaded.workflow.name != name:
            raise InvalidWorkflow(
                [Problem(file, 1, "name", f"is {loaded.workflow.name!r}, not {name!r}")]
            )
        return self.store_draft(loaded.workflow, loaded.source)

    def store_draft(self, workflow: Workflow, source: str) -> Drafted:
        """The next draft of `workflow` (or the deployed version, when it is the same)."""
        try:
            return stored.save_draft(self.db, workflow, source)
        finally:
            self._refresh()

    def rollback(self, name: str, version: int) -> WorkflowRow:
        """Make an earlier version the one that runs."""
        self.version(name, version)
        try:
            row = stored.rollback(self.db, name, version)
            audit.record(self.db, "workflow.rollback", name, version=version)
            return row
        except stored.DeployError as exc:
            raise WorkflowConflict(str(exc)) from None
        finally:
            self._refresh()

    def pause(self, name: str) -> WorkflowRow:
        """Stop accepting events: webhooks answer 404, schedules stop firing."""
        return self._set_active(name, False)

    def activate(self, name: str) -> WorkflowRow:
        return self._set_active(name, True)

    def delete(self, name: str) -> None:
        """Remove a workflow with its versions, events, runs and step results."""
        stored.delete_workflow(self.db, self.get(name).id)
        audit.record(self.db, "workflow.delete", name)
        self._refresh()

    def _set_active(self, name: str, active: bool) -> WorkflowRow:
        self.get(name)
        row = stored.set_active(self.db, name, active)
        audit.record(self.db, "workflow.activate" if active else "workflow.pause", name)
        self._refresh()
        return row

    def _refresh(self) -> None:
        if self.catalog is not None:
            self.catalog.refresh()

    # Comparing and exporting -----------------------------------------------------------

    def diff(self, name: str, a: int, b: int) -> list[str]:
        """Version `b` against version `a` as unified-diff lines of their YAML."""
        old, new = (as_yaml(self.version(name, v)[0]) for v in (a, b))
        return list(
            difflib.unified_diff(
                old.splitlines(), new.splitlines(), f"version {a}", f"version {b}", lineterm=""
            )
        )

    def export(self, name: str, version: int | None = None, draft: int | None = None) -> str:
        """The YAML of a version or draft (default: the one shown), which deploys back
        unchanged.

        The source it was deployed from, comments and all, when that source stands on its
        own (no `code_file:` to read beside it); otherwise the definition as YAML.
        """
        if draft is not None:
            workflow, source = self.draft_version(name, draft)
        elif version is not None:
            workflow, source = self.version(name, version)
        else:
            workflow, source = self.revision(name, self.shown_key(name))
        if source:
            try:
                again = parse_workflow(source, "export").workflow
            except WorkflowFileError:
                again = None
            if again is not None and again == workflow:
                return source
        return as_yaml(workflow)
