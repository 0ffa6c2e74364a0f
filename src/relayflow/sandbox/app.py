"""Build the CleverTap sandbox ASGI app: API, sandbox admin endpoints and dashboard."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from relayflow.apps.clevertap.rules import MAX_CONCURRENT_REQUESTS
from relayflow.sandbox import admin, dashboard, profiles, queries, sends, targets, upload
from relayflow.sandbox.cursors import Cursors
from relayflow.sandbox.faults import Faults
from relayflow.sandbox.gate import API_PREFIXES, ApiGate
from relayflow.sandbox.state import SandboxState
from relayflow.sandbox.stats import Stats
from relayflow.sandbox.store import SandboxStore
from relayflow.sandbox.web import ApiError, JSONResponse, fail

DEFAULT_ACCOUNTS = {"TEST-RELAYFLOW": "sandbox-passcode"}
DEFAULT_TOKEN = "sandbox-token"
_IMPLEMENTED = (
    "/1/upload, /1/profile.json, /1/profiles.json, /1/events.json, /1/delete/profiles.json, "
    "/1/counts/events.json, /1/counts/profiles.json, /1/targets/{create,list,result,stop}.json, "
    "/1/send/externaltrigger.json, /2/send/externaltrigger.json, "
    "/1/send/{push,webpush,email,sms,whatsapp}.json, /v1/connect"
)


def create_app(
    db_path: str | Path,
    accounts: dict[str, str] | None = None,
    error_rate: float = 0.0,
    latency_ms: int = 0,
    *,
    fail_next: int = 0,
    fault_status: int = 503,
    seed: int | None = None,
    concurrency_limit: int = MAX_CONCURRENT_REQUESTS,
    tokens: dict[str, str] | None = None,
) -> Starlette:
    """A Starlette app that answers like CleverTap's REST API for the given accounts.

    `accounts` maps Account ID to passcode (default: TEST-RELAYFLOW / sandbox-passcode).
    Data is kept in the SQLite file `db_path` (":memory:" works too). `concurrency_limit`
    is how many requests an account may have in flight before a 429 (CleverTap: 15).
    `tokens` maps Account ID to its X-CleverTap-Token (default: "sandbox-token" for each).
    """
    if concurrency_limit < 1:
        raise ValueError(f"concurrency_limit is {concurrency_limit}; use 1 or more requests")
    accounts = dict(accounts or DEFAULT_ACCOUNTS)
    initial_faults = {
        "error_rate": error_rate,
        "latency_ms": latency_ms,
        "status": fault_status,
        "fail_next": fail_next,
        "seed": seed,
    }
    state = SandboxState(
        store=SandboxStore(db_path),
        accounts=accounts,
        faults=Faults(**initial_faults),
        initial_faults=initial_faults,
        stats=Stats(),
        cursors=Cursors(),
        concurrency_limit=concurrency_limit,
        tokens=dict(tokens) if tokens is not None else dict.fromkeys(accounts, DEFAULT_TOKEN),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            state.store.close()

    routes = [
        *upload.routes,
        *profiles.routes,
        *queries.routes,
        *targets.routes,
        *sends.routes,
        Route("/v1/connect", connect, methods=["GET", "POST"]),
        Route("/1/{rest:path}", unknown_endpoint, methods=["GET", "POST", "PUT", "DELETE"]),
        Route("/2/{rest:path}", unknown_endpoint, methods=["GET", "POST", "PUT", "DELETE"]),
        *admin.routes,
        *dashboard.routes,
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(ApiGate, state=state)],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.sandbox = state
    return app


async def connect(request: Request) -> JSONResponse:
    """The credential check; the gate has already refused bad credentials."""
    return JSONResponse({"status": "success"})


async def unknown_endpoint(request: Request) -> JSONResponse:
    for route in request.app.routes:
        if isinstance(route, Route) and route.path == request.url.path and route.methods:
            allowed = ", ".join(sorted(route.methods - {"HEAD"}))
            return fail(f"{request.method} is not allowed on {route.path}; use {allowed}", 405)
    return fail(
        f"{request.url.path} is not an endpoint the relayflow sandbox implements; "
        f"it has {_IMPLEMENTED}",
        404,
    )


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith(API_PREFIXES):
        return fail(f"{exc.detail}: {request.method} {request.url.path}", exc.status_code)
    return PlainTextResponse(str(exc.detail), status_code=exc.status_code)
