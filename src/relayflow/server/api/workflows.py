"""`/api/v1/workflows`: deploy, test, version, compare, export, pause and delete workflows."""

from __future__ import annotations

import time
import uuid
from typing import Any

import yaml
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel

from relayflow.model.workflow import Workflow
from relayflow.runtime import Runtime
from relayflow.sdk import Delivery
from relayflow.server.api.deps import hints_of, runtime_of, workflows_of
from relayflow.server.hooks import accept_source_delivery
from relayflow.steps.base import Hints
from relayflow.store import history
from relayflow.store.deliveries import recent_deliveries
from relayflow.store.events import recent_events
from relayflow.store.workflows import WorkflowRow
from relayflow.triggers.polling import polling_status
from relayflow.workflows import Workflows

router = APIRouter(prefix="/api/v1/workflows", tags=["workflows"])


class TestRequest(BaseModel):
    source: str | None = None  # a draft to test (YAML); omitted: the current version
    event: dict[str, Any] = {}
    until: str | None = None  # stop after this step (test one step and those before it)


class RollbackRequest(BaseModel):
    version: int


def workflow_summary(row: WorkflowRow) -> dict[str, Any]:
    return {
        "name": row.name,
        "active": row.active,
        "version": row.current_version,
        "http_path": row.http_path,
        "hook_url_path": f"/hooks/{row.http_path}" if row.http_path else None,
        "concurrency": row.concurrency,
        "updated_at": row.updated_at,
    }


@router.get("", summary="List workflows")
def list_workflows(workflows: Workflows = Depends(workflows_of)) -> list[dict[str, Any]]:
    return [workflow_summary(r) for r in workflows.list()]


@router.get("/{name}", summary="A workflow with its definition, versions and drafts")
def get_workflow(name: str, workflows: Workflows = Depends(workflows_of)) -> dict[str, Any]:
    """The deployed version's definition (`draft` is null), or, for a workflow that was
    only tested so far, its newest draft's (`draft` is its number). `versions` are the
    deployed ones; `drafts` were tested and never deployed; `polling`, for a polling
    source: its last poll, last error and next poll."""
    row = workflows.get(name)
    key = workflows.shown_key(name)
    definition, source = workflows.revision(name, key)
    return {
        **workflow_summary(row),
        "draft": -key if key < 0 else None,
        "definition": definition.model_dump(mode="json", by_alias=True),
        "source": source,
        "versions": workflows.versions(name),
        "drafts": workflows.drafts(name),
        "polling": polling_status(workflows.db, row.id, definition),
    }


@router.get("/{name}/polling", summary="A polling source's last poll, last error, next poll")
def polling(name: str, workflows: Workflows = Depends(workflows_of)) -> dict[str, Any]:
    row = workflows.get(name)
    definition, _source = workflows.revision(name, workflows.shown_key(name))
    found = polling_status(workflows.db, row.id, definition)
    if found is None:
        raise HTTPException(409, f"{name}'s trigger is not a polling source")
    return found


@router.post("/{name}/poll", summary="Poll the source now, or show what a poll would emit")
async def poll(
    name: str,
    dry_run: bool = Query(False, description="Show what would be emitted; emit nothing"),
    runtime: Runtime = Depends(runtime_of),
) -> dict[str, Any]:
    """Without `dry_run`, the new items are emitted at once, as a scheduled poll would
    (and only once, even if the scheduler polls at the same moment)."""
    row = runtime.workflows.get(name)
    if not row.current_version:
        raise HTTPException(409, f"{name} is not deployed yet; deploy it first")
    if not row.active and not dry_run:
        raise HTTPException(409, f"{name} is paused; activate it to poll it")
    try:
        outcome = await runtime.poll_now(row, dry_run=dry_run)
    except LookupError as exc:
        raise HTTPException(409, str(exc)) from None
    return outcome.as_dict()


@router.post("", summary="Deploy a workflow (a new version if it changed)")
async def deploy(
    request: Request,
    workflows: Workflows = Depends(workflows_of),
    hints: Hints = Depends(hints_of),
) -> dict[str, Any]:
    """The body is the workflow as YAML, or JSON: the workflow itself or `{"source": YAML}`
    (with `"file"`, the file's name, problems are reported as `file:line:`)."""
    raw = (await request.body()).decode("utf-8", "replace")
    file = "request"
    if "json" in request.headers.get("content-type", ""):
        try:
            payload = yaml.safe_load(raw)
            if isinstance(payload, dict) and isinstance(payload.get("source"), str):
                raw = payload["source"]
                if isinstance(payload.get("file"), str) and payload["file"].strip():
                    file = payload["file"].strip().replace("\\", "/").rsplit("/", 1)[-1]
            else:
                raw = yaml.safe_dump(payload, sort_keys=False)
        except yaml.YAMLError:
            raise HTTPException(400, "the body is not valid JSON") from None
        except RecursionError:
            raise HTTPException(400, "the body is nested too deeply to be a workflow") from None
        except ValueError as exc:  # an integer past Python's 4,300-digit limit, a bad date
            raise HTTPException(400, f"the body has a value that cannot be read: {exc}") from None
    result = workflows.deploy_source(raw, file, hints)
    return {"name": result.name, "version": result.version, "changed": result.changed}


@router.post("/{name}/test", summary="Run a draft or the current version on a test event")
async def test(
    name: str,
    body: TestRequest,
    runtime: Runtime = Depends(runtime_of),
    hints: Hints = Depends(hints_of),
) -> dict[str, Any]:
    """Run `source` as a draft (stored, not deployed; drafts get no version number), or
    the deployed version, on `event`."""
    workflows = runtime.workflows
    key = None
    if body.source is not None:
        key = workflows.draft(body.source, name, hints=hints).key
    row = workflows.get(name)
    if key is None and not row.current_version:
        raise HTTPException(409, f"{name} has no deployed version; send `source` to test a draft")
    run_id = await runtime.run_now(row, body.event, version=key, stop_after=body.until)
    return history.get_run(runtime.db, run_id) or {}


@router.get("/{name}/versions/{version}", summary="One version's source")
def version_source(
    name: str, version: int, workflows: Workflows = Depends(workflows_of)
) -> dict[str, Any]:
    current = version == workflows.get(name).current_version
    return {"version": version, "current": current, **_stored(workflows.version(name, version))}


@router.get("/{name}/drafts/{draft}", summary="One draft's source (tested, never deployed)")
def draft_source(
    name: str, draft: int, workflows: Workflows = Depends(workflows_of)
) -> dict[str, Any]:
    return {"draft": draft, **_stored(workflows.draft_version(name, draft))}


def _stored(found: tuple[Workflow, str | None]) -> dict[str, Any]:
    definition, source = found
    return {"source": source, "definition": definition.model_dump(mode="json", by_alias=True)}


@router.get("/{name}/diff", summary="What changed from version a to version b")
def diff(
    name: str,
    a: int = Query(description="The earlier version"),
    b: int = Query(description="The later version"),
    workflows: Workflows = Depends(workflows_of),
) -> dict[str, Any]:
    """The two versions' YAML as unified-diff lines (`+` added in b, `-` removed)."""
    lines = workflows.diff(name, a, b)
    return {"name": name, "a": a, "b": b, "changed": bool(lines), "lines": lines}


@router.get("/{name}/export", summary="A version as YAML that deploys back unchanged")
def export(
    name: str,
    version: int | None = Query(None, description="Default: the deployed version"),
    draft: int | None = Query(None, description="A draft instead of a version"),
    workflows: Workflows = Depends(workflows_of),
) -> dict[str, Any]:
    source = workflows.export(name, version, draft)
    if version is None and draft is None:
        key = workflows.shown_key(name)
        version, draft = (key, None) if key > 0 else (None, -key)
    return {"name": name, "version": version, "draft": draft, "source": source}


@router.get("/{name}/stats", summary="Runs and failed runs in the last 24 hours")
def stats(name: str, workflows: Workflows = Depends(workflows_of)) -> dict[str, Any]:
    found = workflows.stats(name)
    return {
        "name": name,
        "runs_24h": found.runs_24h,
        "errors_24h": found.errors_24h,
        "last_run": found.last_run,
    }


@router.get("/{name}/deliveries", summary="The last deliveries: runs started, and the rest")
def deliveries(
    name: str, limit: int = Query(20, ge=1, le=200), runtime: Runtime = Depends(runtime_of)
) -> dict[str, Any]:
    """Events received lately (each started a run), and deliveries that started none:
    duplicates, types not subscribed, refusals with their reason."""
    row = runtime.workflows.get(name)
    return {
        "name": name,
        "accepted": recent_events(runtime.db, row.id, limit),
        "skipped": recent_deliveries(runtime.db, row.id, limit),
    }


@router.post("/{name}/send-sample", summary="Deliver the source's sample, signed by its account")
async def send_sample(name: str, runtime: Runtime = Depends(runtime_of)) -> dict[str, Any]:
    """What the app would send, signed with the account's secret, through the same checks
    as a real delivery; the answer is what the app would get back."""
    row = runtime.workflows.get(name)
    if not row.current_version or not row.http_path:
        raise HTTPException(409, f"{name} is not deployed with a webhook source yet; deploy it")
    compiled = runtime.catalog.compiled(row.id, row.current_version)
    trigger, source = compiled.workflow.trigger.source, compiled.source
    if trigger is None or source is None:
        raise HTTPException(409, f"{name}'s trigger is not an app's source")
    fields = runtime.accounts.fields(trigger.account, source.app)[0] if trigger.account else {}
    secret = str(fields.get(source.secret_field or "") or "")
    if not secret:
        raise HTTPException(409, f"account {trigger.account!r} has no {source.secret_field}")
    body, headers = source.sample_delivery(secret, uuid.uuid4().hex[:12], time.time())
    delivery = Delivery(
        "POST",
        f"/{row.http_path}",
        {k.lower(): v for k, v in headers.items()},
        {},
        body,
        client_ip="relayflow sample",
    )
    status, answer = await accept_source_delivery(runtime, row, compiled, delivery)
    shown = answer if isinstance(answer, dict) else {"status": answer.status, "body": answer.body}
    return {"status": status, **shown}


@router.post("/{name}/rollback", summary="Make an earlier version current")
def rollback(
    name: str, body: RollbackRequest, workflows: Workflows = Depends(workflows_of)
) -> dict[str, Any]:
    return workflow_summary(workflows.rollback(name, body.version))


@router.delete("/{name}", summary="Delete a workflow with its versions and runs")
def delete(name: str, workflows: Workflows = Depends(workflows_of)) -> dict[str, Any]:
    workflows.delete(name)
    return {"deleted": name}


@router.post("/{name}/replay-failed", summary="Replay every failed run not yet replayed")
async def replay_failed(name: str, runtime: Runtime = Depends(runtime_of)) -> dict[str, Any]:
    row = runtime.workflows.get(name)
    queued = [new.run_id for new in await runtime.replay_failed(row.id)]
    return {"replayed": len(queued), "run_ids": queued}


@router.post("/{name}/pause", summary="Stop accepting events")
def pause(name: str, workflows: Workflows = Depends(workflows_of)) -> dict[str, Any]:
    return workflow_summary(workflows.pause(name))


@router.post("/{name}/activate", summary="Accept events again")
def activate(name: str, workflows: Workflows = Depends(workflows_of)) -> dict[str, Any]:
    return workflow_summary(workflows.activate(name))
