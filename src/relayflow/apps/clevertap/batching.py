"""Coalescing upload records from concurrent runs into requests of up to 1000 records.

Each caller submits one record and awaits its own outcome. A request starts when 1000
records are waiting, or when the first waiting record has lingered a few milliseconds; it
waits for one of the account's request slots (CleverTap allows 15 at once) *before* taking
its records, so while all slots are busy the queue grows into full batches instead of into
many small requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from relayflow.sdk import Slots, StepError

# Sends the records holding the given slot (it must release it); returns one entry per
# record: None when CleverTap processed it, else its `unprocessed` item.
Deliver = Callable[[list[dict[str, Any]], int], Awaitable[list[dict[str, Any] | None]]]


class UploadBatcher:
    def __init__(
        self,
        deliver: Deliver,
        slots: Slots,
        *,
        max_records: int = 1000,
        linger: float = 0.005,
    ) -> None:
        self._deliver = deliver
        self._slots = slots
        self.max_records = max_records
        self.linger = linger
        self._pending: list[tuple[dict[str, Any], asyncio.Future[Any]]] = []
        self._waiting = 0  # senders started that have not yet taken their records
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, record: dict[str, Any]) -> tuple[dict[str, Any] | None, int]:
        """Queue one record; returns (its unprocessed entry or None, records in its request).

        Raises StepError when the whole request failed (retryable if trying later may help).
        """
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((record, future))
        self._schedule()
        return await future

    @property
    def pending(self) -> int:
        return len(self._pending)

    def _schedule(self) -> None:
        uncovered = len(self._pending) - self._waiting * self.max_records
        while uncovered >= self.max_records:
            self._start_sender()
            uncovered -= self.max_records
        if uncovered > 0 and self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self.linger, self._linger_over)

    def _linger_over(self) -> None:
        self._timer = None
        if len(self._pending) > self._waiting * self.max_records:
            self._start_sender()

    def _start_sender(self) -> None:
        self._waiting += 1
        task = asyncio.get_running_loop().create_task(self._send())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self) -> None:
        try:
            slot = await self._slots.acquire()
        finally:
            self._waiting -= 1
        batch = self._pending[: self.max_records]
        del self._pending[: self.max_records]
        if not batch:
            await self._slots.release(slot)
            return
        self._schedule()
        try:
            outcomes = await self._deliver([record for record, _ in batch], slot)
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():
                    future.set_result((outcome, len(batch)))
        except StepError as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(
                        StepError(str(exc), details=exc.details, retryable=exc.retryable)
                    )
        except Exception as exc:  # noqa: BLE001 - every caller must hear about it
            for _, future in batch:
                if not future.done():
                    future.set_exception(
                        StepError(f"uploading to CleverTap failed: {exc!r}", retryable=True)
                    )
        finally:  # cancelled at shutdown: nobody may wait forever
            for _, future in batch:
                if not future.done():
                    future.set_exception(
                        StepError("the upload stopped before CleverTap answered", retryable=True)
                    )

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until every queued record has been sent (or `timeout` seconds passed)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (self._pending or self._tasks) and loop.time() < deadline:
            if self._tasks:
                await asyncio.wait(list(self._tasks), timeout=deadline - loop.time())
            else:
                await asyncio.sleep(self.linger)
