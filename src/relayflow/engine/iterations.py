"""Where loops and parallel blocks checkpoint their iterations: the `steps.base.Iterations`
of this process, over store.iterations and the writer."""

from __future__ import annotations

import asyncio
import time

from relayflow.store import iterations
from relayflow.store.database import Database
from relayflow.store.iterations import IterationRow
from relayflow.store.writer import Batch, Writer


class StoredIterations:
    def __init__(self, db: Database, writer: Writer) -> None:
        self.db = db
        self.writer = writer

    def new(self, run_id: str, step_index: int, iteration: int) -> IterationRow:
        now = time.time()
        return IterationRow(run_id, step_index, iteration, "running", 0, [], None, None, now, now)

    async def recorded(self, run_id: str, step_index: int) -> list[IterationRow]:
        return await asyncio.to_thread(iterations.recorded, self.db, run_id, step_index)

    async def save(self, row: IterationRow) -> None:
        await self.writer.write(Batch([iterations.checkpoint(row)]))
