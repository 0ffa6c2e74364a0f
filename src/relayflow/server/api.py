"""`/api/v1`: workflows, runs, events and the action library as JSON (OpenAPI at /docs)."""

from __future__ import annotations

from typing import Any

import yaml
from fastapi import APIRouter, Body, HTTPException, Query, Request
from pydantic import BaseModel

from relayflow.engine.actions import discover, search
from relayflow.model.loader import WorkflowFileError, parse_workflow
from relayflow.runtime import Runtime
from relayflow.store import history
from relayflow.store.workflows import (
    DeployError,
    delete_workflow,
    deploy,
    get_version,
    get_workflow,
    list_versions,
    list_workflows,
    rollback,
    set_active,
)


class DeployRequest(BaseModel):
    source: str  # the workflow as YAML (JSON is YAML too)


class ReplayRequest(BaseModel):
    version: int | None = None


class TestRequest(BaseModel):
    source: str | None = None  # a draft to test (YAML); omitted: the current version
    event: dict[str, Any] = {}
    until: str | None = None  # stop after this step (test one step and those before it)


class RollbackRequest(BaseModel):
    version: int


def workflow_summary(row: Any) -> dict[str, Any]:
    return {
        "name": row.name,
        "active": row.active,
        "version": row.current_version,
        "http_path": row.http_path,
        "hook_url_path": f"/hooks/{row.http_path}" if row.http_path else None,
        "concurrency": row.concurrency,
        "updated_at": row.updated_at,
    }


def make_api(runtime: Runtime) -> APIRouter:
    api = APIRouter(prefix="/api/v1")
    db = runtime.db

    def find(name: str) -> Any:
        row = get_workflow(db, name)
        if row is None:
            raise HTTPException(404, f"no workflow named {name!r}")
        return row

    @api.get("/workflows", summary="List workflows")
    def workflows() -> list[dict[str, Any]]:
        return [workflow_summary(r) for r in list_workflows(db)]

    @api.get("/workflows/{name}", summary="A workflow with its current definition and versions")
    def workflow(name: str) -> dict[str, Any]:
        row = find(name)
        versions = list_versions(db, row.id)
        shown = row.current_version or versions[0]["version"]
        definition, source = get_version(db, row.id, shown)
        return {
            **workflow_summary(row),
            "definition": definition.model_dump(mode="json", by_alias=True),
            "source": source,
            "versions": versions,
        }

    @api.post("/workflows", summary="Deploy a workflow (a new version if it changed)")
    async def deploy_workflow(request: Request) -> dict[str, Any]:
        ctype = request.headers.get("content-type", "")
        raw = (await request.body()).decode("utf-8", "replace")
        if "json" in ctype:
            try:
                payload = yaml.safe_load(raw)
            except yaml.YAMLError:
                raise HTTPException(400, "the body is not valid JSON") from None
            if isinstance(payload, dict) and isinstance(payload.get("source"), str):
                raw = payload["source"]
            else:
                raw = yaml.safe_dump(payload, sort_keys=False)
        try:
            loaded = parse_workflow(raw, "request")
        except WorkflowFileError as exc:
            raise HTTPException(422, {"problems": [str(p) for p in exc.problems]}) from None
        try:
            result = deploy(db, loaded.workflow, loaded.source)
        except DeployError as exc:
            raise HTTPException(409, str(exc)) from None
        runtime.catalog.refresh()
        return {"name": result.name, "version": result.version, "changed": result.changed}

    @api.post(
        "/workflows/{name}/test", summary="Run a draft or the current version on a test event"
    )
    async def test_workflow(name: str, body: TestRequest) -> dict[str, Any]:
        version = None
        if body.source is not None:
            try:
                loaded = parse_workflow(body.source, "draft")
            except WorkflowFileError as exc:
                raise HTTPException(422, {"problems": [str(p) for p in exc.problems]}) from None
            if loaded.workflow.name != name:
                raise HTTPException(
                    422, {"problems": [f"draft: name: is {loaded.workflow.name!r}, not {name!r}"]}
                )
            version = deploy(db, loaded.workflow, loaded.source, draft=True).version
        row = find(name)
        if version is None and not row.current_version:
            raise HTTPException(
                409, f"{name} has no deployed version; send `source` to test a draft"
            )
        runtime.catalog.refresh()
        run_id = await runtime.run_now(row, body.event, version=version, stop_after=body.until)
        return history.get_run(db, run_id) or {}

    @api.get("/workflows/{name}/versions/{version}", summary="One version's source")
    def version_source(name: str, version: int) -> dict[str, Any]:
        row = find(name)
        try:
            definition, source = get_version(db, row.id, version)
        except KeyError:
            raise HTTPException(404, f"{name} has no version {version}") from None
        return {
            "version": version,
            "current": version == row.current_version,
            "source": source,
            "definition": definition.model_dump(mode="json", by_alias=True),
        }

    @api.post("/workflows/{name}/rollback", summary="Make an earlier version current")
    def rollback_workflow(name: str, body: RollbackRequest) -> dict[str, Any]:
        find(name)
        try:
            row = rollback(db, name, body.version)
        except KeyError as exc:
            raise HTTPException(404, str(exc.args[0])) from None
        except DeployError as exc:
            raise HTTPException(409, str(exc)) from None
        runtime.catalog.refresh()
        return workflow_summary(row)

    @api.delete("/workflows/{name}", summary="Delete a workflow with its versions and runs")
    def delete(name: str) -> dict[str, Any]:
        row = find(name)
        delete_workflow(db, row.id)
        runtime.catalog.refresh()
        return {"deleted": name}

    @api.post("/workflows/{name}/replay-failed", summary="Replay every failed run not yet replayed")
    async def replay_failed(name: str) -> dict[str, Any]:
        row = find(name)
        queued = [new.run_id for new in await runtime.replay_failed(row.id)]
        return {"replayed": len(queued), "run_ids": queued}

    @api.post("/workflows/{name}/pause", summary="Stop accepting events")
    def pause(name: str) -> dict[str, Any]:
        find(name)
        row = set_active(db, name, False)
        runtime.catalog.refresh()
        return workflow_summary(row)

    @api.post("/workflows/{name}/activate", summary="Accept events again")
    def activate(name: str) -> dict[str, Any]:
        find(name)
        row = set_active(db, name, True)
        runtime.catalog.refresh()
        return workflow_summary(row)

    @api.get("/runs", summary="Runs, newest first; q searches event payloads")
    def runs(
        workflow: str | None = None,
        status: str | None = Query(
            None, pattern="^(queued|running|sleeping|succeeded|failed|exited|cancelled)$"
        ),
        limit: int = Query(50, ge=1, le=1000),
        before: float | None = Query(None, description="created_at of the last run seen"),
        q: str = Query("", description="Text to find in the events' payloads"),
        since: str | None = Query(None, pattern="^(1h|24h|7d|30d)$"),
    ) -> list[dict[str, Any]]:
        workflow_id = find(workflow).id if workflow else None
        return history.list_runs(db, workflow_id, status, limit, before, q, since)

    @api.get("/runs/{run_id}", summary="A run with its event and every step's details")
    def run(run_id: str) -> dict[str, Any]:
        found = history.get_run(db, run_id)
        if found is None:
            raise HTTPException(404, f"no run {run_id}")
        return found

    @api.post("/runs/{run_id}/replay", summary="Run the same event again")
    async def replay(run_id: str, body: ReplayRequest = Body(default_factory=ReplayRequest)):
        try:
            new = await runtime.replay(run_id, body.version)
        except KeyError as exc:
            raise HTTPException(404, str(exc.args[0])) from None
        return {"run_id": new.run_id, "event_id": new.event_id, "version": new.version}

    @api.post("/runs/{run_id}/cancel", summary="Cancel a queued or sleeping run")
    async def cancel(run_id: str) -> dict[str, Any]:
        return await _control(run_id, "cancel")

    @api.post("/runs/{run_id}/resume", summary="Wake a sleeping run now")
    async def resume(run_id: str) -> dict[str, Any]:
        return await _control(run_id, "resume")

    async def _control(run_id: str, action: str) -> dict[str, Any]:
        if history.get_run(db, run_id) is None:
            raise HTTPException(404, f"no run {run_id}")
        if not await runtime.control(run_id, action):
            raise HTTPException(409, f"run {run_id} is not waiting, so it cannot be {action}d")
        return {"ok": True, "run_id": run_id, "action": action}

    @api.get("/events/{event_id}", summary="One event as it was received")
    def event(event_id: str) -> dict[str, Any]:
        row = db.fetchone(
            "SELECT e.id, w.name, e.received_at, e.payload FROM events e"
            " JOIN workflows w ON w.id = e.workflow_id WHERE e.id = ?",
            (event_id,),
        )
        if row is None:
            raise HTTPException(404, f"no event {event_id}")
        import orjson

        return {
            "id": row[0],
            "workflow": row[1],
            "received_at": row[2],
            "payload": orjson.loads(row[3]),
        }

    @api.get("/actions", summary="The action library; q searches titles, apps and keys")
    def actions(q: str = "") -> list[dict[str, Any]]:
        found = search(q) if q else sorted(discover().values(), key=lambda a: a.key)
        return [a.schema() for a in found]

    return api
