"""A warm Node.js code-step pool per module, driven from a background event loop (as
tests/codestep does for Python), with real DataStores on an SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from codestep import conftest as python_steps
from codestep.conftest import LoopThread, Pool
from relayflow.codestep import NODE, CodePool
from relayflow.datastores import DataStores

loop = python_steps.loop  # the same fixtures as Python steps' tests
stores = python_steps.stores


class NodePool(Pool):
    def request(self, source: str, **fields: Any):  # noqa: ANN201 - a CodeRequest
        fields.setdefault("filename", "wf/step.mjs")
        fields.setdefault("runtime", "nodejs")
        return super().request(source, **fields)


@pytest.fixture(scope="module")
def node_pool(loop: LoopThread, stores: DataStores) -> Iterator[NodePool]:
    async def make() -> CodePool:
        started = CodePool(size=1, data_stores=stores.handle, memory_mb=256, runtime=NODE)
        await started.start()
        return started

    pool = loop.run(make())
    yield NodePool(loop, pool)
    loop.run(pool.close())
