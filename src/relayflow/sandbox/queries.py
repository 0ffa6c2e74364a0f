"""Cursor queries (POST or GET /1/profiles.json and /1/events.json) and counts.

A query is sent as a JSON body (POST) or as `?query=<json>` (the old clients' GET form),
with `?batch_size=N` (default 10, at most 5000); the answer is a cursor, and
`GET …?cursor=C` returns one page of records with `next_cursor` until the last page.
Days (`from`, `to`) are UTC.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from relayflow.sandbox.cursors import CursorError
from relayflow.sandbox.shapes import event_record, profile_record
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

MAX_BATCH_SIZE = 5000
DEFAULT_BATCH_SIZE = 10
_OPERATORS = {
    "equals": lambda a, b: a == b,
    "not_equals": lambda a, b: a != b,
    "contains": lambda a, b: isinstance(a, str) and str(b) in a,
    "greater_than": lambda a, b: _numbers(a, b) and a > b,
    "less_than": lambda a, b: _numbers(a, b) and a < b,
    "greater_than_equals": lambda a, b: _numbers(a, b) and a >= b,
    "less_than_equals": lambda a, b: _numbers(a, b) and a <= b,
}


async def events_query(request: Request) -> JSONResponse:
    return await _cursor_query(request, "events")


async def profiles_query(request: Request) -> JSONResponse:
    return await _cursor_query(request, "profiles")


async def _cursor_query(request: Request, kind: str) -> JSONResponse:
    state = state_of(request)
    account = account_of(request)
    cursor = request.query_params.get("cursor")
    if cursor:
        try:
            page = state.cursors.page(account, kind, cursor)
        except CursorError as exc:
            raise ApiError(str(exc)) from None
        load = _load_events if kind == "events" else _load_profiles
        records = await run_in_threadpool(load, state.store, page.pks)
        body: dict[str, Any] = {"status": "success", "records": records}
        if page.previous_cursor:
            body["previous_cursor"] = page.previous_cursor
        if page.next_cursor:
            body["next_cursor"] = page.next_cursor
        return JSONResponse(body)
    query, batch_size = await _query_of(request)
    find = _find_events if kind == "events" else _find_profiles
    pks = await run_in_threadpool(find, state.store, account, query)
    return JSONResponse(
        {"status": "success", "cursor": state.cursors.create(account, kind, pks, batch_size)}
    )


async def _query_of(request: Request) -> tuple[dict[str, Any], int]:
    params = request.query_params
    if "query" in params:
        try:
            query = orjson.loads(params["query"])
        except orjson.JSONDecodeError:
            raise ApiError("?query= is not valid JSON; URL-encode a JSON object") from None
    else:
        query = await read_json(request, default={})
    raw_size = params.get("batch_size", str(DEFAULT_BATCH_SIZE))
    if not raw_size.isdigit() or not 1 <= int(raw_size) <= MAX_BATCH_SIZE:
        raise ApiError(f"batch_size is {raw_size!r}; use a number from 1 to {MAX_BATCH_SIZE}")
    return json_object(query, "The query"), int(raw_size)


def _event_name(query: dict[str, Any], required: bool) -> str | None:
    name = query.get("event_name")
    if name is None and not required:
        return None
    if not isinstance(name, str) or not name:
        raise ApiError('Give "event_name", e.g. {"event_name": "Charged", "from": 20240501, ...}')
    return name


def _find_events(store: SandboxStore, account: str, query: dict[str, Any]) -> list[int]:
    name = _event_name(query, required=True)
    assert name is not None
    start, end = day_range(query)
    pks = store.event_pks(account, name, start, end)
    filters = _filters(query.get("event_properties"))
    if not filters:
        return pks
    return [e.pk for e in store.events_by_pks(pks) if _matches(e.data, filters)]


def _find_profiles(store: SandboxStore, account: str, query: dict[str, Any]) -> list[int]:
    name = _event_name(query, required=False)
    if name is None:
        return store.profile_pks(account)
    start, end = day_range(query)
    return store.profile_pks(account, name, start, end)


def _load_events(store: SandboxStore, pks: list[int]) -> list[dict[str, Any]]:
    events = store.events_by_pks(pks)
    profiles = {p.pk: p for p in store.profiles_by_pks(sorted({e.profile_pk for e in events}))}
    return [event_record(e, profiles.get(e.profile_pk)) for e in events]


def _load_profiles(store: SandboxStore, pks: list[int]) -> list[dict[str, Any]]:
    profiles = store.profiles_by_pks(pks)
    summaries = store.event_summaries(pks)
    return [profile_record(p, summaries.get(p.pk or 0, [])) for p in profiles]


def _filters(raw: Any) -> list[tuple[str, str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ApiError('"event_properties" must be an array of {"name","operator","value"}')
    filters = []
    for item in raw:
        if not isinstance(item, dict) or "name" not in item or "value" not in item:
            raise ApiError(f'Each event_properties item needs "name" and "value", got {item!r}')
        operator = item.get("operator", "equals")
        if operator not in _OPERATORS:
            raise ApiError(
                f"operator {operator!r} is not supported by the sandbox; use "
                + ", ".join(_OPERATORS)
            )
        filters.append((item["name"], operator, item["value"]))
    return filters


def _matches(data: dict[str, Any], filters: list[tuple[str, str, Any]]) -> bool:
    return all(_OPERATORS[op](data.get(name), value) for name, op, value in filters)


def _numbers(*values: Any) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


async def count_events(request: Request) -> JSONResponse:
    """`{"event_name","from","to"}` → `{"status":"success","count":N}` (never `partial`)."""
    query = json_object(await read_json(request), "The count query")
    name = _event_name(query, required=True)
    start, end = day_range(query)
    store = state_of(request).store
    count = await run_in_threadpool(store.count_events, account_of(request), name, start, end)
    return JSONResponse({"status": "success", "count": count})


async def count_profiles(request: Request) -> JSONResponse:
    """Profiles that raised `event_name` between `from` and `to`; all profiles without it."""
    query = json_object(await read_json(request, default={}), "The count query")
    name = _event_name(query, required=False)
    store = state_of(request).store
    account = account_of(request)
    if name is None:
        count = await run_in_threadpool(store.count_profiles, account)
    else:
        start, end = day_range(query)
        count = await run_in_threadpool(store.count_event_profiles, account, name, start, end)
    return JSONResponse({"status": "success", "count": count})


routes = [
    Route("/1/events.json", events_query, methods=["GET", "POST"]),
    Route("/1/profiles.json", profiles_query, methods=["GET", "POST"]),
    Route("/1/counts/events.json", count_events, methods=["POST"]),
    Route("/1/counts/profiles.json", count_profiles, methods=["POST"]),
]
