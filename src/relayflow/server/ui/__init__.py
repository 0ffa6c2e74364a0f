"""The web UI: server-rendered pages with small hand-written JavaScript, no build step.

    app.include_router(make_ui(runtime))

Pages need a signed-in session (relayflow.users); the builder and the inspector call
`/api/v1` with that session and its CSRF header.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from relayflow.runtime import Runtime
from relayflow.server.ui import (
    accounts,
    audit,
    imports,
    runs,
    signin,
    stores,
    tokens,
    workflows,
)
from relayflow.server.ui.web import UI


def make_ui(runtime: Runtime) -> APIRouter:
    """Every UI route: pages at `/`, `/workflows`, `/runs`, …, static files at `/ui/static`."""
    ui = UI(runtime)
    router = APIRouter(include_in_schema=False)

    @router.get("/ui/static/{name}")
    def static(name: str, request: Request) -> Response:
        return ui.static_response(request, name)

    for part in (signin, workflows, runs, accounts, imports, stores, audit, tokens):
        part.add_routes(router, ui)
    return router


__all__ = ["make_ui"]
