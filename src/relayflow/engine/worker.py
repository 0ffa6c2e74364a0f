"""Claiming queued runs with a lease and executing them, up to a capacity, until stopped.

Leases are renewed while runs execute; a process that dies stops renewing, and any worker
reclaims its runs when the lease expires. A clean stop hands unfinished runs back at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter

from relayflow import metrics
from relayflow.engine.catalog import Catalog
from relayflow.engine.runner import Runner
from relayflow.store import runs
from relayflow.store.runs import ClaimedRun, Limits, claim_batch
from relayflow.store.writer import Batch, Writer

log = logging.getLogger(__name__)

CLAIM_LIMIT = 1000  # a whole upload request's worth of runs (CleverTap takes 1000 records)


class Worker:
    def __init__(
        self,
        writer: Writer,
        catalog: Catalog,
        runner: Runner,
        owner: str,
        capacity: int = 1000,
        lease_seconds: float = 30.0,
        poll_interval: float = 0.1,
        share: int = 1,
    ) -> None:
        """`share`: how many worker processes split each workflow's concurrency evenly
        (`relayflow up`'s); 1 takes whatever slots are free."""
        self.writer = writer
        self.catalog = catalog
        self.runner = runner
        self.owner = owner
        self.capacity = capacity
        self.lease_seconds = lease_seconds
        self.poll_interval = poll_interval
        self.share = max(1, share)
        self.inflight: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._rotation = 0
        self._last_reclaim = 0.0
        # Runs of this worker holding a concurrency slot, per workflow: a workflow at its
        # limit here is at its limit everywhere, so waking for it need not cost a claim.
        self.holding: Counter[str] = Counter()
        runner.slot_freed = self._slot_freed

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        renewer = asyncio.create_task(self._renew_leases())
        try:
            while not self._stopping:
                self._wake.clear()
                wanted = min(self.capacity - len(self.inflight), CLAIM_LIMIT)
                claimed = await self._claim(wanted) if wanted > 0 else []
                for run in claimed:
                    if run.holds_slot:
                        self.holding[run.workflow_id] += 1
                    self.inflight[run.id] = asyncio.create_task(self._execute(run))
                metrics.runs_in_flight.set(len(self.inflight))
                if len(claimed) < wanted or wanted <= 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.poll_interval)
        finally:
            renewer.cancel()

    def _slot_freed(self, run: ClaimedRun) -> None:
        """`run` gives its slot back (or ends): claim again, in the same commit if it can."""
        if run.holds_slot:
            run.holds_slot = False
            self.holding[run.workflow_id] -= 1
        self._wake.set()

    def _own_limit(self, limit: Limits) -> int:
        """Runs of a workflow this worker may hold slots for: its share of the limit.
        Without shares, the first worker to claim takes every free slot and reclaims each
        one the moment it is freed, so one process would execute a busy workflow alone."""
        return -(-limit.concurrency // self.share)

    async def _claim(self, wanted: int) -> list[ClaimedRun]:
        limits = {
            workflow_id: limit
            for workflow_id, limit in self.catalog.limits().items()
            if limit.free_steps or self.holding[workflow_id] < self._own_limit(limit)
        }
        if not limits:
            return []
        items = list(limits.items())
        self._rotation = (self._rotation + 1) % len(items)
        rotated = dict(items[self._rotation :] + items[: self._rotation])
        now = time.time()
        reclaim = now - self._last_reclaim > self.lease_seconds / 4
        if reclaim:
            self._last_reclaim = now
        caps = None
        if self.share > 1:
            caps = {w: self._own_limit(lim) - self.holding[w] for w, lim in rotated.items()}
        try:
            return await self.writer.write(
                claim_batch(self.owner, self.lease_seconds, rotated, wanted, reclaim, caps)
            )
        except Exception:  # noqa: BLE001 - a database hiccup must not stop the worker
            log.exception("claiming runs failed; trying again shortly")
            await asyncio.sleep(0.5)
            return []

    async def _execute(self, run: ClaimedRun) -> None:
        try:
            compiled = self.catalog.compiled(run.workflow_id, run.version)
            status = await self.runner.execute(run, compiled)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - recorded on the run, never lost silently
            log.exception("run %s could not be executed", run.id)
            status = "failed"
            message = f"relayflow could not execute this run: {exc}"
            await self.writer.write(
                Batch([runs.finish(run.id, "failed", run.next_step, time.time(), message)])
            )
        finally:
            self.inflight.pop(run.id, None)
            self._slot_freed(run)
        if status not in ("queued", "sleeping"):
            metrics.runs_finished.labels(status).inc()

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            if self.inflight:
                try:
                    until = time.time() + self.lease_seconds
                    await self.writer.write(Batch([runs.renew_leases(self.owner, until)]))
                except Exception:  # noqa: BLE001
                    log.exception("renewing leases failed")

    async def stop(self, grace: float = 10.0) -> None:
        """Stop claiming, let running runs finish for `grace` seconds, hand back the rest."""
        self._stopping = True
        self._wake.set()
        if self.inflight:
            await asyncio.wait(list(self.inflight.values()), timeout=grace)
        for task in list(self.inflight.values()):
            task.cancel()
        if self.inflight:
            await asyncio.gather(*self.inflight.values(), return_exceptions=True)
        await self.writer.write(Batch([runs.release_leases(self.owner)]))

