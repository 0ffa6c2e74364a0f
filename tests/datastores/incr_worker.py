"""One process of the concurrency tests: `python incr_worker.py URL MODE COUNT START_AT`.

Waits until START_AT (so all processes collide), then adds 1 to `counter` COUNT times
with `incr`, or with a read / compare_and_set retry loop (MODE cas), 20 at a time.
Prints how many retries compare_and_set needed.
"""

from __future__ import annotations

import asyncio
import sys
import time

from relayflow.datastores import DataStores
from relayflow.store.database import Database
from relayflow.store.writer import Writer


async def main(url: str, mode: str, count: int, start_at: float) -> int:
    db = Database(url)
    writer = Writer(db)
    writer.start()
    stores = DataStores(db, writer)
    retries = 0
    gate = asyncio.Semaphore(20)

    async def once() -> None:
        nonlocal retries
        async with gate:
            if mode == "incr":
                await stores.incr("race", "counter")
                return
            while True:
                current = await stores.get("race", "counter")
                if await stores.compare_and_set("race", "counter", current, (current or 0) + 1):
                    return
                retries += 1

    await asyncio.sleep(max(0.0, start_at - time.time()))
    await asyncio.gather(*(once() for _ in range(count)))
    writer.stop()
    db.close()
    return retries


if __name__ == "__main__":
    url, mode, count, start_at = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    print(asyncio.run(main(url, mode, count, start_at)))
