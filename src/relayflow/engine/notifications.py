"""Failure notifications: a message when a run fails, and when a workflow recovers.

The runner hands a notice over with `failed()` / `succeeded()`, which only put it on a
queue; one background task sends it (Apprise, in a thread), so a slow or broken mail
server never delays a run or its checkpoints. Repeats are rate-limited per workflow: the
first failure in a period is sent at once, later ones are counted and sent as one summary
when the period ends. The state (the period, the count, whether a workflow is failing) is
this process's: each worker process limits its own messages. A process that has not seen
a workflow fail (it started after the failures, or they ran in another worker) asks the
database once, at that workflow's first success, whether the run before it failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from relayflow.model.settings import Notify
from relayflow.sdk import send_notification
from relayflow.store import history
from relayflow.store.database import Database

log = logging.getLogger(__name__)

Send = Callable[[list[str], str, str, Any], Awaitable[Any]]
_DEFAULT = Notify()  # a workflow without settings.notify: failures, to the default URLs
QUEUE_LIMIT = 10_000  # notices waiting to be sent; beyond it they are counted, not queued


@dataclass
class Notice:
    kind: str  # failure | recovered | summary | succeeded (a recovery if the run before failed)
    workflow: str
    version: int
    run_id: str
    urls: list[str]
    every: float
    step: str = ""
    error: str = ""
    count: int = 0  # summary: failures not sent one by one
    workflow_id: str = ""


@dataclass
class _Window:
    """One workflow's rate-limit period: failures after the first are counted here."""

    until: float
    suppressed: int = 0
    latest: Notice | None = None
    flush: asyncio.TimerHandle | None = field(default=None, repr=False)


class Notifier:
    """Sends failure and recovery messages for one process's runs, never blocking them."""

    def __init__(
        self,
        default_urls: tuple[str, ...],
        public_url: str,
        db: Database | None = None,
        send: Send = send_notification,
    ) -> None:
        self.default_urls = list(default_urls)
        self.db = db
        self.public_url = public_url.rstrip("/")
        self._send = send
        self._queue: asyncio.Queue[Notice] = asyncio.Queue(QUEUE_LIMIT)
        self._windows: dict[str, _Window] = {}
        self._failing: set[str] = set()
        self._known: set[str] = set()  # workflows whose state (failing or not) is known here
        self._task: asyncio.Task | None = None
        self.dropped = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._deliver())

    async def close(self) -> None:
        for window in self._windows.values():
            if window.flush is not None:
                window.flush.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    # What the runner calls: quick, never raises -------------------------------------

    def failed(self, compiled: Any, run: Any, step: str, error: str) -> None:
        self._failing.add(compiled.name)
        self._known.add(compiled.name)
        wanted = self._wanted(compiled, "failure")
        if wanted is not None:
            urls, every = wanted
            self._put(Notice("failure", compiled.name, compiled.version, run.id, urls, every,
                             step, error))

    def succeeded(self, compiled: Any, run: Any) -> None:
        name = compiled.name
        if name not in self._failing and (name in self._known or self.db is None):
            return
        kind = "recovered" if name in self._failing else "succeeded"
        self._failing.discard(name)
        self._known.add(name)
        wanted = self._wanted(compiled, "recovered")
        if wanted is not None:
            urls, every = wanted
            self._put(
                Notice(kind, name, compiled.version, run.id, urls, every,
                       workflow_id=compiled.workflow_id)
            )

    def _wanted(self, compiled: Any, kind: str) -> tuple[list[str], float] | None:
        settings = compiled.workflow.settings.notify or _DEFAULT
        urls = settings.to or self.default_urls
        return (urls, settings.every) if kind in settings.on and urls else None

    def _put(self, notice: Notice) -> None:
        try:
            self._queue.put_nowait(notice)
        except asyncio.QueueFull:
            self.dropped += 1

    # The background task -------------------------------------------------------------

    async def _deliver(self) -> None:
        while True:
            notice = await self._queue.get()
            if notice.kind == "failure" and self._limited(notice):
                continue
            if notice.kind == "succeeded":
                if not await self._recovered(notice):
                    continue
                notice.kind = "recovered"
            title, body = self.message(notice)
            kind = "success" if notice.kind == "recovered" else "failure"
            try:
                await self._send(notice.urls, title, body, kind)
            except Exception as exc:  # noqa: BLE001 - a failed message must not stop the next
                log.warning("notification for %s not sent: %s", notice.workflow, exc)

    async def _recovered(self, notice: Notice) -> bool:
        """Whether the run before this successful one failed (read off the run's path)."""
        assert self.db is not None
        try:
            before = await asyncio.to_thread(
                history.ended_before, self.db, notice.workflow_id, notice.run_id
            )
        except Exception as exc:  # noqa: BLE001 - a failed read must not stop the next notice
            log.warning("could not tell whether %s recovered: %s", notice.workflow, exc)
            return False
        return before == "failed"

    def _limited(self, notice: Notice) -> bool:
        """Whether `notice` is counted into its workflow's current period instead of sent."""
        now = time.monotonic()
        window = self._windows.get(notice.workflow)
        if window is not None and now < window.until:
            window.suppressed += 1
            window.latest = notice
            return True
        window = self._windows[notice.workflow] = _Window(until=now + notice.every)
        loop = asyncio.get_running_loop()
        window.flush = loop.call_later(notice.every, self._summarise, notice.workflow)
        return False

    def _summarise(self, workflow: str) -> None:
        window = self._windows.pop(workflow, None)
        if window is None or not window.suppressed or window.latest is None:
            return
        latest = window.latest
        summary = Notice(
            "summary", latest.workflow, latest.version, latest.run_id, latest.urls,
            latest.every, latest.step, latest.error, window.suppressed,
        )
        self._put(summary)
        # The summary opens the next period, so a storm gives one message per period.
        self._windows[workflow] = _Window(until=time.monotonic() + latest.every)
        self._windows[workflow].flush = asyncio.get_running_loop().call_later(
            latest.every, self._summarise, workflow
        )

    def message(self, notice: Notice) -> tuple[str, str]:
        """The title and body of a notice: workflow, step, error and a link to the run."""
        link = f"{self.public_url}/runs/{notice.run_id}"
        where = f"Workflow: {notice.workflow} (version {notice.version})"
        if notice.kind == "recovered":
            return (
                f"relayflow: {notice.workflow} recovered",
                f"{where}\nA run succeeded after failed runs.\nRun: {link}",
            )
        detail = f"Step: {notice.step}\nError: {notice.error}\nRun: {link}"
        if notice.kind == "summary":
            period = f"{notice.every:g}s"
            return (
                f"relayflow: {notice.workflow} failed {notice.count} more times",
                f"{where}\n{notice.count} more runs failed in the last {period} (one message"
                f" per {period}). The latest:\n{detail}",
            )
        return f"relayflow: {notice.workflow} failed", f"{where}\n{detail}"
