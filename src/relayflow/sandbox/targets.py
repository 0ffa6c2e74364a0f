"""Campaigns: POST /1/targets/{create,list,result,stop}.json.

The sandbox sends nothing. A target whose `when` is "now" (or absent) counts as completed at
once; one scheduled for a later "YYYYMMDD HH:MM" (UTC) stays scheduled until then and can be
stopped. `estimate_only` answers the reach without creating a target; the reach is the number
of profiles that raised `where.event_name` between `where.from` and `where.to`, or all profiles.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from relayflow.sandbox.store import SandboxStore
from relayflow.sandbox.web import (
    ApiError,
    JSONResponse,
    account_of,
    day_range,
    json_object,
    read_json,
    state_of,
)

TARGET_MODES = ("push", "webpush", "email", "sms", "whatsapp", "webhook")
NOT_COMPLETED = {"error": "This target hasn't been completed", "status": "fail"}


async def create(request: Request) -> JSONResponse:
    payload = json_object(await read_json(request), "The target")
    name = payload.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ApiError('A target needs a "name"')
    where, segment = payload.get("where"), payload.get("segment")
    if where is None and segment is None:
        raise ApiError('A target needs "where" (who to send to) or "segment": "all"')
    if where is not None and segment is not None:
        raise ApiError('Give "where" or "segment", not both')
    if segment is not None and segment != "all":
        raise ApiError(f'segment is {segment!r}; the only segment value is "all"')
    if where is not None:
        json_object(where, "where")
    mode = payload.get("target_mode")
    if mode is not None and mode not in TARGET_MODES:
        raise ApiError(f"target_mode is {mode!r}; use one of {', '.join(TARGET_MODES)}")
    if "content" in payload:
        json_object(payload["content"], "content")
    now = int(time.time())
    scheduled_at = _scheduled_at(payload.get("when"), now)
    store = state_of(request).store
    account = account_of(request)
    estimate = await run_in_threadpool(_reach, store, account, where or {})
    devices = payload.get("devices") or ["android", "ios"]
    estimates = {str(device): estimate for device in devices}
    if payload.get("estimate_only"):
        return JSONResponse({"status": "success", "estimates": estimates})
    target_id = await run_in_threadpool(
        store.create_target, account, name, payload, estimate, now, scheduled_at
    )
    return JSONResponse({"status": "success", "id": target_id, "estimates": estimates})


async def list_targets(request: Request) -> JSONResponse:
    query = json_object(await read_json(request, default={}), "The list query")
    start, end = day_range(query, required=False)
    store = state_of(request).store
    targets = await run_in_threadpool(store.targets, account_of(request), start, end)
    now = int(time.time())
    return JSONResponse(
        {"status": "success", "targets": [_summary(target, now) for target in targets]}
    )


async def result(request: Request) -> JSONResponse:
    target = await _target_of(request)
    status = _status(target, int(time.time()))
    if status == "scheduled":
        return JSONResponse(NOT_COMPLETED)
    sent = target["estimate"] if status == "completed" else 0
    stats = {"sent": sent, "viewed": 0, "clicked": 0, "errors": 0, "estimate": target["estimate"]}
    return JSONResponse(
        {
            "status": "success",
            "result": {"id": target["id"], "name": target["name"], "status": status, **stats},
        }
    )


async def stop(request: Request) -> JSONResponse:
    target = await _target_of(request)
    status = _status(target, int(time.time()))
    if status != "scheduled":
        raise ApiError(f"Target {target['id']} is {status}; only a scheduled target can be stopped")
    store = state_of(request).store
    await run_in_threadpool(store.set_target_status, account_of(request), target["id"], "stopped")
    return JSONResponse({"status": "success"})


async def _target_of(request: Request) -> dict[str, Any]:
    """The target named by the body's `id`; not found answers 200 with a fail body, code 404."""
    body = json_object(await read_json(request), "The request")
    target_id = body.get("id")
    if isinstance(target_id, str) and target_id.isdigit():
        target_id = int(target_id)
    if not isinstance(target_id, int) or isinstance(target_id, bool):
        raise ApiError(f'Give the target "id" as a number, got {target_id!r}')
    store = state_of(request).store
    target = await run_in_threadpool(store.target, account_of(request), target_id)
    if target is None:
        raise ApiError(f"Target {target_id} not found; list targets to see their ids", 404, 200)
    return target


def _reach(store: SandboxStore, account: str, where: dict[str, Any]) -> int:
    name = where.get("event_name")
    if not isinstance(name, str) or not name:
        return store.count_profiles(account)
    start, end = day_range(where, required=False)
    return store.count_event_profiles(account, name, start, end)


def _scheduled_at(when: Any, now: int) -> int:
    if when is None or when == "now" or isinstance(when, dict):
        return now
    try:
        moment = datetime.strptime(str(when), "%Y%m%d %H:%M").replace(tzinfo=UTC)
    except ValueError:
        raise ApiError(f'when is {when!r}; use "now" or "YYYYMMDD HH:MM"') from None
    return int(moment.timestamp())


def _status(target: dict[str, Any], now: int) -> str:
    if target["status"] == "stopped":
        return "stopped"
    return "scheduled" if target["scheduled_at"] > now else "completed"


def _summary(target: dict[str, Any], now: int) -> dict[str, Any]:
    scheduled = datetime.fromtimestamp(target["scheduled_at"], UTC).strftime("%Y%m%d %H:%M")
    return {
        "id": target["id"],
        "name": target["name"],
        "status": _status(target, now),
        "scheduled_on": scheduled,
    }


routes = [
    Route("/1/targets/create.json", create, methods=["POST"]),
    Route("/1/targets/list.json", list_targets, methods=["POST"]),
    Route("/1/targets/result.json", result, methods=["POST"]),
    Route("/1/targets/stop.json", stop, methods=["POST"]),
]
