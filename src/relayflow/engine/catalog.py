"""What is deployed, as the running processes see it: routes, limits, compiled versions.

Deploys bump an epoch in the database; `refresh` (called twice a second) reloads when it
changed, so `relayflow deploy` reaches a running server without a restart.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

from relayflow.engine.compiled import CompiledWorkflow
from relayflow.store.database import Database
from relayflow.store.runs import Limits
from relayflow.store.workflows import WorkflowRow, get_version, list_workflows, read_epoch

CACHE_SIZE = 256
log = logging.getLogger(__name__)


class Catalog:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.epoch: str | None = "never-loaded"
        self.workflows: dict[str, WorkflowRow] = {}
        self.by_name: dict[str, WorkflowRow] = {}
        self.routes: dict[str, WorkflowRow] = {}
        self._limits: dict[str, Limits] = {}
        self._compiled: OrderedDict[tuple[str, int], CompiledWorkflow] = OrderedDict()

    def refresh(self) -> bool:
        """Reload the workflow table if a deploy happened; True when something changed."""
        epoch = read_epoch(self.db)
        if epoch == self.epoch:
            return False
        rows = list_workflows(self.db)
        self.workflows = {r.id: r for r in rows}
        self.by_name = {r.name: r for r in rows}
        self.routes = {r.http_path: r for r in rows if r.http_path and r.current_version}
        self.epoch = epoch
        self._limits = {r.id: self._limits_of(r) for r in rows}
        return True

    def _limits_of(self, row: WorkflowRow) -> Limits:
        free: frozenset[int] = frozenset()
        if row.current_version:
            try:
                free = self.compiled(row.id, row.current_version).slot_free
            except Exception:  # noqa: BLE001 - it fails at run time with its reason
                log.warning("workflow %s does not compile", row.name, exc_info=True)
        return Limits(
            row.concurrency, row.throttle_limit, row.throttle_per, row.current_version, free
        )

    def compiled(self, workflow_id: str, version: int) -> CompiledWorkflow:
        key = (workflow_id, version)
        found = self._compiled.get(key)
        if found is not None:
            self._compiled.move_to_end(key)
            return found
        workflow, _source = get_version(self.db, workflow_id, version)
        found = CompiledWorkflow(workflow_id, version, workflow)
        self._compiled[key] = found
        if len(self._compiled) > CACHE_SIZE:
            self._compiled.popitem(last=False)
        return found

    def current(self, workflow_id: str) -> CompiledWorkflow:
        row = self.workflows.get(workflow_id)
        if row is None:
            self.epoch = "stale"
            self.refresh()
            row = self.workflows[workflow_id]
        return self.compiled(workflow_id, row.current_version)

    def limits(self) -> dict[str, Limits]:
        """Execution controls per workflow id, as of the last refresh (the claim reads them
        on every wake, so they are built once per deploy, not per claim)."""
        return self._limits

    def error_route(self, name: str) -> tuple[str, int] | None:
        """Where a failed run's error event goes: the active, deployed workflow `name`."""
        row = self.by_name.get(name)
        if row is None or not row.active or not row.current_version:
            return None
        return row.id, row.current_version

    def deployed(self) -> list[WorkflowRow]:
        """Workflows with a current version (not only drafts)."""
        return [r for r in self.workflows.values() if r.current_version]
