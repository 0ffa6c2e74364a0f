"""Sandbox-only endpoints under /_sandbox/: faults, reset, stats, health. No auth.

POST /_sandbox/faults {"error_rate", "latency_ms", "status", "fail_next", "seed"} changes the
faults of the running sandbox (GET shows them). POST /_sandbox/reset wipes data, stats and
faults back to how the sandbox started; `{"what": ["stats"]}` resets only some of them, and
`{"account": ID}` limits the data wipe to one account. GET /_sandbox/stats counts the
CleverTap API requests received. GET /_sandbox/messages lists the messages the sandbox
recorded as sent (`?identity=`, `email=` or `objectId=` for one user's; `limit`, default 100).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from relayflow.sandbox.faults import Faults
from relayflow.sandbox.web import ApiError, JSONResponse, json_object, read_json, state_of

RESETTABLE = ("data", "stats", "faults")


async def faults(request: Request) -> JSONResponse:
    state = state_of(request)
    if request.method == "POST":
        changes = json_object(await read_json(request), "The faults body")
        try:
            state.faults.update(changes)
        except (TypeError, ValueError) as exc:
            raise ApiError(str(exc)) from None
    return JSONResponse({"status": "success", "faults": state.faults.settings()})


async def reset(request: Request) -> JSONResponse:
    state = state_of(request)
    body = json_object(await read_json(request, default={}), "The reset body")
    what = body.get("what", list(RESETTABLE))
    if not isinstance(what, list) or not set(what) <= set(RESETTABLE):
        raise ApiError(f'"what" must be a list drawn from {", ".join(RESETTABLE)}')
    account = body.get("account")
    if account is not None and account not in state.accounts:
        raise ApiError(f"Unknown account {account!r}; the sandbox has {', '.join(state.accounts)}")
    if "data" in what:
        state.store.wipe(account)
        state.cursors.clear()
    if "stats" in what:
        state.stats.clear()
    if "faults" in what:
        state.faults = Faults(**state.initial_faults)
    return JSONResponse({"status": "success", "reset": what})


async def stats(request: Request) -> JSONResponse:
    state = state_of(request)
    return JSONResponse({**state.stats.snapshot(), "faults": state.faults.settings()})


async def messages(request: Request) -> JSONResponse:
    state = state_of(request)
    query = request.query_params
    account = query.get("account") or next(iter(state.accounts))
    if account not in state.accounts:
        raise ApiError(f"Unknown account {account!r}; the sandbox has {', '.join(state.accounts)}")
    raw_limit = query.get("limit", "100")
    limit = min(int(raw_limit), 10_000) if raw_limit.isdigit() else 100
    profile_pk = None
    for key, column in (("identity", "identity"), ("email", "email"), ("objectId", "object_id")):
        if query.get(key):
            found = await run_in_threadpool(state.store.find_profile, account, column, query[key])
            if found is None or found.pk is None:
                return JSONResponse({"status": "success", "messages": []})
            profile_pk = found.pk
    listed = await run_in_threadpool(state.store.recent_messages, account, limit, profile_pk)
    return JSONResponse({"status": "success", "messages": listed})


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "success", "accounts": list(state_of(request).accounts)})


routes = [
    Route("/_sandbox/faults", faults, methods=["GET", "POST"]),
    Route("/_sandbox/reset", reset, methods=["POST"]),
    Route("/_sandbox/stats", stats, methods=["GET"]),
    Route("/_sandbox/messages", messages, methods=["GET"]),
    Route("/_sandbox/health", health, methods=["GET"]),
]
