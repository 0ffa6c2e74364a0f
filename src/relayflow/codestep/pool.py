"""The pool of code-step processes: warm, reused, replaced when they die or are killed.

`size` clean processes are kept started and waiting (spares). A step runs in a process
that already ran its workflow's code when one is idle, otherwise in a spare, which from
then on belongs to that workflow: code of different workflows never shares a process, so
a step cannot leave behind something (a patched module, a thread) that reads another
workflow's inputs and secrets. At most `max_workers` processes run; beyond that, the
longest-idle process of another workflow is replaced, or the step waits for a free one.
A process idle for `idle_seconds` is ended (spares are kept). With
`isolate_workflows=False` (one trusted team), every workflow shares every process.

Every process runs in a sandbox (sandbox.py) that keeps relayflow's files and processes
out of reach; its cost is paid when a process starts, not per step. Where no sandbox can
be had, steps are refused with the reason, unless the operator allowed unisolated steps
(`allow_unisolated=True`, from RELAYFLOW_UNSAFE_CODE_STEPS=1).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from relayflow.codestep.process import (
    CodeProcess,
    SocketGuard,
    WorkerGone,
    WorkerStartError,
    remove_stale_homes,
)
from relayflow.codestep.request import (
    DEFAULT_MAX_PROCESSES,
    DEFAULT_MEMORY_MB,
    CodeRequest,
    CodeResult,
    DataStoreHandler,
    failure,
)
from relayflow.codestep.runtimes import PYTHON, Runtime
from relayflow.codestep.sandbox import Isolation, detect

log = logging.getLogger(__name__)

Key = tuple[str, int, str | None]  # program (interpreter, packages folder), memory, workflow


class CodePool:
    """Runs code steps in separate processes. `await run(request)`; `await close()`."""

    def __init__(
        self,
        size: int = 2,
        data_stores: DataStoreHandler | None = None,
        *,
        memory_mb: int = DEFAULT_MEMORY_MB,
        python: str | None = None,
        max_workers: int | None = None,
        idle_seconds: float = 300.0,
        max_calls: int = 10_000,
        isolate_workflows: bool = True,
        isolation: Isolation | None = None,
        allow_unisolated: bool = False,
        max_processes: int = DEFAULT_MAX_PROCESSES,
        runtime: Runtime = PYTHON,
        socket_guard: SocketGuard | None = None,
    ) -> None:
        self.runtime = runtime  # the language of this pool's steps (runtimes.py, node/)
        self.size = max(0, size)
        self.data_stores = data_stores
        self.memory_mb = memory_mb  # spares are started with this limit
        self.python = python or runtime.default_program()  # of the spares
        # An idle process holds about 10 MB; a workflow's steps reuse its processes.
        self.max_workers = max(max_workers or max(16, 4 * self.size), self.size, 1)
        self.isolate_workflows = isolate_workflows  # False: all workflows share processes
        self.idle_seconds = idle_seconds
        self.max_calls = max_calls  # a process is replaced after this many steps
        self.isolation = isolation  # None: found at start (sandbox.detect)
        self.allow_unisolated = allow_unisolated
        self.max_processes = max_processes  # per sandboxed process, threads included
        self.socket_guard = socket_guard  # loaded in every process before its first step
        self._spares: list[CodeProcess] = []
        self._idle: dict[Key, list[CodeProcess]] = {}
        self._workers: set[CodeProcess] = set()
        self._count = 0  # processes running or starting
        self._starting_spares = 0
        self._changed = asyncio.Condition()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reaper: asyncio.Task[None] | None = None
        self._started = False
        self._start_lock = asyncio.Lock()
        self._closed = False
        self.started_processes = 0

    async def start(self) -> None:
        """Start the spares and wait for them (optional: the first `run` does it too)."""
        async with self._start_lock:
            if self._started:
                return
            if self.isolation is None:
                self.isolation = await asyncio.to_thread(detect)
            self._started = True
        if not self.isolation.available:
            if not self.allow_unisolated:
                return  # every step is refused; no process is started
            log.warning("code steps run WITHOUT isolation: %s", self.isolation.problem)
        await asyncio.to_thread(remove_stale_homes)
        async with self._changed:
            for _ in range(self.size):
                self._spawn_spare()
        self._reaper = asyncio.create_task(self._reap())
        async with self._changed:
            await self._changed.wait_for(lambda: not self._starting_spares)

    async def run(self, request: CodeRequest) -> CodeResult:
        """Run one code step. User errors, timeouts and crashes come back as `error`."""
        if self._closed:
            raise RuntimeError("the code-step pool is closed")
        if not self._started:
            await self.start()
        assert self.isolation is not None
        if not self.isolation.available and not self.allow_unisolated:
            return failure("IsolationError", self.isolation.refusal())
        if request.runtime != self.runtime.name:
            return failure("CodeStepError", f"this pool runs {self.runtime.name} steps")
        problem = self.runtime.problem()
        if problem:
            return failure("CodeStepError", problem)
        workflow = request.workflow if self.isolate_workflows else None
        key: Key = (request.program or self.python, request.memory_mb, workflow)
        for _attempt in range(3):
            try:
                worker = await self._acquire(key)
            except WorkerStartError as exc:
                return failure("CodeStepError", str(exc))
            try:
                result = await worker.call(request, self.data_stores)
            except WorkerGone:
                await self._discard(worker)
                continue
            except BaseException:
                # Cancelled mid-step: the process is in an unknown state.
                self._background(self._discard(worker))
                raise
            await self._release(worker)
            return result
        return failure("CrashError", "code-step processes exited before they could run the step")

    async def close(self) -> None:
        """End every process; steps still running fail as crashed."""
        self._closed = True
        if self._reaper is not None:
            self._reaper.cancel()
        # Spares still starting kill themselves when they see the pool closed (a task of
        # its own, started while these are awaited: wait until none is left).
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        workers = list(self._workers)
        self._workers.clear()
        self._spares.clear()
        self._idle.clear()
        await asyncio.gather(*(w.stop() for w in workers), return_exceptions=True)

    def stats(self) -> dict[str, int]:
        return {
            "processes": len(self._workers),
            "spares": len(self._spares),
            "idle": sum(len(ws) for ws in self._idle.values()),
            "started": self.started_processes,
        }

    # Choosing a process -----------------------------------------------------------------

    async def _acquire(self, key: Key) -> CodeProcess:
        python, memory_mb, _workflow = key
        plain = python == self.python and memory_mb == self.memory_mb
        async with self._changed:
            while True:
                idle = self._idle.get(key)
                while idle:
                    worker = idle.pop()
                    if worker.alive:
                        return worker
                    self._forget(worker)
                while plain and self._spares:
                    worker = self._spares.pop()  # topped up after the step (_release)
                    if worker.alive:
                        worker.key = key
                        return worker
                    self._forget(worker)
                if self._count < self.max_workers:
                    self._count += 1
                    break
                victim = self._longest_idle()
                if victim is not None:
                    self._forget(victim)
                    self._background(victim.stop())
                    self._count += 1
                    break
                await self._changed.wait()
        worker = self._process(python, memory_mb, key)
        try:
            await worker.start()
        except BaseException:
            async with self._changed:
                self._count -= 1
                self._changed.notify_all()
            raise
        self.started_processes += 1
        self._workers.add(worker)
        return worker

    def _process(self, python: str, memory_mb: int, key: Key) -> CodeProcess:
        sandbox = self.isolation.sandbox if self.isolation is not None else None
        return CodeProcess(
            python,
            memory_mb,
            key,
            sandbox,
            self.max_processes,
            self.runtime,
            socket_guard=self.socket_guard,
        )

    def _longest_idle(self) -> CodeProcess | None:
        candidates = [w for ws in self._idle.values() for w in ws] or list(self._spares)
        return min(candidates, key=lambda w: w.last_used, default=None)

    async def _release(self, worker: CodeProcess) -> None:
        if self._closed or not worker.alive or worker.retire or worker.calls >= self.max_calls:
            await self._discard(worker)
            return
        worker.last_used = time.monotonic()
        async with self._changed:
            self._idle.setdefault(worker.key, []).append(worker)
            # Replace a spare this step took now, not before it ran: starting a process
            # costs the CPU that a first step would otherwise wait for.
            self._spawn_spare()
            self._changed.notify_all()

    async def _discard(self, worker: CodeProcess) -> None:
        await worker.kill()
        async with self._changed:
            self._forget(worker)
            self._spawn_spare()
            self._changed.notify_all()

    def _forget(self, worker: CodeProcess) -> None:
        """Take `worker` out of the books (caller holds the lock)."""
        if worker in self._workers:
            self._workers.discard(worker)
            self._count -= 1
        with contextlib.suppress(ValueError):
            self._spares.remove(worker)
        idle = self._idle.get(worker.key)
        if idle is not None:
            with contextlib.suppress(ValueError):
                idle.remove(worker)
            if not idle:
                del self._idle[worker.key]

    # Spares and idle processes --------------------------------------------------------

    def _spawn_spare(self) -> None:
        """Top up the spares (caller holds the lock)."""
        if self._closed or not self._started:
            return
        if len(self._spares) + self._starting_spares >= self.size:
            return
        if self._count >= self.max_workers:
            return
        self._count += 1
        self._starting_spares += 1
        self._background(self._start_spare())

    async def _start_spare(self) -> None:
        worker = self._process(self.python, self.memory_mb, (self.python, self.memory_mb, None))
        try:
            await worker.start()
        except BaseException as exc:
            async with self._changed:
                self._count -= 1
                self._starting_spares -= 1
                self._changed.notify_all()
            if not isinstance(exc, asyncio.CancelledError):
                log.error("could not start a code-step process: %s", exc)
            return
        async with self._changed:
            self._starting_spares -= 1
            self.started_processes += 1
            if self._closed:
                self._count -= 1
                self._background(worker.kill())
            else:
                self._workers.add(worker)
                self._spares.append(worker)
            self._changed.notify_all()

    async def _reap(self) -> None:
        every = max(0.5, min(30.0, self.idle_seconds / 2))
        while True:
            await asyncio.sleep(every)
            now = time.monotonic()
            async with self._changed:
                old = [
                    w
                    for ws in self._idle.values()
                    for w in ws
                    if now - w.last_used > self.idle_seconds or not w.alive
                ]
                for worker in old:
                    self._forget(worker)
                    self._background(worker.stop())
                for worker in [w for w in self._spares if not w.alive]:
                    self._forget(worker)
                    self._background(worker.kill())
                self._spawn_spare()
                if old:
                    self._changed.notify_all()

    def _background(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
