"""A warm code-step pool per module, driven from a background event loop.

The pool's processes belong to the loop that started them, so one loop runs in a thread
for the whole module and tests hand it work with `pool.run(...)` / `loop.run(coro)`.
Data-store operations from steps go to real DataStores on an SQLite file.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from relayflow.codestep import CodePool, CodeRequest, CodeResult
from relayflow.datastores import DataStores
from relayflow.store.database import Database
from relayflow.store.writer import Writer

T = TypeVar("T")


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 120) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class Pool:
    """A CodePool and the helpers the tests use on it."""

    def __init__(self, loop: LoopThread, pool: CodePool) -> None:
        self.loop = loop
        self.pool = pool

    def request(self, source: str, **fields: Any) -> CodeRequest:
        fields.setdefault("filename", "wf:step")
        fields.setdefault("steps", {"trigger": {"event": {}, "context": {}}})
        fields.setdefault("inputs", {})
        fields.setdefault("context", {})
        fields.setdefault("timeout", 10.0)
        fields.setdefault("memory_mb", self.pool.memory_mb)
        return CodeRequest(source=source, **fields)

    def run(self, source: str, **fields: Any) -> CodeResult:
        return self.loop.run(self.pool.run(self.request(source, **fields)))

    def run_many(self, requests: list[CodeRequest]) -> list[CodeResult]:
        async def all_of() -> list[CodeResult]:
            return list(await asyncio.gather(*(self.pool.run(r) for r in requests)))

        return self.loop.run(all_of())


@pytest.fixture(scope="module")
def loop() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.close()


@pytest.fixture(scope="module")
def stores(loop: LoopThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DataStores]:
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('stores') / 'relayflow.db'}")
    db.upgrade()
    writer = Writer(db)
    writer.start()
    yield DataStores(db, writer)
    writer.stop()


@pytest.fixture(scope="module")
def pool(loop: LoopThread, stores: DataStores) -> Iterator[Pool]:
    async def make() -> CodePool:
        started = CodePool(size=2, data_stores=stores.handle, memory_mb=256)
        await started.start()
        return started

    code_pool = loop.run(make())
    yield Pool(loop, code_pool)
    loop.run(code_pool.close())


@pytest.fixture
def fresh_pool(loop: LoopThread, stores: DataStores) -> Iterator[Pool]:
    """A pool of its own, started inside the test (e.g. after changing the environment)."""
    pools: list[CodePool] = []

    def make(**options: Any) -> Pool:
        options.setdefault("data_stores", stores.handle)
        code_pool = CodePool(**options)
        pools.append(code_pool)
        loop.run(code_pool.start())
        return Pool(loop, code_pool)

    yield make  # type: ignore[misc]
    for code_pool in pools:
        loop.run(code_pool.close())


@pytest.fixture(scope="session")
def env_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("code-envs")
