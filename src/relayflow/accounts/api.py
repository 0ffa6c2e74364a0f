"""`/api/v1/accounts` and `/api/v1/apps`: connect, list, test, rename and remove accounts.

Secrets go in (POST) and never come out: answers say only which secret fields are set.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, HTTPException
from pydantic import BaseModel, Field

from relayflow.accounts.store import AccountError, AccountStore, app_schema, test_unsaved
from relayflow.config import Config
from relayflow.store.database import Database


class NewAccount(BaseModel):
    app: str = Field(description="The app, e.g. clevertap")
    name: str = Field(description="Your name for the account, used as `account:` in steps")
    fields: dict[str, Any] = Field(
        default_factory=dict, description="Account fields, secrets included, e.g. passcode"
    )
    replace: bool = Field(False, description="Overwrite an account of that name")


class Rename(BaseModel):
    name: str = Field(description="The new name")


def make_accounts_api(db: Database, config: Config) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["accounts"])
    store = AccountStore(db, config)

    def answer(work: Any) -> Any:
        try:
            return work()
        except AccountError as exc:
            raise HTTPException(exc.status, exc.message) from None

    @api.get("/apps", summary="Apps with the fields their accounts take")
    def apps() -> list[dict[str, Any]]:
        return [app_schema(a) for a in sorted(store.apps.values(), key=lambda a: a.key)]

    @api.get("/accounts", summary="Connected accounts (secrets only show as set)")
    def accounts() -> list[dict[str, Any]]:
        return [a.public() for a in store.list()]

    @api.post("/accounts", status_code=201, summary="Connect an account")
    def add(body: NewAccount) -> dict[str, Any]:
        account = answer(lambda: store.add(body.app, body.name, body.fields, replace=body.replace))
        return account.public()

    @api.get("/accounts/{name}", summary="One account (secrets only show as set)")
    def account(name: str) -> dict[str, Any]:
        return answer(lambda: store.describe(name)).public()

    @api.delete("/accounts/{name}", summary="Remove an account and its secrets")
    def remove(name: str) -> dict[str, Any]:
        removed = answer(lambda: store.remove(name))
        return {"removed": removed.name, "used_by": store.used_by(name)}

    @api.patch("/accounts/{name}", summary="Rename an account")
    def rename(name: str, body: Rename) -> dict[str, Any]:
        renamed = answer(lambda: store.rename(name, body.name))
        return {**renamed.public(), "still_using_old_name": store.used_by(name)}

    @api.post("/apps/{app}/test-connection", summary="Test fields before saving an account")
    async def test_fields(app: str, fields: dict[str, Any] = Body(..., embed=True)):
        return await test_unsaved(store, app, fields)

    @api.post("/accounts/{name}/test", summary="Make a real authenticated call")
    async def test(name: str) -> dict[str, Any]:
        """`ok` says whether the app accepted the account; `error` says why not."""
        found = answer(lambda: store.get(name))
        spec = answer(lambda: store.app(found.app))
        if spec.test_connection is None:
            raise HTTPException(400, f"{spec.title} accounts cannot be tested")
        try:
            message = await spec.test_connection(found.values())
        except Exception as exc:  # noqa: BLE001 - the reason is the answer
            return {"name": name, "ok": False, "error": str(exc)}
        return {"name": name, "ok": True, "message": message}

    return api
