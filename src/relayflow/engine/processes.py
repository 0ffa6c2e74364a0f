"""Worker processes beside `relayflow up`'s server: start, wake, replace when dead, stop.

Taking webhooks and executing runs must not share one event loop (DESIGN §6), so `up`
runs the server and the scheduler in its own process and executes runs in `count`
worker processes (`relayflow worker`, started with one end of a socket pair). After a
commit that queued runs the server wakes them over that channel, so a run starts within
a millisecond or two, as it would in one process. Each worker holds at most its share
(1/count) of a workflow's `concurrency`, so a busy workflow runs on every worker's core.
A worker that dies is replaced at once and the runs it held are handed back to the queue
(their leases released, not left to expire). Stopping sends SIGTERM and waits a few
seconds; a worker that does not finish in time is killed and its runs are released the
same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from relayflow.config import Config
from relayflow.engine.channel import ANSWERED, METRICS, SNAPSHOT, WAKE, Channel

log = logging.getLogger(__name__)

PARENT_FD = "RELAYFLOW_PARENT_FD"  # tells `relayflow worker` which fd is its channel
SHARE = "RELAYFLOW_WORKER_SHARE"  # and how many worker processes split each concurrency limit
STOP_SECONDS = 5.0
RESTART_PAUSE = 1.0  # at most one restart a second per slot, should a worker crash at start


def default_count() -> int:
    """Worker processes for `up`: every core but the one the server uses (at least one)."""
    return max(1, min(8, (os.cpu_count() or 2) - 1))


@dataclass
class _Slot:
    index: int
    proc: asyncio.subprocess.Process | None = None
    channel: Channel | None = None
    snapshots: list[asyncio.Future[Any]] = field(default_factory=list)
    started: float = 0.0


class WorkerProcesses:
    """The worker processes of one `relayflow up`.

    `on_answer(run_id)` hears that a worker committed a webhook answer; `release()`
    requeues the runs of workers that died (release_dead_leases) and must be awaited.
    """

    def __init__(
        self,
        config: Config,
        count: int,
        on_answer: Callable[[str], None],
        release: Callable[[], Awaitable[Any]],
    ) -> None:
        self.config = config
        self.slots = [_Slot(i) for i in range(count)]
        self._on_answer = on_answer
        self._release = release
        self._stopping = False
        self._wake_pending = False
        self._watchers: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        for slot in self.slots:
            await self._spawn(slot)
            self._watchers.append(asyncio.create_task(self._watch(slot)))

    @property
    def pids(self) -> list[int]:
        return [s.proc.pid for s in self.slots if s.proc is not None]

    async def _spawn(self, slot: _Slot) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        env = {
            **os.environ,
            PARENT_FD: str(theirs.fileno()),
            SHARE: str(len(self.slots)),
            "RELAYFLOW_DATABASE_URL": self.config.database_url,
            "RELAYFLOW_PUBLIC_URL": self.config.public_url,
            **({"RELAYFLOW_LISTEN": self.config.listen} if self.config.listen else {}),
        }
        try:
            slot.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "relayflow.cli",
                "worker",
                "--home",
                str(self.config.home),
                env=env,
                pass_fds=(theirs.fileno(),),
                stdin=asyncio.subprocess.DEVNULL,
            )
        finally:
            theirs.close()
        slot.started = time.monotonic()
        slot.channel = Channel(ours, lambda kind, payload: self._heard(slot, kind, payload))
        await slot.channel.open()

    def _heard(self, slot: _Slot, kind: bytes, payload: bytes) -> None:
        if kind == ANSWERED:
            self._on_answer(payload.decode())
        elif kind == SNAPSHOT and slot.snapshots:
            waiting = slot.snapshots.pop(0)
            if not waiting.done():
                waiting.set_result(orjson.loads(payload))

    async def _watch(self, slot: _Slot) -> None:
        """Replace the worker in `slot` whenever it exits, until stopping."""
        while True:
            assert slot.proc is not None
            code = await slot.proc.wait()
            self._closed(slot)
            if self._stopping:
                return
            log.warning(
                "worker process %d exited (%s); releasing its runs and starting another",
                slot.proc.pid,
                _describe(code),
            )
            with contextlib.suppress(Exception):
                await self._release()
            pause = RESTART_PAUSE - (time.monotonic() - slot.started)
            if pause > 0:
                await asyncio.sleep(pause)
            if self._stopping:
                return
            await self._spawn(slot)

    def _closed(self, slot: _Slot) -> None:
        if slot.channel is not None:
            slot.channel.close()
        for waiting in slot.snapshots:
            if not waiting.done():
                waiting.set_result([])
        slot.snapshots.clear()

    def wake(self) -> None:
        """Tell every worker to claim (once per event-loop turn, however many commits)."""
        if not self._wake_pending:
            self._wake_pending = True
            asyncio.get_running_loop().call_soon(self._send_wake)

    def _send_wake(self) -> None:
        self._wake_pending = False
        for slot in self.slots:
            if slot.channel is not None:
                slot.channel.send(WAKE)

    async def metrics(self, timeout: float = 2.0) -> list[Any]:
        """Each live worker's metrics snapshot (relayflow.metrics.snapshot)."""
        loop = asyncio.get_running_loop()
        asked = []
        for slot in self.slots:
            if slot.channel is not None and slot.channel.open_:
                waiting: asyncio.Future[Any] = loop.create_future()
                slot.snapshots.append(waiting)
                slot.channel.send(METRICS)
                asked.append(waiting)
        if not asked:
            return []
        done, _ = await asyncio.wait(asked, timeout=timeout)
        return [f.result() for f in done if f.result()]

    def begin_stop(self) -> None:
        """SIGTERM every worker (they stop in parallel with the server); none is replaced."""
        if self._stopping:
            return
        self._stopping = True
        for slot in self.slots:
            if slot.proc is not None and slot.proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    slot.proc.send_signal(signal.SIGTERM)

    async def stop(self, timeout: float = STOP_SECONDS) -> None:
        """SIGTERM every worker, wait up to `timeout` s, kill what is left, release its runs."""
        self.begin_stop()
        running = [s.proc for s in self.slots if s.proc is not None and s.proc.returncode is None]
        waits = [asyncio.create_task(proc.wait()) for proc in running]
        if waits:
            _done, late = await asyncio.wait(waits, timeout=timeout)
            if late:
                for proc in running:
                    if proc.returncode is None:
                        log.warning("worker process %d did not stop in time; killing it", proc.pid)
                        with contextlib.suppress(ProcessLookupError):
                            proc.kill()
                await asyncio.wait(late, timeout=5)
                with contextlib.suppress(Exception):
                    await self._release()
        for watcher in self._watchers:
            watcher.cancel()
        for slot in self.slots:
            self._closed(slot)


def _describe(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


class ParentLink:
    """A worker process's end of its channel to `relayflow up`."""

    def __init__(self, fd: int, share: int = 1) -> None:
        self._sock = socket.socket(fileno=fd)
        self.share = share  # worker processes of this `up`: each takes 1/share of a limit
        self._channel: Channel | None = None
        self.on_wake: Callable[[], None] = lambda: None
        self.on_gone: Callable[[], None] = lambda: None

    @classmethod
    def from_env(cls) -> ParentLink | None:
        fd = os.environ.pop(PARENT_FD, None)
        share = os.environ.pop(SHARE, "1")
        if not (fd and fd.isdigit()):
            return None
        return cls(int(fd), int(share) if share.isdigit() else 1)

    async def open(self) -> None:
        self._channel = Channel(self._sock, self._heard, lambda: self.on_gone())
        await self._channel.open()

    def _heard(self, kind: bytes, _payload: bytes) -> None:
        if kind == WAKE:
            self.on_wake()
        elif kind == METRICS:
            from relayflow.metrics import snapshot

            assert self._channel is not None
            self._channel.send(SNAPSHOT, orjson.dumps(snapshot()))

    def answered(self, run_id: str) -> None:
        """The answer for `run_id` (or its end without one) is committed."""
        if self._channel is not None:
            self._channel.send(ANSWERED, run_id.encode())

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
