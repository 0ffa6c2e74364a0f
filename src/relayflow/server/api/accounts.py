"""`/api/v1/accounts` and `/api/v1/apps`: connect, list, test, rename and remove accounts.

Secrets go in (POST) and never come out: answers say only which secret fields are set.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, HTTPException
from pydantic import BaseModel, Field

from relayflow.accounts.store import AccountError, AccountStore, test_unsaved
from relayflow.server.api.deps import account_store_of

router = APIRouter(prefix="/api/v1", tags=["accounts"])


class NewAccount(BaseModel):
    app: str = Field(description="The app, e.g. clevertap")
    name: str = Field(description="Your name for the account, used as `account:` in steps")
    fields: dict[str, Any] = Field(
        default_factory=dict, description="Account fields, secrets included, e.g. passcode"
    )
    replace: bool = Field(False, description="Overwrite an account of that name")


class Rename(BaseModel):
    name: str = Field(description="The new name")


def answer(work: Any) -> Any:
    try:
        return work()
    except AccountError as exc:
        raise HTTPException(exc.status, exc.message) from None


@router.get("/apps", summary="Apps with the fields their accounts take")
def apps(store: AccountStore = Depends(account_store_of)) -> list[dict[str, Any]]:
    return [a.schema() for a in sorted(store.apps.values(), key=lambda a: a.key)]


@router.get("/accounts", summary="Connected accounts (secrets only show as set)")
def accounts(store: AccountStore = Depends(account_store_of)) -> list[dict[str, Any]]:
    return [a.public() for a in store.list()]


@router.post("/accounts", status_code=201, summary="Connect an account")
def add(body: NewAccount, store: AccountStore = Depends(account_store_of)) -> dict[str, Any]:
    account = answer(lambda: store.add(body.app, body.name, body.fields, replace=body.replace))
    return account.public()


@router.get("/accounts/{name}", summary="One account (secrets only show as set)")
def account(name: str, store: AccountStore = Depends(account_store_of)) -> dict[str, Any]:
    return answer(lambda: store.describe(name)).public()


@router.delete("/accounts/{name}", summary="Remove an account and its secrets")
def remove(name: str, store: AccountStore = Depends(account_store_of)) -> dict[str, Any]:
    removed = answer(lambda: store.remove(name))
    return {"removed": removed.name, "used_by": store.used_by(name)}


@router.patch("/accounts/{name}", summary="Rename an account")
def rename(
    name: str, body: Rename, store: AccountStore = Depends(account_store_of)
) -> dict[str, Any]:
    renamed = answer(lambda: store.rename(name, body.name))
    return {**renamed.public(), "still_using_old_name": store.used_by(name)}


@router.post("/apps/{app}/test-connection", summary="Test fields before saving an account")
async def test_fields(
    app: str,
    fields: dict[str, Any] = Body(..., embed=True),
    store: AccountStore = Depends(account_store_of),
) -> dict[str, Any]:
    return await test_unsaved(store, app, fields)


@router.post("/accounts/{name}/test", summary="Make a real authenticated call")
async def test(name: str, store: AccountStore = Depends(account_store_of)) -> dict[str, Any]:
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
