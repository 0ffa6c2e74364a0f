"""Data stores on a fresh database: each test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from relayflow.datastores import DataStores
from relayflow.store.database import Database
from relayflow.store.writer import Writer

T = TypeVar("T")


class Stores:
    """DataStores with a writer, and `run(coro)` for tests written without an event loop."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.db = Database(url)
        self.db.upgrade()
        self.writer = Writer(self.db)
        self.writer.start()
        self.stores = DataStores(self.db, self.writer)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run(coro)

    def close(self) -> None:
        self.writer.stop()
        self.db.close()


@pytest.fixture
def ds(database_url: str) -> Iterator[Stores]:
    found = Stores(database_url)
    yield found
    found.close()
