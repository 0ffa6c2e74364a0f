"""GET /1/profile.json and POST /1/delete/profiles.json."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from relayflow.sandbox.shapes import profile_record
from relayflow.sandbox.web import (
    ApiError,
    JSONResponse,
    account_of,
    json_object,
    read_json,
    state_of,
)

MAX_DELETE = 100
_LOOKUPS = {"identity": "identity", "email": "email", "objectId": "object_id"}


async def get_profile(request: Request) -> JSONResponse:
    """One profile by exactly one of identity, email or objectId.

    Not found answers HTTP 200 with `{"status":"fail","error":"Profile not found","code":404}`.
    """
    given = [key for key in _LOOKUPS if request.query_params.get(key)]
    if len(given) != 1:
        raise ApiError("Pass exactly one of identity, email or objectId, e.g. ?identity=u123")
    key = given[0]
    state = state_of(request)
    store = state.store
    profile = await run_in_threadpool(
        store.find_profile, account_of(request), _LOOKUPS[key], request.query_params[key]
    )
    if profile is None or profile.pk is None:
        raise ApiError("Profile not found", 404, http_status=200)
    summaries = await run_in_threadpool(store.event_summaries, [profile.pk])
    record = profile_record(profile, summaries[profile.pk])
    return JSONResponse({"status": "success", "record": record})


async def delete_profiles(request: Request) -> JSONResponse:
    """Delete by `identity` or `guid` (objectId), a string or up to 100 of them."""
    body = json_object(await read_json(request), "The delete body")
    if "identity" in body and "guid" in body:
        raise ApiError('Send either "identity" or "guid", not both')
    if "identity" not in body and "guid" not in body:
        raise ApiError('Send "identity" or "guid": a string or an array of up to 100')
    key = "identity" if "identity" in body else "guid"
    values = body[key] if isinstance(body[key], list) else [body[key]]
    if not values or not all(isinstance(v, str | int) and v != "" for v in values):
        raise ApiError(f'"{key}" must be a non-empty string or an array of them')
    if len(values) > MAX_DELETE:
        raise ApiError(f'"{key}" has {len(values)} values; send at most {MAX_DELETE} a request')
    column = "identity" if key == "identity" else "object_id"
    await run_in_threadpool(
        state_of(request).store.delete_profiles,
        account_of(request),
        column,
        [str(v) for v in values],
    )
    return JSONResponse({"status": "success"})


routes = [
    Route("/1/profile.json", get_profile, methods=["GET"]),
    Route("/1/delete/profiles.json", delete_profiles, methods=["POST"]),
]
