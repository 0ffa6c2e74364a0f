"""Polling sources: every `every:`, each active workflow's source is checked for new items.

One process polls a source at a time: the one that holds its lease (store/polling.py),
normally the scheduler. A poll runs in a thread of its own, so a slow feed or a big file
never holds up the event loop or the other sources. The source's items are cut into
chunks (triggers/chunks.py); each chunk's runs commit with the cursor after them, only
from the generation the poll read, so a kill -9 at any moment neither loses nor repeats
an item, and a second poller makes nothing. A failing poll is recorded on the workflow
(last error, next poll) and retried with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from relayflow import metrics
from relayflow.engine.catalog import Catalog
from relayflow.engine.compiled import CompiledWorkflow
from relayflow.jsoncodec import dumps
from relayflow.model.triggers import SourceTrigger, backfill_count
from relayflow.model.workflow import Workflow
from relayflow.sdk import (
    LocalFiles,
    PollContext,
    Polled,
    PollError,
    PollingSource,
    StepError,
    discover,
)
from relayflow.store import polling as cursors
from relayflow.store.database import Database
from relayflow.store.runs import NewRun
from relayflow.store.workflows import WorkflowRow
from relayflow.store.writer import Batch, Writer
from relayflow.triggers.chunks import CHUNK, Chunk, chunks
from relayflow.triggers.webhooks import AccountFields

log = logging.getLogger(__name__)

LEASE = 60.0  # seconds a poll holds its source without committing before another may take it
MAX_BACKOFF = 900.0
PREVIEW = 20  # events a dry run shows
DRY_RUN_MAX = 100_000  # items a dry run reads at most


def config_of(trigger: SourceTrigger) -> str:
    """What identifies a source's cursor: a changed source, account or input starts anew."""
    text = dumps({"uses": trigger.uses, "account": trigger.account, "with": trigger.with_})
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def polled_source(compiled: CompiledWorkflow) -> tuple[SourceTrigger, PollingSource] | None:
    """The workflow's polling source and its trigger, when it has one."""
    trigger = compiled.workflow.trigger.source
    if trigger is None or not isinstance(compiled.source, PollingSource):
        return None
    return trigger, compiled.source


def every_of(trigger: SourceTrigger, source: PollingSource) -> float:
    return trigger.every or source.every


def polling_status(db: Database, workflow_id: str, workflow: Workflow) -> dict[str, Any] | None:
    """A workflow's polling source and what its polls came to (last poll, last error, next
    poll), for the API, `relayflow workflows show` and the builder; None for a workflow
    whose trigger is not a polling source."""
    trigger = workflow.trigger.source
    source = discover().source(trigger.uses) if trigger is not None else None
    if trigger is None or not isinstance(source, PollingSource):
        return None
    found = cursors.poll_status(db, workflow_id) or {}
    if not found.get("last_poll_at"):
        state = "polling" if found.get("polling_now") else "waiting for the first poll"
    elif found.get("polling_now"):
        state = "polling"
    else:
        state = "failing" if found.get("failures") else "ok"
    return {
        "source": source.key,
        "every": every_of(trigger, source),
        "backfill": trigger.backfill,
        "dedupe": source.dedupe,
        "state": state,
        **{k: found.get(k) for k in STATUS_FIELDS},
    }


STATUS_FIELDS = (
    "last_poll_at",
    "last_ok_at",
    "last_error",
    "last_error_at",
    "next_poll_at",
    "failures",
    "emitted",
    "last_emitted",
    "polling_now",
    "cursor",
)


def backoff(every: float, failures: int) -> float:
    """Seconds until the next try after `failures` failed polls in a row."""
    delay = min(every * 2 ** max(failures - 1, 0), max(every, MAX_BACKOFF))
    return delay * random.uniform(0.9, 1.1)


@dataclass
class PollOutcome:
    """What one poll came to (also what `poll now` answers)."""

    workflow: str
    emitted: int = 0
    problems: list[str] = field(default_factory=list)
    error: str | None = None
    busy: str | None = None  # polled elsewhere right now (by this owner)
    run_ids: list[str] = field(default_factory=list)
    next_poll_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "workflow": self.workflow,
            "emitted": self.emitted,
            "problems": self.problems,
            "error": self.error,
            "busy": self.busy,
            "run_ids": self.run_ids[:100],
            "next_poll_at": self.next_poll_at,
        }


@dataclass
class DryRun:
    """What a poll would emit now, without emitting it."""

    workflow: str
    count: int = 0
    complete: bool = True  # False: more items than a dry run reads
    events: list[Any] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    error: str | None = None
    first: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "workflow": self.workflow,
            "would_emit": self.count,
            "complete": self.complete,
            "events": self.events,
            "problems": self.problems[:PREVIEW],
            "error": self.error,
            "first_poll": self.first,
        }


class Poller:
    """Polls the sources of every active workflow that has one, when each is due."""

    def __init__(
        self,
        db: Database,
        writer: Writer,
        catalog: Catalog,
        accounts: AccountFields | None,
        owner: str,
        files: LocalFiles,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.db = db
        self.writer = writer
        self.catalog = catalog
        self.accounts = accounts
        self.owner = owner
        self.files = files
        self.wake = wake
        self._due: dict[str, float] = {}
        self._running: dict[str, asyncio.Task[PollOutcome]] = {}
        self._stopping = False

    async def run(self) -> None:
        while not self._stopping:
            try:
                self.start_due()
            except Exception:  # noqa: BLE001 - keep polling the other sources
                log.exception("choosing the sources to poll failed")
            await asyncio.sleep(0.5)

    def start_due(self) -> None:
        now = time.time()
        for row in self.catalog.deployed():
            if not row.active or row.id in self._running or self._due.get(row.id, 0) > now:
                continue
            try:
                compiled = self.catalog.compiled(row.id, row.current_version)
            except Exception:  # noqa: BLE001
                log.exception("cannot load workflow %s", row.name)
                self._due[row.id] = now + 30
                continue
            if polled_source(compiled) is None:
                self._due[row.id] = float("inf") if row.current_version else now + 30
                continue
            task = asyncio.create_task(self.poll(row, compiled))
            self._running[row.id] = task
            task.add_done_callback(lambda _t, wid=row.id: self._running.pop(wid, None))

    def forget(self) -> None:
        """Look at every workflow again (after a deploy)."""
        self._due.clear()

    async def stop(self) -> None:
        """Stop starting polls; a poll in progress ends at its next item (what it
        committed stays; the rest is read again by the next poll)."""
        self._stopping = True
        for task in list(self._running.values()):
            task.cancel()

    # One poll ------------------------------------------------------------------------

    async def poll(
        self, row: WorkflowRow, compiled: CompiledWorkflow | None = None, force: bool = False
    ) -> PollOutcome:
        """Poll the workflow's source now if it is due (or `force`) and no other process
        is polling it; commits the runs of its new items."""
        compiled = compiled or self.catalog.compiled(row.id, row.current_version)
        found = polled_source(compiled)
        if found is None:
            raise LookupError(f"{row.name}'s trigger is not a polling source")
        trigger, source = found
        outcome = PollOutcome(row.name)
        claimed = await self.writer.write(
            cursors.claim(row.id, config_of(trigger), self.owner, LEASE, force=force)
        )
        if isinstance(claimed, cursors.Busy):
            self._due[row.id] = claimed.next_poll_at
            outcome.busy, outcome.next_poll_at = claimed.owner, claimed.next_poll_at
            return outcome
        every = every_of(trigger, source)
        try:
            ctx = self._context(trigger, source, claimed.state)
            loop = asyncio.get_running_loop()
            wake = lambda: loop.call_soon_threadsafe(self.wake)  # noqa: E731
            await in_thread(self._emit, claimed, compiled, trigger, source, ctx, outcome, wake)
        except PollError as exc:
            outcome.error = exc.reason
        except Exception as exc:  # noqa: BLE001 - the source's bug: shown on the workflow
            log.exception("polling %s (%s) failed", row.name, source.key)
            outcome.error = f"{source.key} failed: {type(exc).__name__}: {exc}"
        failures = claimed.failures + 1 if outcome.error else 0
        next_at = time.time() + (backoff(every, failures) if outcome.error else every)
        outcome.next_poll_at = next_at
        statements = [cursors.finish(claimed, next_at, outcome.emitted, outcome.error)]
        if outcome.emitted and source.dedupe == "unique":
            statements.append(cursors.trim_seen(row.id))
        await self.writer.write(Batch(statements))
        self._due[row.id] = next_at
        metrics.polls.labels("failed" if outcome.error else "ok").inc()
        if outcome.error:
            log.warning("poll of %s failed: %s", row.name, outcome.error)
        return outcome

    def _context(
        self, trigger: SourceTrigger, source: PollingSource, state: dict[str, Any] | None
    ) -> PollContext[Any]:
        fields: dict[str, Any] = {}
        if trigger.account:
            if self.accounts is None:
                raise PollError("connected accounts are not available in this process")
            try:
                fields = self.accounts.fields(trigger.account, source.app)[0]
            except StepError as exc:
                raise PollError(str(exc)) from None
        elif source.needs_account:
            raise PollError(f"{source.key} needs an account: add `account:` to the trigger")
        return PollContext(
            inputs=source.inputs.model_validate(trigger.with_),
            account=fields,
            account_name=trigger.account,
            cursor=(state or {}).get("cursor"),
            position=(state or {}).get("position"),
            first=state is None,
            backfill=backfill_count(trigger.backfill) if state is None else None,
            files=self.files,
        )

    def _emit(
        self,
        claimed: cursors.Claim,
        compiled: CompiledWorkflow,
        trigger: SourceTrigger,
        source: PollingSource,
        ctx: PollContext[Any],
        outcome: PollOutcome,
        wake: Callable[[], None],
    ) -> None:
        """In a poll thread: read the source, commit chunk after chunk."""
        generation = claimed.generation
        backfill = backfill_count(trigger.backfill)
        items = self._renewing(_checked(source, ctx), claimed)
        for chunk in chunks(items, source.dedupe, claimed.state, backfill, CHUNK):
            if chunk.last and not chunk.items and not chunk.problems and _same(chunk, claimed):
                return  # nothing new: the cursor stays as it is
            runs = [_run(compiled, source, item) for item in chunk.items]
            ids = [str(item.id) for item in chunk.items] if source.dedupe == "unique" else None
            started = self.writer.write_blocking(
                cursors.commit_chunk(
                    claimed, generation, chunk.state, runs, ids, chunk.problems, LEASE
                )
            )
            if started is None:
                log.info("%s was polled elsewhere at the same time; stopping", compiled.name)
                return
            generation += 1
            outcome.emitted += len(started)
            outcome.run_ids.extend(new.run_id for new in started)
            outcome.problems.extend(chunk.problems)
            if started:
                metrics.events_ingested.labels("poll").inc(len(started))
                wake()

    def _renewing(self, items: Iterator[Polled], claimed: cursors.Claim) -> Iterator[Polled]:
        """The items, renewing the lease while a long read commits nothing (a backfill
        of the N most recent items reads the whole backlog first)."""
        renewed = time.monotonic()
        for item in items:
            if self._stopping:
                raise PollError("relayflow stopped during this poll; the next one goes on")
            if time.monotonic() - renewed > LEASE / 3:
                self.writer.write_blocking(Batch([cursors.renew(claimed, LEASE)]))
                renewed = time.monotonic()
            yield item

    # Dry run -------------------------------------------------------------------------

    async def dry_run(self, row: WorkflowRow, limit: int = PREVIEW) -> DryRun:
        """What a poll now would emit (the first `limit` events), committing nothing."""
        compiled = self.catalog.compiled(row.id, row.current_version)
        found = polled_source(compiled)
        if found is None:
            raise LookupError(f"{row.name}'s trigger is not a polling source")
        trigger, source = found
        state = await asyncio.to_thread(cursors.cursor_of, self.db, row.id, config_of(trigger))
        shown = DryRun(row.name, first=state is None)
        try:
            ctx = self._context(trigger, source, state)
            await in_thread(self._preview, row, trigger, source, ctx, state, shown, limit)
        except PollError as exc:
            shown.error = exc.reason
        except Exception as exc:  # noqa: BLE001
            shown.error = f"{source.key} failed: {type(exc).__name__}: {exc}"
        return shown

    def _preview(
        self,
        row: WorkflowRow,
        trigger: SourceTrigger,
        source: PollingSource,
        ctx: PollContext[Any],
        state: dict[str, Any] | None,
        shown: DryRun,
        limit: int,
    ) -> None:
        read = 0

        def bounded() -> Iterator[Polled]:
            nonlocal read
            for item in _checked(source, ctx):
                read += 1
                if read > DRY_RUN_MAX:
                    shown.complete = False
                    return
                yield item

        backfill = backfill_count(trigger.backfill)
        for chunk in chunks(bounded(), source.dedupe, state, backfill, CHUNK):
            items = chunk.items
            if source.dedupe == "unique" and items:
                seen = cursors.seen_ids(self.db, row.id, [str(i.id) for i in items])
                items = [i for i in items if str(i.id) not in seen]
            shown.count += len(items)
            shown.problems.extend(chunk.problems)
            room = limit - len(shown.events)
            shown.events.extend(item.event for item in items[: max(room, 0)])


async def in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` in a daemon thread of its own: a poll stuck in a read can neither hold
    up the event loop nor keep the process from exiting."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Any] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if done.done():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)

    def target() -> None:
        result, error = None, None
        try:
            result = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop closed while the poll was reading
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=target, name="relayflow-poll", daemon=True).start()
    return await done


def _checked(source: PollingSource, ctx: PollContext[Any]) -> Iterator[Polled]:
    for item in source.poll(ctx):
        if not isinstance(item, Polled):
            raise TypeError(f"{source.key} yielded {type(item).__name__}, not Polled")
        yield item


def _same(chunk: Chunk, claimed: cursors.Claim) -> bool:
    return claimed.state is not None and chunk.state == claimed.state


def _run(compiled: CompiledWorkflow, source: PollingSource, item: Polled) -> NewRun:
    context: dict[str, Any] = {"source": source.key}
    if item.id is not None:
        context["item_id"] = item.id
    context.update(item.context)
    return NewRun.of(
        compiled.workflow_id, compiled.version, dumps(item.event), context=dumps(context)
    )
