"""The API tokens page: your tokens (an owner sees everyone's), create one (its secret is
shown once, on the page that answers the form), revoke one. Same rules as /api/v1/tokens."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from relayflow.server.ui.web import UI
from relayflow.users import UserError
from relayflow.users.roles import ROLES, at_least
from relayflow.users.sessions import Session
from relayflow.users.tokens import Tokens


def add_routes(router: APIRouter, ui: UI) -> None:
    tokens = Tokens(ui.db)

    def page(request: Request, session: Session, **extra: object) -> Response:
        role = ui.users.role(session.user) or "viewer"
        owner = role == "owner"
        return ui.render(
            request,
            "tokens.html",
            session,
            tokens=tokens.list(None if owner else session.user),
            roles=[r for r in ROLES if at_least(role, r)],
            role=role,
            **extra,
        )

    @router.get("/tokens", include_in_schema=False)
    def tokens_page(request: Request, session: Session = Depends(ui.signed_in)) -> Response:
        return page(request, session)

    @router.post("/tokens", include_in_schema=False)
    async def create(request: Request, session: Session = Depends(ui.signed_in)) -> Response:
        form = await request.form()
        ui.check_form(session, form, change=False)  # anyone makes tokens for themselves
        label, role = str(form.get("label") or ""), str(form.get("role") or "") or None
        try:
            secret, row = await asyncio.to_thread(tokens.create, session.user, role, label)
        except UserError as exc:
            return await asyncio.to_thread(page, request, session, error=str(exc))
        return await asyncio.to_thread(page, request, session, created=row, secret=secret)

    @router.post("/tokens/{token_id}/revoke", include_in_schema=False)
    async def revoke(
        token_id: str, request: Request, session: Session = Depends(ui.signed_in)
    ) -> Response:
        ui.check_form(session, await request.form(), change=False)
        try:
            found = tokens.get(token_id)
        except UserError as exc:
            raise HTTPException(404, str(exc)) from None
        if found.user != session.user and ui.users.role(session.user) != "owner":
            raise HTTPException(403, "only an owner revokes other users' tokens")
        await asyncio.to_thread(tokens.revoke, token_id)
        return RedirectResponse("/tokens", 303)
