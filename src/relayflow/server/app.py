"""Assembling the ASGI app around a Runtime."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import generate_latest
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from relayflow import metrics
from relayflow.accounts.store import AccountStore
from relayflow.runtime import Runtime
from relayflow.server.api import ROUTERS, add_error_handlers
from relayflow.server.auth import audit_actor, load_or_create_token, require_token
from relayflow.server.hooks import make_hook_endpoint
from relayflow.server.ui import make_ui
from relayflow.store import history
from relayflow.users.store import UserStore

HOOK_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


class HooksFirst:
    """Webhooks skip FastAPI's middleware and routing: on the ingest hot path that stack
    costs more CPU than storing the event. Everything else goes to the FastAPI app."""

    def __init__(self, app: FastAPI, hook: Callable[[Request], Awaitable[Response]]) -> None:
        self.app = app
        self.hook = hook

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/hooks/"):
            scope["path_params"] = {"path": scope["path"][len("/hooks/") :]}
            response = await self.hook(Request(scope, receive))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def create_asgi(runtime: Runtime) -> HooksFirst:
    """The application `relayflow up` and `relayflow server` serve."""
    return HooksFirst(create_app(runtime), make_hook_endpoint(runtime))


def create_app(runtime: Runtime) -> FastAPI:
    token = load_or_create_token(runtime.config.api_token_file)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    docs = runtime.config.api_docs
    app = FastAPI(
        title="relayflow",
        version="0.1.0",
        description="Self-hosted workflow automation with CleverTap built in.",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.router.routes.append(
        Route("/hooks/{path:path}", make_hook_endpoint(runtime), methods=HOOK_METHODS)
    )
    app.state.runtime = runtime
    app.state.account_store = AccountStore(runtime.db, runtime.config)
    app.state.users = UserStore(runtime.db)
    add_error_handlers(app)
    signed_in = [Depends(require_token(token, runtime.db)), Depends(audit_actor)]
    for router in ROUTERS:
        app.include_router(router, dependencies=signed_in)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        return JSONResponse({"ok": True, "workflows": len(runtime.catalog.workflows)})

    metrics_token = runtime.config.metrics_token

    @app.get("/metrics", include_in_schema=False)
    async def metrics_endpoint(request: Request) -> Response:
        if metrics_token and not _bearer_matches(request, metrics_token):
            return JSONResponse(
                {"detail": "/metrics needs `Authorization: Bearer <RELAYFLOW_METRICS_TOKEN>`"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        metrics.queue_depth.set(await asyncio.to_thread(history.queue_depth, runtime.db))
        merged = metrics.Merged(await runtime.worker_metrics())
        return Response(generate_latest(merged), media_type="text/plain; version=0.0.4")

    # the web UI at /, /workflows, /runs, …
    app.include_router(make_ui(runtime), dependencies=[Depends(audit_actor)])

    return app


def _bearer_matches(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)
