"""Workflow pages: the list, the builder, export, duplicate, delete, diffs, replaying failures.

The builder itself is JavaScript (static/builder.js) working on the workflow as JSON and
calling the API to test drafts and deploy; this module gives it its starting data.
"""

from __future__ import annotations

import os
import re
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from relayflow.model.workflow import Workflow
from relayflow.sdk import discover
from relayflow.server.api.library import preview
from relayflow.server.ui import queries
from relayflow.server.ui.web import UI
from relayflow.store.events import recent_events
from relayflow.users.sessions import Session
from relayflow.workflows import WorkflowError, as_yaml, pruned

SAMPLE_BODY = {
    "user_id": "u-1001",
    "email": "ada@example.com",
    "name": "Ada Lovelace",
    "phone": "+14155550100",
    "plan": "pro",
}


def sample_event(definition: dict[str, Any]) -> dict[str, Any]:
    trigger = definition.get("trigger") or {}
    source = discover().source((trigger.get("source") or {}).get("uses") or "")
    if source is not None:
        return source.sample_event()
    if trigger.get("http"):
        path = trigger["http"].get("path") or "signup"
        return {
            "method": "POST",
            "path": f"/{path}",
            "query": {},
            "headers": {"content-type": "application/json"},
            "body": SAMPLE_BODY,
        }
    if trigger.get("schedule"):
        return {"timestamp": "2026-01-01T09:00:00+00:00", "missed_ticks": 0}
    return {"body": SAMPLE_BODY}


def public_url(request: Request) -> str:
    return os.environ.get("RELAYFLOW_PUBLIC_URL") or str(request.base_url).rstrip("/")


def account_data(ui: UI) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Connected accounts (public fields only) and apps with their account fields."""
    try:
        from relayflow.accounts.store import AccountStore
    except ImportError:  # accounts are an optional part
        return [], []
    store = AccountStore(ui.db, ui.runtime.config)
    apps = [a.schema() for a in sorted(store.apps.values(), key=lambda a: a.key)]
    return [a.public() for a in store.list()], apps


def code_steps_warning(ui: UI) -> str | None:
    """What happens to code steps here when they cannot be isolated (None when they can):
    "are refused: ..." or "run WITHOUT isolation ...", for the pages' warning."""
    runtime = ui.runtime
    if runtime.code_isolation.available:
        return None
    status = runtime.code_steps_status
    return f"are {status}" if status.startswith("refused") else status


def has_code_steps(steps: Any) -> bool:
    """Whether `steps` (a definition's, with its branches) hold a code step."""
    for step in steps if isinstance(steps, list) else []:
        if not isinstance(step, dict):
            continue
        if "code" in step or "code_file" in step:
            return True
        nested = [step.get("then"), step.get("else"), step.get("default")]
        nested += list((step.get("cases") or {}).values())
        if any(has_code_steps(branch) for branch in nested):
            return True
    return False


def _copy_name(ui: UI, name: str) -> str:
    base = re.sub(r"-copy(-\d+)?$", "", name)
    for n in range(1, 1000):
        candidate = f"{base}-copy" if n == 1 else f"{base}-copy-{n}"
        if ui.runtime.workflows.find(candidate[:100]) is None:
            return candidate[:100]
    raise HTTPException(409, f"too many copies of {name}")


def add_routes(router: APIRouter, ui: UI) -> None:
    db = ui.db
    workflows = ui.runtime.workflows

    def find(name: str) -> Any:
        try:
            return workflows.get(name)
        except WorkflowError as exc:
            raise HTTPException(exc.status, exc.message) from None

    @router.get("/workflows", include_in_schema=False)
    def workflows_page(request: Request, session: Session = Depends(ui.signed_in)) -> Response:
        listings = queries.workflow_listings(db)
        return ui.render(
            request,
            "workflows.html",
            session,
            listings=listings,
            describe=queries.describe_trigger,
            code_steps_warning=code_steps_warning(ui),
        )

    @router.get("/workflows/new", include_in_schema=False)
    def new_workflow(request: Request, session: Session = Depends(ui.signed_in)) -> Response:
        definition = {"name": "", "trigger": {"http": {"path": ""}}, "steps": []}
        return builder(request, session, None, definition, 0)

    @router.get("/workflows/{name}", include_in_schema=False)
    def workflow_page(
        name: str,
        request: Request,
        version: int | None = None,
        draft: int | None = None,
        session: Session = Depends(ui.signed_in),
    ) -> Response:
        """The builder on `version` or `draft`; by default the deployed version (or, before
        the first deploy, the newest draft)."""
        row = find(name)
        try:
            if draft is not None:
                key = -draft
                definition = pruned(workflows.draft_version(name, draft)[0])
            else:
                key = version or workflows.shown_key(name)
                definition = pruned(workflows.revision(name, key)[0]) if key else {}
        except WorkflowError as exc:
            raise HTTPException(exc.status, exc.message) from None
        return builder(request, session, row, definition, key)

    def builder(
        request: Request, session: Session, row: Any, definition: dict[str, Any], key: int
    ) -> Response:
        """The builder's page on `definition`, stored under `key` (a version, a draft's
        negative key, or 0 for a new workflow)."""
        accounts, apps = account_data(ui)
        drafts = workflows.drafts(row.name) if row else []
        newest = drafts[0] if drafts else None
        versions = workflows.versions(row.name) if row else []
        deployed_at = next((v["created_at"] for v in versions if v["current"]), 0)
        data = {
            "name": row.name if row else "",
            "exists": row is not None,
            "active": bool(row and row.active),
            "current_version": row.current_version if row else 0,
            "showing_version": key if key > 0 else None,
            "showing_draft": -key if key < 0 else None,
            # A draft tested after the deployed version, and not the one shown.
            "newer_draft": newest["draft"]
            if newest and newest["created_at"] > deployed_at and -key != newest["draft"]
            else None,
            "versions": versions,
            "drafts": drafts,
            "definition": definition,
            "sample_event": sample_event(definition),
            "recent_events": recent_events(db, row.id) if row else [],
            "public_url": public_url(request),
            "actions": [a.schema() for a in discover().search_actions()],
            "sources": [
                {**s.schema(), "sample_event": s.sample_event()}
                for s in discover().search_sources()
            ],
            "accounts": accounts,
            "apps": apps,
        }
        return ui.render(
            request,
            "builder.html",
            session,
            title=row.name if row else "New workflow",
            data=data,
            row=row,
            code_steps_warning=code_steps_warning(ui)
            if has_code_steps(definition.get("steps"))
            else None,
        )

    @router.get("/workflows/{name}/export", include_in_schema=False)
    def export(name: str, request: Request, session: Session = Depends(ui.signed_in)) -> Response:
        find(name)
        return Response(
            workflows.export(name),
            media_type="application/yaml; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.yaml"'},
        )

    @router.get("/workflows/{name}/diff", include_in_schema=False)
    def diff(
        name: str,
        request: Request,
        a: int,
        b: int,
        session: Session = Depends(ui.signed_in),
    ) -> Response:
        """Lines of version `b` compared with version `a`, as an HTML fragment."""
        find(name)
        try:
            lines = workflows.diff(name, a, b)
        except WorkflowError as exc:
            raise HTTPException(exc.status, exc.message) from None
        return ui.render(request, "_diff.html", session, lines=lines, a=a, b=b)

    @router.post("/workflows/{name}/duplicate", include_in_schema=False)
    async def duplicate(
        name: str, request: Request, session: Session = Depends(ui.signed_in)
    ) -> Response:
        ui.check_form(session, await request.form())
        find(name)
        data = pruned(workflows.revision(name, workflows.shown_key(name))[0])
        data["name"] = _copy_name(ui, name)
        http = (data.get("trigger") or {}).get("http")
        if http:  # two workflows cannot listen on one path: the copy's path gets its suffix
            suffix = re.search(r"-copy(-\d+)?$", data["name"]).group(0)  # type: ignore[union-attr]
            http["path"] = re.sub(r"-copy(-\d+)?$", "", http["path"]) + suffix
        copy = Workflow.model_validate(data)
        workflows.store_draft(copy, as_yaml(copy))  # a copy starts as a draft
        return RedirectResponse(f"/workflows/{copy.name}", 303)

    @router.post("/workflows/{name}/delete", include_in_schema=False)
    async def delete(
        name: str, request: Request, session: Session = Depends(ui.signed_in)
    ) -> Response:
        ui.check_form(session, await request.form())
        find(name)
        workflows.delete(name)
        return RedirectResponse("/workflows?deleted=" + name, 303)

    @router.post("/workflows/{name}/replay-failed", include_in_schema=False)
    async def replay_failed(
        name: str, request: Request, session: Session = Depends(ui.signed_in)
    ) -> Response:
        ui.check_form(session, await request.form())
        row = find(name)
        replayed = len(await ui.runtime.replay_failed(row.id))
        return RedirectResponse(f"/runs?workflow={name}&replayed={replayed}", 303)

    @router.get("/ui/schedule-preview", include_in_schema=False)
    def schedule_preview(
        cron: str = "",
        interval: str = "",
        timezone: str = "UTC",
        session: Session = Depends(ui.signed_in_json),
    ) -> JSONResponse:
        """The next five times a schedule fires, or what is wrong with it."""
        found = preview(cron, interval, timezone)
        if isinstance(found, str):
            return JSONResponse({"ok": False, "error": found})
        return JSONResponse({"ok": True, "times": found["shown"], "timezone": found["timezone"]})
