"""What every `/api/v1` router shares: the process's runtime, and domain errors as HTTP.

    @router.get("/things")
    def things(runtime: Runtime = Depends(runtime_of)) -> ...

The app keeps its runtime in `app.state.runtime` (relayflow.server.app).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from relayflow.accounts.store import AccountStore
from relayflow.datastores.store import DataStores
from relayflow.runtime import Runtime
from relayflow.steps.base import CLI, UI, Hints
from relayflow.users.store import UserStore
from relayflow.workflows import InvalidWorkflow, WorkflowError, Workflows


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime


def workflows_of(request: Request) -> Workflows:
    return request.app.state.runtime.workflows


def hints_of(request: Request) -> Hints:
    """How problems word their fixes for this caller: the web UI's buttons for a signed-in
    browser session, workflow files and command lines for an API token."""
    return UI if getattr(request.state, "user", None) else CLI


def add_error_handlers(app: FastAPI) -> None:
    """Lifecycle errors become their HTTP status with `detail`, as HTTPException does;
    an invalid workflow answers 422 with every problem."""

    @app.exception_handler(WorkflowError)
    async def workflow_error(_request: Request, exc: WorkflowError) -> JSONResponse:
        if isinstance(exc, InvalidWorkflow):
            detail = {
                "problems": [str(p) for p in exc.problems],
                "details": [
                    {"file": p.file, "line": p.line, "path": p.path, "message": p.message}
                    for p in exc.problems
                ],
            }
            return JSONResponse({"detail": detail}, status_code=exc.status)
        return JSONResponse({"detail": exc.message}, status_code=exc.status)


def account_store_of(request: Request) -> AccountStore:
    return request.app.state.account_store


def data_stores_of(request: Request) -> DataStores:
    return request.app.state.runtime.stores


def users_of(request: Request) -> UserStore:
    return request.app.state.users
