"""The accounts page, and a session-only route to test fields before they are saved.

Connecting, testing, renaming and removing accounts go through `/api/v1/accounts` from
static/accounts.js; the route here makes the same check as
`/api/v1/apps/{app}/test-connection`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse, Response

from relayflow.accounts.advice import account_advice
from relayflow.accounts.store import AccountStore, test_unsaved
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
            advice={
                account.name: lines
                for account, lines in account_advice(AccountStore(ui.db, ui.runtime.config))
            },
            data={"accounts": accounts, "apps": [a for a in apps if a["account_fields"]]},
        )

    @router.post("/ui/apps/{app}/test-connection", include_in_schema=False)
    async def test_connection(
        app: str,
        fields: dict[str, Any] = Body(..., embed=True),
        session: Session = Depends(ui.signed_in_json),
    ) -> JSONResponse:
        """Make the app's authenticated test call with fields that are not saved yet."""
        store = AccountStore(ui.db, ui.runtime.config)
        return JSONResponse(await test_unsaved(store, app, fields))
