"""The audit page: every change with who made it, when and what (as `/api/v1/audit`)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from relayflow import audit
from relayflow.server.ui.web import UI
from relayflow.users.sessions import Session

SHOWN = 200


def add_routes(router: APIRouter, ui: UI) -> None:
    @router.get("/audit", include_in_schema=False)
    async def audit_page(
        request: Request,
        action: str = "",
        target: str = "",
        session: Session = Depends(ui.signed_in),
    ) -> Response:
        found = await asyncio.to_thread(
            audit.entries,
            ui.db,
            limit=SHOWN,
            action=action.strip() or None,
            target=target.strip() or None,
        )
        return ui.render(
            request, "audit.html", session, entries=found, action=action, target=target
        )
