"""The import page of a CleverTap account: upload a file, map it, dry-run or import it.

The page's script (static/imports.js) uses `/api/v1/imports` with the session; this module
only renders the page for an account that exists and is a CleverTap account.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from relayflow.accounts.store import AccountError, AccountStore
from relayflow.server.ui.web import UI
from relayflow.users.sessions import Session


def add_routes(router: APIRouter, ui: UI) -> None:
    @router.get("/accounts/{name}/import", include_in_schema=False)
    def import_page(
        name: str, request: Request, session: Session = Depends(ui.signed_in)
    ) -> Response:
        try:
            account = AccountStore(ui.db, ui.runtime.config).describe(name)
        except AccountError as exc:
            raise HTTPException(exc.status, exc.message) from None
        if account.app != "clevertap":
            raise HTTPException(404, f"{name} is a {account.app} account; only CleverTap imports")
        return ui.render(
            request, "import.html", session, account=account.public(), data={"account": name}
        )
