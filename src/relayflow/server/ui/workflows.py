"""Workflow pages: the list, the builder, export, duplicate, delete, diffs, replaying failures.

The builder itself is JavaScript (static/builder.js) working on the workflow as JSON and
calling the API to test drafts and deploy; this module gives it its starting data.
"""

from __future__ import annotations

import difflib
import os
import re
import time
from typing import Any

import yaml
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError

from relayflow.engine.actions import discover
from relayflow.model.workflow import ScheduleTrigger, Workflow
from relayflow.server.ui import queries
from relayflow.server.ui.web import UI
from relayflow.store.workflows import (
    delete_workflow,
    deploy,
    get_version,
    get_workflow,
    list_versions,
)
from relayflow.users.sessions import Session

SAMPLE_BODY = {
    "user_id": "u-1001",
    "email": "ada@example.com",
    "name": "Ada Lovelace",
    "phone": "+14155550100",
    "plan": "pro",
}


def pruned(workflow: Workflow) -> dict[str, Any]:
    """The workflow as its author would write it: no defaults, no empty fields."""
    return workflow.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def as_yaml(workflow: Workflow) -> str:
    return yaml.safe_dump(pruned(workflow), sort_keys=False, allow_unicode=True, width=100)


def sample_event(definition: dict[str, Any]) -> dict[str, Any]:
    trigger = definition.get("trigger") or {}
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
        from relayflow.accounts.store import AccountStore, app_schema
    except ImportError:  # accounts are an optional part
        return [], []
    store = AccountStore(ui.db, ui.runtime.config)
    apps = [app_schema(a) for a in sorted(store.apps.values(), key=lambda a: a.key)]
    return [a.public() for a in store.list()], apps


def _copy_name(ui: UI, name: str) -> str:
    base = re.sub(r"-copy(-\d+)?$", "", name)
    for n in range(1, 1000):
        candidate = f"{base}-copy" if n == 1 else f"{base}-copy-{n}"
        if get_workflow(ui.db, candidate[:100]) is None:
            return candidate[:100]
    raise HTTPException(409, f"too many copies of {name}")


def add_routes(router: APIRouter, ui: UI) -> None:
    db = ui.db

    def find(name: str) -> Any:
        row = get_workflow(db, name)
        if row is None:
            raise HTTPException(404, f"no workflow named {name!r}")
        return row

    @router.get("/workflows", include_in_schema=False)
    def workflows_page(request: Request, session: Session = Depends(ui.signed_in)) -> Response:
        listings = queries.workflow_listings(db)
        return ui.render(
            request,
            "workflows.html",
            session,
            listings=listings,
            describe=queries.describe_trigger,
        )

    @router.get("/workflows/new", include_in_schema=False)
    def new_workflow(request: Request, session: Session = Depends(ui.signed_in)) -> Response:
        definition = {"name": "", "trigger": {"http": {"path": ""}}, "steps": []}
        return builder(request, session, None, definition, [], 0, 0)

    @router.get("/workflows/{name}", include_in_schema=False)
    def workflow_page(
        name: str,
        request: Request,
        version: int | None = None,
        session: Session = Depends(ui.signed_in),
    ) -> Response:
        """The builder on `version`; by default the deployed one (or the newest draft)."""
        row = find(name)
        versions = list_versions(db, row.id)
        newest = versions[0]["version"] if versions else 0
        showing = version or row.current_version or newest
        try:
            definition = pruned(get_version(db, row.id, showing)[0]) if showing else {}
        except KeyError:
            raise HTTPException(404, f"{name} has no version {version}") from None
        return builder(request, session, row, definition, versions, showing, newest)

    def builder(
        request: Request,
        session: Session,
        row: Any,
        definition: dict[str, Any],
        versions: list[dict[str, Any]],
        showing: int,
        newest: int,
    ) -> Response:
        accounts, apps = account_data(ui)
        data = {
            "name": row.name if row else "",
            "exists": row is not None,
            "active": bool(row and row.active),
            "current_version": row.current_version if row else 0,
            "showing": showing,
            # A version newer than both the deployed one and the one shown: a tested draft.
            "newer_version": newest if row and newest > max(row.current_version, showing) else None,
            "versions": versions,
            "definition": definition,
            "sample_event": sample_event(definition),
            "recent_events": queries.recent_events(db, row.id) if row else [],
            "public_url": public_url(request),
            "actions": [a.schema() for a in sorted(discover().values(), key=lambda a: a.key)],
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
        )

    @router.get("/workflows/{name}/export", include_in_schema=False)
    def export(name: str, request: Request, session: Session = Depends(ui.signed_in)) -> Response:
        row = find(name)
        version = row.current_version or list_versions(db, row.id)[0]["version"]
        workflow, _source = get_version(db, row.id, version)
        return Response(
            as_yaml(workflow),
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
        row = find(name)
        try:
            old, new = (as_yaml(get_version(db, row.id, v)[0]) for v in (a, b))
        except KeyError:
            raise HTTPException(404, f"{name} has no version {a} or {b}") from None
        lines = list(
            difflib.unified_diff(
                old.splitlines(), new.splitlines(), f"version {a}", f"version {b}", lineterm=""
            )
        )
        return ui.render(request, "_diff.html", session, lines=lines, a=a, b=b)

    @router.post("/workflows/{name}/duplicate", include_in_schema=False)
    async def duplicate(
        name: str, request: Request, session: Session = Depends(ui.signed_in)
    ) -> Response:
        ui.check_form(session, await request.form())
        row = find(name)
        version = list_versions(db, row.id)[0]["version"]
        data = pruned(get_version(db, row.id, version)[0])
        data["name"] = _copy_name(ui, name)
        http = (data.get("trigger") or {}).get("http")
        if http:  # two workflows cannot listen on one path: the copy's path gets its suffix
            suffix = re.search(r"-copy(-\d+)?$", data["name"]).group(0)  # type: ignore[union-attr]
            http["path"] = re.sub(r"-copy(-\d+)?$", "", http["path"]) + suffix
        copy = Workflow.model_validate(data)
        deploy(db, copy, as_yaml(copy), draft=True)  # a copy starts as a draft
        ui.runtime.catalog.refresh()
        return RedirectResponse(f"/workflows/{copy.name}", 303)

    @router.post("/workflows/{name}/delete", include_in_schema=False)
    async def delete(
        name: str, request: Request, session: Session = Depends(ui.signed_in)
    ) -> Response:
        ui.check_form(session, await request.form())
        row = find(name)
        delete_workflow(db, row.id)
        ui.runtime.catalog.refresh()
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
        from zoneinfo import ZoneInfo

        from relayflow.triggers.schedule import next_ticks

        try:
            trigger = ScheduleTrigger.model_validate(
                {"cron": cron or None, "interval": interval or None, "timezone": timezone or "UTC"}
            )
        except ValidationError as exc:
            problems = [e["msg"].removeprefix("Value error, ") for e in exc.errors()]
            return JSONResponse({"ok": False, "error": "; ".join(problems)})
        from datetime import datetime

        zone = ZoneInfo(trigger.timezone)
        times = [
            datetime.fromtimestamp(t, zone).strftime("%a %Y-%m-%d %H:%M:%S %Z")
            for t in next_ticks(trigger, time.time(), 5)
        ]
        return JSONResponse({"ok": True, "times": times, "timezone": trigger.timezone})
