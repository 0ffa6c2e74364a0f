"""Coalescing work from concurrent runs into few requests: upload records, message sends.

Each caller submits one item and awaits its own outcome. Items with the same `key` may
share a request; a request starts when a full one is waiting (items weighing `max_weight`
in total: records for uploads, users for messages), or when the first waiting item has
lingered a few milliseconds. It waits for one of the account's request slots (CleverTap
allows 15 at once) *before* taking its items, so while all slots are busy the queue grows
into full requests instead of into many small ones. `take` says how many of the waiting
items (from the front, at least one) one request may carry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

from relayflow.sdk import Slots, StepError

T = TypeVar("T")
# Sends the items holding the given slot (it must release it); returns one outcome per item.
Deliver = Callable[[list[T], int], Awaitable[list[Any]]]


def take_up_to(max_weight: int, weight: Callable[[T], int]) -> Callable[[list[T]], int]:
    """How many items from the front weigh at most `max_weight` together (at least one)."""

    def take(items: list[T]) -> int:
        total = 0
        for count, item in enumerate(items):
            total += weight(item)
            if total > max_weight:
                return max(count, 1)
        return len(items)

    return take


class _Queue(Generic[T]):
    def __init__(self) -> None:
        self.pending: list[tuple[T, asyncio.Future[Any]]] = []
        self.weight = 0
        self.waiting = 0  # senders started that have not yet taken their items
        self.timer: asyncio.TimerHandle | None = None


class Batcher(Generic[T]):
    def __init__(
        self,
        deliver: Deliver[T],
        slots: Slots,
        *,
        max_weight: int = 1000,
        linger: float = 0.005,
        weight: Callable[[T], int] = lambda item: 1,
        key: Callable[[T], Hashable] = lambda item: None,
        take: Callable[[list[T]], int] | None = None,
    ) -> None:
        self._deliver = deliver
        self._slots = slots
        self.max_weight = max_weight
        self.linger = linger
        self._weight = weight
        self._key = key
        self._take = take or take_up_to(max_weight, weight)
        self._queues: dict[Hashable, _Queue[T]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, item: T) -> tuple[Any, int]:
        """Queue one item; returns (its outcome, how many items shared its request).

        Raises StepError when the whole request failed (retryable if trying later may help).
        """
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        key = self._key(item)
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = _Queue()
        queue.pending.append((item, future))
        queue.weight += self._weight(item)
        self._schedule(key, queue)
        return await future

    @property
    def pending(self) -> int:
        return sum(len(queue.pending) for queue in self._queues.values())

    def _schedule(self, key: Hashable, queue: _Queue[T]) -> None:
        uncovered = queue.weight - queue.waiting * self.max_weight
        while uncovered >= self.max_weight:
            self._start_sender(key, queue)
            uncovered -= self.max_weight
        if uncovered > 0 and queue.timer is None:
            loop = asyncio.get_running_loop()
            queue.timer = loop.call_later(self.linger, self._linger_over, key, queue)

    def _linger_over(self, key: Hashable, queue: _Queue[T]) -> None:
        queue.timer = None
        if queue.weight > queue.waiting * self.max_weight:
            self._start_sender(key, queue)

    def _start_sender(self, key: Hashable, queue: _Queue[T]) -> None:
        queue.waiting += 1
        task = asyncio.get_running_loop().create_task(self._send(key, queue))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, key: Hashable, queue: _Queue[T]) -> None:
        try:
            slot = await self._slots.acquire()
        finally:
            queue.waiting -= 1
        count = self._take([item for item, _ in queue.pending]) if queue.pending else 0
        batch = queue.pending[:count]
        del queue.pending[:count]
        queue.weight -= sum(self._weight(item) for item, _ in batch)
        if not queue.pending and not queue.waiting and self._queues.get(key) is queue:
            del self._queues[key]
        if not batch:
            await self._slots.release(slot)
            return
        if queue.pending:
            self._schedule(key, queue)
        try:
            outcomes = await self._deliver([item for item, _ in batch], slot)
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
                        StepError(f"sending to CleverTap failed: {exc!r}", retryable=True)
                    )
        finally:  # cancelled at shutdown: nobody may wait forever
            for _, future in batch:
                if not future.done():
                    future.set_exception(
                        StepError("the request stopped before CleverTap answered", retryable=True)
                    )

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until every queued item has been sent (or `timeout` seconds passed)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (self.pending or self._tasks) and loop.time() < deadline:
            if self._tasks:
                await asyncio.wait(list(self._tasks), timeout=deadline - loop.time())
            else:
                await asyncio.sleep(self.linger)


def upload_batcher(
    deliver: Deliver[dict[str, Any]], slots: Slots, *, max_records: int, linger: float
) -> Batcher[dict[str, Any]]:
    """Upload records from every run of an account, up to `max_records` per request."""
    return Batcher(deliver, slots, max_weight=max_records, linger=linger)
