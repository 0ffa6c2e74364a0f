"""What a step may do with the installation's data stores (`ctx.stores`)."""

from __future__ import annotations

from typing import Any, Protocol


class DataStoreError(Exception):
    """A data-store operation was refused; `status` is the HTTP status the API answers."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class DataStoreAccess(Protocol):
    """Named key-value stores shared by every workflow, with TTLs and atomic operations.

    TTLs are seconds (None: never expires); every write is committed before it returns.
    """

    async def call(self, op: str, store: str, **args: Any) -> Any: ...

    async def get(self, store: str, key: str, default: Any = None) -> Any: ...

    async def set(self, store: str, key: str, value: Any, ttl: float | None = None) -> None: ...

    async def delete(self, store: str, key: str) -> bool: ...

    async def keys(self, store: str, prefix: str = "") -> list[str]: ...

    async def items(self, store: str, prefix: str = "") -> list[list[Any]]: ...

    async def incr(
        self, store: str, key: str, amount: int | float = 1, default: int | float = 0
    ) -> int | float: ...

    async def set_if_absent(
        self, store: str, key: str, value: Any, ttl: float | None = None
    ) -> bool: ...

    async def compare_and_set(
        self, store: str, key: str, expected: Any, value: Any, ttl: float | None = None
    ) -> bool: ...
