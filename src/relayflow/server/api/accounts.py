"""`/api/v1/accounts` and `/api/v1/apps`: connect, list, test, rename and remove accounts.

Secrets go in (POST) and never come out: answers say only which secret fields are set.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, HTTPException
from pydantic import BaseModel, Field

from relayflow.accounts.store import (
    AccountError,
    AccountStore,
    ConnectionTestFailed,
    test_unsaved,
)
from relayflow.server.api.deps import account_store_of

router = APIRouter(prefix="/api/v1", tags=["accounts"])


class NewAccount(BaseModel):
    app: str = Field(description="The app, e.g. clevertap")
    name: str = Field(description="Your name for the account, used as `account:` in steps")
    fields: dict[str, Any] = Field(
        default_factory=dict, description="Account fields, secrets included, e.g. passcode"
    )
    replace: bool = Field(False, description="Overwrite an account of that name")
    test: bool = Field(
        True,
        description="Make the app's connection test call first and save nothing if it fails"
        " (422, `detail.connection_failed`); false saves the account untested",
    )


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


@router.post("/accounts", status_code=201, summary="Connect an account (tested first)")
async def add(
    body: NewAccount, store: AccountStore = Depends(account_store_of)
) -> dict[str, Any]:
    """`connection_test` is what the app's test call said, or null when not tested."""
    try:
        account, tested = await store.add_tested(
            body.app, body.name, body.fields, replace=body.replace, test=body.test
        )
    except ConnectionTestFailed as exc:
        message = f"{exc.message}; fix the fields, or send test: false to save it untested"
        detail = {"message": message, "connection_failed": True, "reason": exc.reason}
        raise HTTPException(422, detail) from None
    except AccountError as exc:
        raise HTTPException(exc.status, exc.message) from None
    return {**account.public(), "connection_test": tested}


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
