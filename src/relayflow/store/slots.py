"""Request slots across processes: PostgreSQL advisory locks, or lock files on one machine.

`slot_provider(db, home)` is what the runtime installs (relayflow.sdk.slots.install):

- PostgreSQL: slot `i` of a scope is the session advisory lock (hash(scope), i), taken
  with `pg_try_advisory_lock` on one connection per process. A process that dies loses its
  connection and with it its slots, so a crash never leaks one.
- SQLite: every process of the installation runs on this machine, so slot `i` is an
  exclusive `flock` on `<home>/slots/<scope hash>-<i>.lock`; the kernel drops it when the
  process dies.

Either way a process first takes one of its own `size` local slots, so it never has more
waiting on the shared ones than it could hold. A taken-everywhere slot is retried after a
short, growing, jittered sleep (2 ms up to 50 ms).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import random
import threading
import zlib
from pathlib import Path
from typing import Any

from relayflow.sdk import StepError
from relayflow.sdk.slots import LocalProvider, LocalSlots, SlotProvider, Slots
from relayflow.store.database import Database

log = logging.getLogger(__name__)

FIRST_WAIT = 0.002
LONGEST_WAIT = 0.05
# A session may take an advisory lock it holds again (they count up), so the slots this
# process holds are skipped; CASE makes PostgreSQL test that before it tries the lock.
_TRY_LOCK = (
    "SELECT k FROM generate_series(0, %s) AS k"
    " WHERE CASE WHEN k = ANY(%s) THEN false ELSE pg_try_advisory_lock(%s, k) END LIMIT 1"
)
_UNLOCK = "SELECT pg_advisory_unlock(%s, %s)"


def scope_key(scope: str) -> int:
    """A stable signed 32-bit number for a scope (the advisory lock's first key)."""
    value = zlib.crc32(f"relayflow.slots:{scope}".encode())
    return value - 2**32 if value >= 2**31 else value


class _SharedSlots:
    """Local slots in front of shared ones; subclasses say how to take a shared slot."""

    def __init__(self, scope: str, size: int) -> None:
        self.scope = scope
        self.size = size
        self._local = LocalSlots(size)

    async def acquire(self) -> int:
        await self._local.acquire()
        try:
            wait = FIRST_WAIT
            while True:
                slot = await self._try_take()
                if slot is not None:
                    return slot
                await asyncio.sleep(random.uniform(wait / 2, wait))
                wait = min(wait * 2, LONGEST_WAIT)
        except BaseException:
            await self._local.release(0)
            raise

    async def release(self, slot: int) -> None:
        try:
            await self._give_back(slot)
        finally:
            await self._local.release(0)

    async def _try_take(self) -> int | None:
        raise NotImplementedError

    async def _give_back(self, slot: int) -> None:
        raise NotImplementedError


class AdvisorySlots(_SharedSlots):
    """Slots as PostgreSQL session advisory locks, on one connection per event loop."""

    def __init__(self, db: Database, scope: str, size: int) -> None:
        super().__init__(scope, size)
        self.db = db
        self.key = scope_key(scope)
        self._connections: dict[asyncio.AbstractEventLoop, _Connection] = {}
        self._held: set[int] = set()

    def _connection(self) -> _Connection:
        loop = asyncio.get_running_loop()
        found = self._connections.get(loop)
        if found is None:
            found = self._connections[loop] = _Connection(self.db)
        return found

    async def _try_take(self) -> int | None:
        connection = self._connection()
        try:
            held = sorted(self._held)
            row = await connection.fetchone(_TRY_LOCK, (self.size - 1, held, self.key))
        except Exception as exc:  # noqa: BLE001 - any database failure: retry the step later
            await connection.reset()
            raise StepError(
                f"the request slots of {self.scope} live in PostgreSQL, which did not answer "
                f"({type(exc).__name__}: {exc}); the step is retried later",
                retryable=True,
            ) from None
        if row is None:
            return None
        self._held.add(int(row[0]))
        return int(row[0])

    async def _give_back(self, slot: int) -> None:
        connection = self._connection()
        self._held.discard(slot)
        try:
            await connection.fetchone(_UNLOCK, (self.key, slot))
        except Exception:  # noqa: BLE001 - a lost connection has dropped its locks already
            log.warning("releasing slot %s of %s failed; the connection is reopened", slot, self)
            await connection.reset()

    def __repr__(self) -> str:
        return f"AdvisorySlots({self.scope!r}, size={self.size})"


class _Connection:
    """One autocommit connection for advisory locks, reopened after it breaks."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._conn: Any = None
        self._lock = asyncio.Lock()

    async def fetchone(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        import psycopg

        async with self._lock:
            if self._conn is None or self._conn.closed:
                dsn = self.db.url.replace("postgresql+psycopg://", "postgresql://")
                self._conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
            cursor = await self._conn.execute(sql, params)
            return await cursor.fetchone()

    async def reset(self) -> None:
        async with self._lock:
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    await self._conn.close()
            self._conn = None


class FileSlots(_SharedSlots):
    """Slots as exclusive flock()s on files in one folder, shared by this machine's processes."""

    def __init__(self, folder: Path, scope: str, size: int) -> None:
        super().__init__(scope, size)
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"{scope_key(scope) & 0xFFFFFFFF:08x}"
        self._paths = [folder / f"{stem}-{i}.lock" for i in range(size)]
        self._files: dict[int, int] = {}
        self._held: set[int] = set()  # flock() on an fd this process holds would succeed again
        self._lock = threading.Lock()

    async def _try_take(self) -> int | None:
        with self._lock:
            for slot, path in enumerate(self._paths):
                if slot in self._held:
                    continue
                fd = self._files.get(slot)
                if fd is None:
                    fd = self._files[slot] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                self._held.add(slot)
                return slot
        return None

    async def _give_back(self, slot: int) -> None:
        with self._lock:
            self._held.discard(slot)
            fcntl.flock(self._files[slot], fcntl.LOCK_UN)

    def __repr__(self) -> str:
        return f"FileSlots({self.scope!r}, size={self.size})"


class InstallationSlots(LocalProvider):
    """Every scope's slots for one installation: advisory locks or lock files."""

    def __init__(self, db: Database, home: Path) -> None:
        super().__init__()
        self.db = db
        self.folder = home / "slots"

    def make(self, scope: str, size: int) -> Slots:
        if self.db.is_postgres:
            return AdvisorySlots(self.db, scope, size)
        return FileSlots(self.folder, scope, size)


def slot_provider(db: Database, home: Path) -> SlotProvider:
    """The slots every process of the installation at `db` and `home` shares."""
    return InstallationSlots(db, home)
