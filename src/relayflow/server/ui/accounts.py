"""The accounts page, and testing an account's fields before they are saved.

Connecting, testing, renaming and removing saved accounts go through `/api/v1/accounts`
from static/accounts.js; only "test these fields before saving" has no API of its own.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from relayflow.server.ui.web import UI
from relayflow.server.ui.workflows import account_data
from relayflow.users.sessions import Session


def add_routes(router: APIRouter, ui: UI) -> None:
    @router.get("/accounts", include_in_schema=False)
    def accounts_page(request: Request, session: Session = Depends(ui.signed_in)) -> Response:
        accounts, apps = account_data(ui)
        return ui.render(
            request,
            "accounts.html",
            session,
            accounts=accounts,
            data={"accounts": accounts, "apps": [a for a in apps if a["account_fields"]]},
        )

    @router.post("/ui/apps/{app}/test-connection", include_in_schema=False)
    async def test_connection(
        app: str,
        fields: dict[str, Any] = Body(..., embed=True),
        session: Session = Depends(ui.signed_in_json),
    ) -> JSONResponse:
        """Make the app's authenticated test call with fields that are not saved yet."""
        try:
            from relayflow.accounts.store import AccountError, AccountStore
        except ImportError:
            raise HTTPException(501, "accounts are not available in this installation") from None
        store = AccountStore(ui.db, ui.runtime.config)
        try:
            spec = store.app(app)
            public, secret = store.check_fields(spec, fields)
        except AccountError as exc:
            return JSONResponse({"ok": False, "error": exc.message, "field": exc.field})
        if spec.test_connection is None:
            return JSONResponse({"ok": False, "error": f"{spec.title} accounts cannot be tested"})
        try:
            message = await spec.test_connection({**public, **secret})
        except Exception as exc:  # noqa: BLE001 - the reason is the answer
            return JSONResponse({"ok": False, "error": str(exc)})
        return JSONResponse({"ok": True, "message": message})
