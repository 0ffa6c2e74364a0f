"""Event history and the run inspector."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from relayflow.redact import MASK, mask_payloads
from relayflow.sdk import discover
from relayflow.server.ui import queries
from relayflow.server.ui.web import UI
from relayflow.steps import ActionStep, walk
from relayflow.store import history, iterations
from relayflow.store.workflows import list_workflows
from relayflow.users.sessions import Session
from relayflow.workflows import WorkflowError

PAGE = 50


ITERATION_PAGE = 20  # iterations of a loop shown at once in the inspector


def secret_inputs(ui: UI, run: dict[str, Any]) -> dict[str, set[str]]:
    """Per step name, the inputs its action declares secret (masked when shown)."""
    key = run["version"] or -run["draft"]
    try:
        definition, _source = ui.runtime.workflows.revision(run["workflow"], key)
    except WorkflowError:
        return {}
    found: dict[str, set[str]] = {}
    registry = discover()
    for step in walk(definition.steps):
        action = registry.action(step.uses) if isinstance(step, ActionStep) else None
        names = action.secret_inputs() if action else set()
        if names:
            found[step.name] = names
    return found


def mask(inputs: Any, secret: set[str]) -> Any:
    if not secret or not isinstance(inputs, dict):
        return inputs
    return {k: (MASK if k in secret and v not in (None, "") else v) for k, v in inputs.items()}


def add_routes(router: APIRouter, ui: UI) -> None:
    db = ui.db

    @router.get("/runs", include_in_schema=False)
    def runs_page(
        request: Request,
        workflow: str = "",
        status: str = "",
        since: str = "",
        q: str = "",
        before: float | None = None,
        replayed: int | None = None,
        kind: str = "",
        session: Session = Depends(ui.signed_in),
    ) -> Response:
        hidden = ui.runtime.config.mask_for_viewers and ui.users.role(session.user) == "viewer"
        if hidden:
            q = ""  # payloads are hidden from viewers, so is searching them
        workflows = list_workflows(db)
        by_name = {w.name: w for w in workflows}
        chosen = by_name.get(workflow)
        where = queries.RunFilter(
            workflow_id=chosen.id if chosen else None,
            status=status if status in queries.STATUSES else None,
            since=since if since in queries.SINCE else None,
            q=q.strip(),
            before=before,
            test={"live": False, "test": True}.get(kind),
        )
        found = queries.find_runs(db, where, PAGE + 1)
        more = len(found) > PAGE
        found = found[:PAGE]
        unknown = bool(workflow) and chosen is None
        return ui.render(
            request,
            "runs.html",
            session,
            runs=found,
            more=more,
            next_before=found[-1]["created_at"] if more else None,
            workflows=workflows,
            workflow=workflow,
            status=where.status or "",
            since=where.since or "",
            kind=kind if kind in ("live", "test") else "",
            q=where.q,
            paged=before is not None,
            statuses=queries.STATUSES,
            since_choices=[
                ("", "Any time"),
                ("1h", "Last hour"),
                ("24h", "Last 24 hours"),
                ("7d", "Last 7 days"),
                ("30d", "Last 30 days"),
            ],
            unknown_workflow=unknown,
            replayed=replayed,
        )

    @router.get("/runs/{run_id}", include_in_schema=False)
    def run_page(run_id: str, request: Request, session: Session = Depends(ui.signed_in)):
        """The inspector; the start of a run's id (as `relayflow runs` shows it) opens it."""
        try:
            full = history.resolve_run_id(db, run_id)
        except history.UnknownRun as exc:
            raise HTTPException(404, exc.message) from None
        if full != run_id:
            return RedirectResponse(f"/runs/{full}", 303)
        run = history.get_run(db, run_id)
        if run is None:
            raise HTTPException(404, f"no run {run_id}")
        secrets = secret_inputs(ui, run)
        for step in run["steps"]:
            step["inputs"] = mask(step["inputs"], secrets.get(step["step_name"], set()))
            offset = request.query_params.get(f"iterations.{step['step_index']}", "0")
            offset = max(0, int(offset)) if offset.isdigit() else 0
            total, rows = iterations.page(db, run_id, step["step_index"], offset, ITERATION_PAGE)
            if total:  # a loop or parallel block: its iterations, a page at a time
                step["iterations"] = {
                    "total": total,
                    "offset": offset,
                    "rows": [r.shown() for r in rows],
                    "page": ITERATION_PAGE,
                }
        if ui.runtime.config.mask_for_viewers and ui.users.role(session.user) == "viewer":
            run = mask_payloads(run)
        others = [r for r in queries.runs_of_event(db, run["event_id"]) if r["id"] != run_id]
        return ui.render(
            request,
            "run.html",
            session,
            run=run,
            others=others,
            duration=run["finished_at"] - (run["started_at"] or run["created_at"])
            if run["finished_at"]
            else None,
        )
