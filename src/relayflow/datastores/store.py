"""`DataStores`: every data store of an installation, for the engine, actions, code steps,
the API and the CLI. The operations themselves (SQL, atomicity) are in operations.py.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from relayflow.store.data_stores import (
    PLANS,
    PURGE,
    DataStoreError,
    Entry,
    Read,
    Refused,
    StoreSummary,
    Write,
    list_stores,
)
from relayflow.store.database import Database
from relayflow.store.writer import Batch, Writer

__all__ = ["DataStoreError", "DataStores", "Entry", "StoreSummary", "list_stores"]

STORE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
MAX_KEY = 512
PURGE_EVERY = 60.0  # seconds between deletions of a store's expired rows, per process
_RETRIES = 3


class DataStores:
    """Every data store of one installation, through the process's Writer.

    The async methods are for the engine, actions, code steps (`handle`) and the API;
    `call_blocking` runs the same operations for the CLI and scripts.
    """

    def __init__(self, db: Database, writer: Writer) -> None:
        self.db = db
        self.writer = writer
        self._purged: dict[str, float] = {}

    # One entry point for every operation -----------------------------------------------

    async def call(self, op: str, store: str, **args: Any) -> Any:
        plan = self._plan(op, store, args)
        if isinstance(plan, Read):
            return await asyncio.to_thread(plan.fn, self.db)
        for attempt in range(_RETRIES):
            try:
                return _result(await self.writer.write(self._with_purge(plan)))
            except Exception as exc:
                if attempt == _RETRIES - 1 or not _transient(exc):
                    raise
                await asyncio.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    def call_blocking(self, op: str, store: str, **args: Any) -> Any:
        plan = self._plan(op, store, args)
        if isinstance(plan, Read):
            return plan.fn(self.db)
        for attempt in range(_RETRIES):
            try:
                return _result(self.writer.write_blocking(self._with_purge(plan)))
            except Exception as exc:
                if attempt == _RETRIES - 1 or not _transient(exc):
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    async def handle(self, store: str, op: str, args: dict[str, Any]) -> Any:
        """The code-step pool's DataStoreHandler: `pd.inputs["store"].incr(...)` lands here."""
        return await self.call(op, store, **args)

    # Named operations --------------------------------------------------------------------

    async def get(self, store: str, key: str, default: Any = None) -> Any:
        """The value of `key`, or `default` when it has none (or it expired)."""
        return await self.call("get", store, key=key, default=default)

    async def entry(self, store: str, key: str) -> Entry | None:
        return await self.call("entry", store, key=key)

    async def set(self, store: str, key: str, value: Any, ttl: float | None = None) -> None:
        """Set `key` to `value`; it expires after `ttl` seconds (None: never)."""
        await self.call("set", store, key=key, value=value, ttl=ttl)

    async def delete(self, store: str, key: str) -> bool:
        """Remove `key`; True when it had a value."""
        return await self.call("delete", store, key=key)

    async def keys(self, store: str, prefix: str = "") -> list[str]:
        """The keys that start with `prefix`, sorted."""
        return await self.call("keys", store, prefix=prefix)

    async def items(self, store: str, prefix: str = "") -> list[list[Any]]:
        """[key, value] pairs of the keys that start with `prefix`, sorted by key."""
        return await self.call("items", store, prefix=prefix)

    async def entries(self, store: str, prefix: str = "", values: bool = True) -> list[Entry]:
        return await self.call("entries", store, prefix=prefix, values=values)

    async def clear(self, store: str) -> int:
        """Remove every key of `store`; returns how many there were."""
        return await self.call("clear", store)

    async def set_ttl(self, store: str, key: str, ttl: float | None) -> bool:
        """Expire `key` in `ttl` seconds (None: never); False when it has no value."""
        return await self.call("set_ttl", store, key=key, ttl=ttl)

    async def incr(
        self, store: str, key: str, amount: int | float = 1, default: int | float = 0
    ) -> int | float:
        """Add `amount` to `key` atomically (an absent key starts at `default`); the new value.

        The key keeps its TTL. A key holding something other than a number is refused.
        """
        return await self.call("incr", store, key=key, amount=amount, default=default)

    async def set_if_absent(
        self, store: str, key: str, value: Any, ttl: float | None = None
    ) -> bool:
        """Set `key` only when it has no value; True when this call set it."""
        return await self.call("set_if_absent", store, key=key, value=value, ttl=ttl)

    async def compare_and_set(
        self, store: str, key: str, expected: Any, value: Any, ttl: float | None = None
    ) -> bool:
        """Set `key` to `value` only while it holds `expected` (None matches no value)."""
        args = {"key": key, "expected": expected, "value": value, "ttl": ttl}
        return await self.call("compare_and_set", store, **args)

    async def stores(self) -> list[StoreSummary]:
        """Stores that hold at least one key, by name."""
        return await asyncio.to_thread(list_stores, self.db)

    # Internals -----------------------------------------------------------------------

    def _plan(self, op: str, store: str, args: dict[str, Any]) -> Read | Write:
        build = PLANS.get(op)
        if build is None:
            raise DataStoreError(f"{op!r} is not a data-store operation")
        check_store(store)
        if "key" in args:
            check_key(args["key"])
        if "prefix" in args and not isinstance(args["prefix"], str):
            raise DataStoreError(f"the prefix must be a string, not {args['prefix']!r}")
        try:
            return build(store, **args)
        except TypeError as exc:
            raise DataStoreError(f"{op}: {exc}") from None

    def _with_purge(self, plan: Write) -> Batch:
        now = time.time()
        if now - self._purged.get(plan.store, 0.0) < PURGE_EVERY:
            return plan.batch
        self._purged[plan.store] = now
        statements = [*plan.batch.statements, (PURGE, (plan.store, now))]
        return Batch(statements, then=plan.batch.then)


def check_store(store: Any) -> str:
    if not isinstance(store, str) or not STORE_NAME.match(store):
        raise DataStoreError(
            f"{store!r} is not a data store name; use up to 100 letters, digits, _ . -,"
            " starting with a letter or digit, e.g. signups"
        )
    return store


def check_key(key: Any) -> str:
    if not isinstance(key, str):
        raise DataStoreError(f"data store keys are strings, not {type(key).__name__} ({key!r})")
    if not key or len(key) > MAX_KEY or "\x00" in key:
        raise DataStoreError(
            f"key {key[:40]!r}{'…' if len(key) > 40 else ''} is not usable; keys are 1 to"
            f" {MAX_KEY} characters, without NUL"
        )
    return key


def _result(value: Any) -> Any:
    if isinstance(value, Refused):
        raise DataStoreError(value.message, status=409)
    return value


def _transient(exc: BaseException) -> bool:
    """A PostgreSQL deadlock or serialisation failure between concurrent transactions."""
    return type(exc).__name__ in ("DeadlockDetected", "SerializationFailure")
