"""`/api/v1`: JSON for every resource, one router per resource (OpenAPI at /docs).

Routers take the process's runtime as a dependency (`deps.runtime_of`); lifecycle errors
(`relayflow.workflows.WorkflowError`) answer with their own status.
"""

from __future__ import annotations

from fastapi import APIRouter

from relayflow.server.api import (
    accounts,
    audit,
    imports,
    library,
    runs,
    stores,
    tokens,
    users,
    workflows,
)
from relayflow.server.api.deps import add_error_handlers
from relayflow.server.api.workflows import workflow_summary

ROUTERS: tuple[APIRouter, ...] = (
    workflows.router,
    runs.router,
    library.router,
    accounts.router,
    imports.router,
    stores.router,
    users.router,
    audit.router,
    tokens.router,
)

__all__ = ["ROUTERS", "add_error_handlers", "workflow_summary"]
