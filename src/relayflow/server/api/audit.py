"""`/api/v1/audit`: the audit log of changes, newest first."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from relayflow import audit
from relayflow.runtime import Runtime
from relayflow.server.api.deps import runtime_of

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("", summary="Changes with who made them and when (newest first)")
def entries(
    limit: int = Query(100, ge=1, le=1000, description="At most this many entries"),
    action: str | None = Query(None, description="An action or its prefix, e.g. workflow."),
    target: str | None = Query(None, description="The workflow, account, user or run"),
    actor: str | None = Query(None, description='e.g. "user admin" or "API token"'),
    since: float | None = Query(None, description="Only entries at or after (epoch seconds)"),
    runtime: Runtime = Depends(runtime_of),
) -> list[dict[str, Any]]:
    found = audit.entries(
        runtime.db, limit=limit, action=action, target=target, actor=actor, since=since
    )
    return [row.public() for row in found]
