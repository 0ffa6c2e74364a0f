"""Request slots shared by every process of an installation: a cap on concurrent calls.

A service such as CleverTap allows an account only so many requests at once. An app asks
for that account's slots and holds one around each request:

    slots = shared_slots("clevertap:W9R-486-4W5Z", 15)
    slot = await slots.acquire()
    try:
        ...  # send the request
    finally:
        await slots.release(slot)

Where the slots live is the process's choice, made once with `install()`: relayflow's
runtime keeps them in the database's advisory locks on PostgreSQL and in lock files in the
home folder on SQLite (relayflow.store.slots), so a server, its workers and an import
together never exceed the cap. Without an installed provider (a script, a unit test) the
slots are counted in this process only.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Protocol


class Slots(Protocol):
    """`size` slots of one scope; `acquire` waits for a free one and returns its number."""

    size: int

    async def acquire(self) -> int: ...

    async def release(self, slot: int) -> None: ...


class SlotProvider(Protocol):
    """Where the slots of every scope live (one per process, see `install`)."""

    def slots(self, scope: str, size: int) -> Slots: ...


class LocalSlots:
    """Slots counted in this process only, with one semaphore per event loop."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"a slot limit of {size} leaves no request room; use 1 or more")
        self.size = size
        self._free: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        found = self._free.get(loop)
        if found is None:
            for old in [other for other in self._free if other.is_closed()]:
                del self._free[old]
            found = self._free[loop] = asyncio.Semaphore(self.size)
        return found

    async def acquire(self) -> int:
        await self._semaphore().acquire()
        return 0

    async def release(self, slot: int) -> None:
        self._semaphore().release()


class LocalProvider:
    """The default: every scope's slots counted in this process. Subclasses say where
    else slots live by overriding `make`; each (scope, size) is made once."""

    def __init__(self) -> None:
        self._slots: dict[tuple[str, int], Slots] = {}
        self._lock = threading.Lock()

    def slots(self, scope: str, size: int) -> Slots:
        with self._lock:
            found = self._slots.get((scope, size))
            if found is None:
                found = self._slots[(scope, size)] = self.make(scope, size)
            return found

    def make(self, scope: str, size: int) -> Slots:
        return LocalSlots(size)


_provider: SlotProvider = LocalProvider()


def install(provider: SlotProvider | None) -> None:
    """Make `provider` hold every scope's slots in this process (None: back to local)."""
    global _provider
    _provider = provider if provider is not None else LocalProvider()


def shared_slots(scope: str, size: int) -> Slots:
    """The `size` slots of `scope` (e.g. one CleverTap account), shared as widely as the
    installed provider reaches."""
    return _provider.slots(scope, size)
