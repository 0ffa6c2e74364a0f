"""Assembling the ASGI app around a Runtime."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import generate_latest
from starlette.routing import Route

from relayflow import metrics
from relayflow.accounts.api import make_accounts_api
from relayflow.datastores.api import make_stores_api
from relayflow.runtime import Runtime
from relayflow.server.api import make_api
from relayflow.server.auth import load_or_create_token, require_token
from relayflow.server.hooks import make_hook_endpoint
from relayflow.server.ui import make_ui
from relayflow.store import history

HOOK_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def create_app(runtime: Runtime) -> FastAPI:
    token = load_or_create_token(runtime.config.api_token_file)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="relayflow",
        version="0.1.0",
        description="Self-hosted workflow automation with CleverTap built in.",
        lifespan=lifespan,
    )
    app.router.routes.append(
        Route("/hooks/{path:path}", make_hook_endpoint(runtime), methods=HOOK_METHODS)
    )
    signed_in = [Depends(require_token(token, runtime.db))]
    app.include_router(make_api(runtime), dependencies=signed_in)
    app.include_router(make_accounts_api(runtime.db, runtime.config), dependencies=signed_in)
    app.include_router(make_stores_api(runtime.db, runtime.writer), dependencies=signed_in)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        return JSONResponse({"ok": True, "workflows": len(runtime.catalog.workflows)})

    @app.get("/metrics", include_in_schema=False)
    def metrics_endpoint() -> Response:
        metrics.queue_depth.set(history.queue_depth(runtime.db))
        return Response(generate_latest(metrics.registry), media_type="text/plain; version=0.0.4")

    app.include_router(make_ui(runtime))  # the web UI at /, /workflows, /runs, …

    return app
