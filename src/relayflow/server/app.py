"""Assembling the ASGI app around a Runtime."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import generate_latest
from starlette.routing import Route

from relayflow import metrics
from relayflow.runtime import Runtime
from relayflow.server.api import make_api
from relayflow.server.auth import load_or_create_token, require_token
from relayflow.server.hooks import make_hook_endpoint
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
    app.include_router(make_api(runtime), dependencies=[Depends(require_token(token))])
    try:
        from relayflow.accounts.api import make_accounts_api
    except ImportError:
        pass
    else:
        app.include_router(
            make_accounts_api(runtime.db, runtime.config),
            dependencies=[Depends(require_token(token))],
        )

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        return JSONResponse({"ok": True, "workflows": len(runtime.catalog.workflows)})

    @app.get("/metrics", include_in_schema=False)
    def metrics_endpoint() -> Response:
        metrics.queue_depth.set(history.queue_depth(runtime.db))
        return Response(generate_latest(metrics.registry), media_type="text/plain; version=0.0.4")

    @app.get("/", include_in_schema=False)
    def index() -> HTMLResponse:
        rows = "".join(
            f"<li><code>{w.name}</code> v{w.current_version}"
            f"{' — /hooks/' + w.http_path if w.http_path else ''}"
            f"{'' if w.active else ' (paused)'}</li>"
            for w in runtime.catalog.workflows.values()
        )
        return HTMLResponse(
            "<!doctype html><html lang=en><head><meta charset=utf-8><title>relayflow</title>"
            "</head><body><h1>relayflow</h1><p>Workflows deployed here:</p>"
            f"<ul>{rows or '<li>none yet — run <code>relayflow deploy examples/</code></li>'}</ul>"
            "<p>API: <a href=/docs>/docs</a> · Health: <a href=/healthz>/healthz</a> · "
            "Metrics: <a href=/metrics>/metrics</a></p></body></html>"
        )

    return app
