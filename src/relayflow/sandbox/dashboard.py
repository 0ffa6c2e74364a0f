"""The sandbox dashboard: profiles, one profile with its events and messages, event counts.

Server-rendered pages with no auth (the sandbox binds to 127.0.0.1). `?account=` picks the
account when the sandbox has several.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from relayflow.sandbox.web import state_of

PAGE_SIZE = 50
EVENTS_SHOWN = 200
MESSAGES_SHOWN = 50
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _when(epoch: int | None) -> str:
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


templates.env.filters["when"] = _when
templates.env.filters["json"] = _json


def _account(request: Request) -> str:
    accounts = state_of(request).accounts
    account = request.query_params.get("account") or next(iter(accounts))
    if account not in accounts:
        raise HTTPException(404, f"No account {account!r} in this sandbox")
    return account


def _page(request: Request, name: str, account: str, **context: Any) -> Response:
    state = state_of(request)
    base = {"account": account, "accounts": list(state.accounts), "base_url": _base_url(request)}
    return templates.TemplateResponse(request, name, {**base, **context})


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


async def profiles_page(request: Request) -> Response:
    account = _account(request)
    text = request.query_params.get("q", "").strip()
    raw_page = request.query_params.get("page", "1")
    page = max(int(raw_page), 1) if raw_page.isdigit() else 1
    store = state_of(request).store
    profiles = await run_in_threadpool(
        store.search_profiles, account, text, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE
    )
    has_next = len(profiles) > PAGE_SIZE
    profiles = profiles[:PAGE_SIZE]
    pks = [p.pk for p in profiles]
    summaries = await run_in_threadpool(store.event_summaries, pks)
    sent = await run_in_threadpool(store.message_counts, pks)
    rows = [(p, sum(s.count for s in summaries[p.pk]), sent.get(p.pk, 0)) for p in profiles]
    total = await run_in_threadpool(store.count_profiles, account)
    return _page(
        request,
        "profiles.html",
        account,
        rows=rows,
        q=text,
        page=page,
        has_next=has_next,
        total=total,
    )


async def profile_page(request: Request) -> Response:
    account = _account(request)
    store = state_of(request).store
    object_id = request.path_params["object_id"]
    profile = await run_in_threadpool(store.find_profile, account, "object_id", object_id)
    if profile is None or profile.pk is None:
        raise HTTPException(404, f"No profile {object_id!r} in account {account}")
    summaries = await run_in_threadpool(store.event_summaries, [profile.pk])
    events = await run_in_threadpool(store.events_of_profile, profile.pk, EVENTS_SHOWN)
    messages = await run_in_threadpool(store.messages_of_profile, profile.pk, MESSAGES_SHOWN)
    return _page(
        request,
        "profile.html",
        account,
        profile=profile,
        summaries=summaries[profile.pk],
        events=events,
        events_shown=EVENTS_SHOWN,
        messages=messages,
        messages_shown=MESSAGES_SHOWN,
    )


async def analytics_page(request: Request) -> Response:
    account = _account(request)
    raw_days = request.query_params.get("days", "14")
    days = min(max(int(raw_days), 1), 90) if raw_days.isdigit() else 14
    store = state_of(request).store
    last = await run_in_threadpool(store.last_event_ts, account)
    end = datetime.fromtimestamp(last or time.time(), UTC).date()
    day_list = [(end - timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]
    since = int(datetime.fromisoformat(day_list[0]).replace(tzinfo=UTC).timestamp())
    counts = await run_in_threadpool(store.daily_event_counts, account, since)
    table: dict[str, dict[str, int]] = {}
    for name, day, count in counts:
        table.setdefault(name, {})[day] = count
    names = sorted(table, key=lambda n: (-sum(table[n].values()), n))
    peak = max((c for _, _, c in counts), default=0)
    return _page(
        request,
        "analytics.html",
        account,
        days=day_list,
        names=names,
        table=table,
        peak=peak,
        day_choices=(7, 14, 30, 90),
        day_count=days,
        stats=state_of(request).stats.snapshot(),
    )


routes = [
    Route("/", profiles_page, methods=["GET"]),
    Route("/profiles/{object_id:path}", profile_page, methods=["GET"]),
    Route("/analytics", analytics_page, methods=["GET"]),
]
