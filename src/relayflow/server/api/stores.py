"""`/api/v1/stores`: read and change data stores, including the atomic operations.

Keys go in the path (`/stores/{store}/keys/{key}`; a key may contain `/`), values in
JSON bodies as `{"value": …, "ttl": seconds}`. GET, PUT and DELETE act on the key; the
operations are POSTs to `…/{key}/incr`, `/set-if-absent`, `/compare-and-set` and `/ttl`.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from relayflow.datastores.store import DataStoreError, DataStores
from relayflow.server.api.deps import data_stores_of

router = APIRouter(prefix="/api/v1", tags=["data stores"])

T = TypeVar("T")

_TTL = "Seconds until the key expires; null: never"


class SetValue(BaseModel):
    value: Any = Field(description="Any JSON value")
    ttl: float | None = Field(None, description=_TTL)


class Increment(BaseModel):
    amount: int | float = Field(1, description="What to add (negative to subtract)")
    default: int | float = Field(0, description="The value a missing key starts from")


class CompareAndSet(BaseModel):
    expected: Any = Field(description="The value the key must hold now (null: no value)")
    value: Any = Field(description="The new value")
    ttl: float | None = Field(None, description=_TTL)


class SetTtl(BaseModel):
    ttl: float | None = Field(description=_TTL)


async def answer(work: Awaitable[T]) -> T:
    try:
        return await work
    except DataStoreError as exc:
        raise HTTPException(exc.status, exc.message) from None


@router.get("/stores", summary="Data stores that hold keys, with their key counts")
async def list_stores(stores: DataStores = Depends(data_stores_of)) -> list[dict[str, Any]]:
    return [s.public() for s in await stores.stores()]


@router.get("/stores/{store}/keys", summary="A store's keys, sorted, optionally by prefix")
async def keys(
    store: str,
    prefix: str = Query("", description="Only keys that start with this"),
    values: bool = Query(False, description="Include each key's value"),
    stores: DataStores = Depends(data_stores_of),
) -> list[dict[str, Any]]:
    entries = await answer(stores.entries(store, prefix, values=values))
    found = [e.public() for e in entries]
    if not values:
        for item in found:
            del item["value"]
    return found


@router.delete("/stores/{store}", summary="Remove every key of a store (irreversible)")
async def clear(store: str, stores: DataStores = Depends(data_stores_of)) -> dict[str, Any]:
    return {"store": store, "deleted": await answer(stores.clear(store))}


@router.get("/stores/{store}/keys/{key:path}", summary="One key: value, expiry, last change")
async def get(store: str, key: str, stores: DataStores = Depends(data_stores_of)) -> dict[str, Any]:
    entry = await answer(stores.entry(store, key))
    if entry is None:
        raise HTTPException(404, f"data store {store!r} has no key {key!r}")
    return entry.public()


@router.put("/stores/{store}/keys/{key:path}", summary="Set a key, optionally with a TTL")
async def put(
    store: str, key: str, body: SetValue, stores: DataStores = Depends(data_stores_of)
) -> dict[str, Any]:
    await answer(stores.set(store, key, body.value, ttl=body.ttl))
    entry = await stores.entry(store, key)
    return entry.public() if entry else {"key": key, "value": body.value}


@router.delete("/stores/{store}/keys/{key:path}", summary="Remove a key")
async def delete(
    store: str, key: str, stores: DataStores = Depends(data_stores_of)
) -> dict[str, Any]:
    return {"key": key, "deleted": await answer(stores.delete(store, key))}


@router.post("/stores/{store}/keys/{key:path}/incr", summary="Add to a number, atomically")
async def incr(
    store: str,
    key: str,
    body: Increment | None = None,
    stores: DataStores = Depends(data_stores_of),
) -> dict[str, Any]:
    body = body or Increment()
    value = await answer(stores.incr(store, key, body.amount, body.default))
    return {"key": key, "value": value}


@router.post(
    "/stores/{store}/keys/{key:path}/set-if-absent",
    summary="Set a key only if it has no value",
)
async def set_if_absent(
    store: str, key: str, body: SetValue, stores: DataStores = Depends(data_stores_of)
) -> dict[str, Any]:
    done = await answer(stores.set_if_absent(store, key, body.value, ttl=body.ttl))
    return {"key": key, "set": done}


@router.post(
    "/stores/{store}/keys/{key:path}/compare-and-set",
    summary="Set a key only while it holds the expected value",
)
async def compare_and_set(
    store: str, key: str, body: CompareAndSet, stores: DataStores = Depends(data_stores_of)
) -> dict[str, Any]:
    done = await answer(stores.compare_and_set(store, key, body.expected, body.value, ttl=body.ttl))
    return {"key": key, "set": done}


@router.post("/stores/{store}/keys/{key:path}/ttl", summary="Change when a key expires")
async def set_ttl(
    store: str, key: str, body: SetTtl, stores: DataStores = Depends(data_stores_of)
) -> dict[str, Any]:
    if not await answer(stores.set_ttl(store, key, body.ttl)):
        raise HTTPException(404, f"data store {store!r} has no key {key!r}")
    return {"key": key, "ttl": body.ttl}
