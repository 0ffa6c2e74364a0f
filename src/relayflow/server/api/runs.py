"""`/api/v1/runs` and `/api/v1/events`: find runs, inspect them, replay, cancel, resume."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from pydantic import BaseModel

from relayflow.redact import PAYLOAD_MASK, mask_payloads
from relayflow.runtime import Runtime
from relayflow.server.api.deps import runtime_of
from relayflow.store import history, iterations
from relayflow.store.events import get_event

router = APIRouter(prefix="/api/v1", tags=["runs"])


class ReplayRequest(BaseModel):
    version: int | None = None


def masked_for(request: Request, runtime: Runtime = Depends(runtime_of)) -> bool:
    """Whether this caller is a viewer who sees no payloads (RELAYFLOW_MASK_FOR_VIEWERS)."""
    return runtime.config.mask_for_viewers and getattr(request.state, "role", "") == "viewer"


@router.get("/runs", summary="Runs, newest first; q searches event payloads")
def runs(
    workflow: str | None = None,
    status: str | None = Query(
        None, pattern="^(queued|running|sleeping|succeeded|failed|exited|cancelled)$"
    ),
    limit: int = Query(50, ge=1, le=1000),
    before: float | None = Query(None, description="created_at of the last run seen"),
    q: str = Query("", description="Text to find in the events' payloads"),
    since: str | None = Query(None, pattern="^(1h|24h|7d|30d)$"),
    test: bool | None = Query(None, description="Only test runs (true) or live runs (false)"),
    runtime: Runtime = Depends(runtime_of),
    masked: bool = Depends(masked_for),
) -> list[dict[str, Any]]:
    """A run of a draft (a test) has `version` null and `draft` its number."""
    if q and masked:
        raise HTTPException(403, "viewers cannot search event payloads here (they are hidden)")
    workflow_id = runtime.workflows.get(workflow).id if workflow else None
    return history.list_runs(runtime.db, workflow_id, status, limit, before, q, since, test)


def full_run_id(runtime: Runtime, run_id: str) -> str:
    """The id of the run `run_id` names (an id, or a unique start of one), else 404."""
    try:
        return history.resolve_run_id(runtime.db, run_id)
    except history.UnknownRun as exc:
        raise HTTPException(404, exc.message) from None


@router.get("/runs/{run_id}", summary="A run with its event and every step's details")
def run(
    run_id: str, runtime: Runtime = Depends(runtime_of), masked: bool = Depends(masked_for)
) -> dict[str, Any]:
    """`run_id` may be the start of a run's id, as `relayflow runs` shows it."""
    found = history.get_run(runtime.db, full_run_id(runtime, run_id))
    if found is None:
        raise HTTPException(404, f"no run {run_id}")
    return mask_payloads(found) if masked else found


@router.get(
    "/runs/{run_id}/steps/{step}/iterations",
    summary="A loop's iterations (or a parallel block's branches), a page at a time",
)
def step_iterations(
    run_id: str,
    step: str,
    offset: int = Query(0, ge=0),
    limit: int = Query(100, ge=1, le=1000),
    runtime: Runtime = Depends(runtime_of),
    masked: bool = Depends(masked_for),
) -> dict[str, Any]:
    """Each iteration with its steps' results, in order; `total` counts those recorded."""
    run_id = full_run_id(runtime, run_id)
    version = iterations.run_version(runtime.db, run_id)
    assert version is not None  # full_run_id found it
    compiled = runtime.catalog.compiled(*version)
    node = next((n for n in compiled.nodes if n.name == step and n.blocks), None)
    if node is None:
        blocks = [n.name for n in compiled.nodes if n.blocks] or ["none"]
        raise HTTPException(
            404, f"run {run_id} has no loop or parallel step {step!r}; it has: {', '.join(blocks)}"
        )
    total, rows = iterations.page(runtime.db, run_id, node.index, offset, limit)
    shown = [PAYLOAD_MASK if masked else r.shown() for r in rows]
    return {"total": total, "offset": offset, "iterations": shown}


@router.post("/runs/{run_id}/replay", summary="Run the same event again")
async def replay(
    run_id: str,
    body: ReplayRequest = Body(default_factory=ReplayRequest),
    runtime: Runtime = Depends(runtime_of),
) -> dict[str, Any]:
    try:
        new = await runtime.replay(full_run_id(runtime, run_id), body.version)
    except KeyError as exc:
        raise HTTPException(404, str(exc.args[0])) from None
    return {"run_id": new.run_id, "event_id": new.event_id, "version": new.version}


@router.post("/runs/{run_id}/cancel", summary="Cancel a queued or sleeping run")
async def cancel(run_id: str, runtime: Runtime = Depends(runtime_of)) -> dict[str, Any]:
    return await _control(runtime, run_id, "cancel")


@router.post("/runs/{run_id}/resume", summary="Wake a sleeping run now")
async def resume(run_id: str, runtime: Runtime = Depends(runtime_of)) -> dict[str, Any]:
    return await _control(runtime, run_id, "resume")


async def _control(runtime: Runtime, run_id: str, action: str) -> dict[str, Any]:
    run_id = full_run_id(runtime, run_id)
    if not await runtime.control(run_id, action):
        raise HTTPException(409, f"run {run_id} is not waiting, so it cannot be {action}d")
    return {"ok": True, "run_id": run_id, "action": action}


@router.get("/events/{event_id}", summary="One event as it was received")
def event(
    event_id: str, runtime: Runtime = Depends(runtime_of), masked: bool = Depends(masked_for)
) -> dict[str, Any]:
    found = get_event(runtime.db, event_id)
    if found is None:
        raise HTTPException(404, f"no event {event_id}")
    return mask_payloads(found) if masked else found
