"""One relayflow process: database, writer, catalog, and the parts it was asked to run.

`relayflow up` runs them all; `server`, `worker` and `scheduler` run one part each
against a shared PostgreSQL database (DESIGN §6). Everything that creates runs goes
through here: webhook events, schedule ticks, tests and replays.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import socket
import time
from typing import Any

import httpx
import orjson

from relayflow import metrics
from relayflow.accounts.resolver import AccountResolver
from relayflow.codestep import CodePool
from relayflow.config import Config
from relayflow.datastores.store import DataStores
from relayflow.engine.catalog import Catalog
from relayflow.engine.code import PooledCode
from relayflow.engine.links import Links
from relayflow.engine.responses import Responses
from relayflow.engine.runner import Runner
from relayflow.engine.worker import Worker
from relayflow.ids import new_id
from relayflow.sdk import HttpResponse, slots
from relayflow.steps.base import Accounts, StepServices
from relayflow.store import history
from relayflow.store.control import control_batch
from relayflow.store.database import Database
from relayflow.store.listener import Listener
from relayflow.store.responses import find_answer, forget_answer, purge_old_answers
from relayflow.store.runs import NewRun, load_runs, release_dead_leases
from relayflow.store.schedule import fired_tick
from relayflow.store.slots import slot_provider
from relayflow.store.workflows import WorkflowRow, get_workflow_by_id
from relayflow.store.writer import Batch, Writer
from relayflow.triggers.schedule import Scheduler
from relayflow.workflows import Workflows

log = logging.getLogger(__name__)


def _owner_id(role: str) -> str:
    """Who holds a lease: role, host and process id (see release_dead_leases)."""
    return f"{role}:{socket.gethostname()}:{os.getpid()}:{new_id()[-6:]}"


class Runtime:
    def __init__(
        self,
        config: Config,
        *,
        worker: bool = True,
        scheduler: bool = True,
        accounts: Accounts | None = None,
    ) -> None:
        self.config = config
        self.db = Database(config.database_url)
        self.catalog = Catalog(self.db)
        self.workflows = Workflows(self.db, self.catalog)
        self.writer = Writer(self.db, on_commit=metrics.db_commits.inc)
        self.owner = _owner_id("up" if worker and scheduler else "worker" if worker else "server")
        self.with_worker = worker
        self.with_scheduler = scheduler
        self.accounts = accounts if accounts is not None else AccountResolver(self.db, config)
        self.responses = Responses(self.writer)
        self.stores = DataStores(self.db, self.writer)
        self.http: httpx.AsyncClient | None = None
        self.code: PooledCode | None = None
        self.runner: Runner | None = None
        self.worker: Worker | None = None
        self.scheduler: Scheduler | None = None
        self.listener: Listener | None = None
        self._tasks: list[asyncio.Task[Any]] = []

    async def start(self) -> None:
        await asyncio.to_thread(self.db.upgrade)
        # Apps' request slots (e.g. CleverTap's 15 per account) hold across processes.
        slots.install(slot_provider(self.db, self.config.home))
        self.writer.start()
        self.catalog.refresh()
        self.http = httpx.AsyncClient(follow_redirects=True, timeout=30)
        # Processes start on the first code step, so servers without one never spawn any.
        self.code = PooledCode(
            CodePool(size=2, data_stores=self.stores.handle), self.config.home / "code-envs"
        )
        services = StepServices(
            http=self.http,
            env={n: os.environ[n] for n in self.config.exposed_env if n in os.environ},
            accounts=self.accounts,
            stores=self.stores,
            links=Links(self.config),
            responses=self.responses,
            code=self.code,
        )
        self.runner = Runner(self.writer, self.owner, services, self.catalog)
        self._tasks.append(asyncio.create_task(self._refresh_catalog()))
        if self.with_worker:
            await self.writer.write(release_dead_leases())
            self.worker = Worker(
                self.writer,
                self.catalog,
                self.runner,
                self.owner,
                capacity=self.config.worker_capacity,
                lease_seconds=self.config.lease_seconds,
            )
            self._tasks.append(asyncio.create_task(self.worker.run()))
            if self.db.is_postgres:
                loop = asyncio.get_running_loop()
                worker = self.worker
                self.listener = Listener(self.db, lambda: loop.call_soon_threadsafe(worker.wake))
                self.listener.start()
        if self.with_scheduler:
            self.scheduler = Scheduler(self.db, self.catalog, self.fire_tick)
            self._tasks.append(asyncio.create_task(self.scheduler.run()))
        # Everything loaded so far lives as long as the process: keep it out of the garbage
        # collector's full passes, which otherwise stall the event loop (and p99) under load.
        gc.collect()
        gc.freeze()

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
        if self.worker is not None:
            await self.worker.stop()
        if self.code is not None:
            await self.code.close()
        close_accounts = getattr(self.accounts, "aclose", None)
        if close_accounts is not None:
            await close_accounts()  # sends uploads still waiting in batches, closes clients
        if self.listener is not None:
            await asyncio.to_thread(self.listener.stop)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self.http is not None:
            await self.http.aclose()
        self.writer.stop()
        self.db.close()

    async def _refresh_catalog(self) -> None:
        tidied = time.monotonic()
        while True:
            await asyncio.sleep(0.5)
            try:
                if await asyncio.to_thread(self.catalog.refresh) and self.worker:
                    self.worker.wake()
                if time.monotonic() - tidied > 60:
                    tidied = time.monotonic()
                    await self.writer.write(Batch([purge_old_answers()]))
            except Exception:  # noqa: BLE001 - keep serving the last good catalog
                log.exception("reloading workflows failed")

    # Creating runs ----------------------------------------------------------------------

    async def ingest(
        self,
        workflow: WorkflowRow,
        event: dict[str, Any],
        *,
        trigger: str = "http",
        response: asyncio.Future[HttpResponse | None] | None = None,
    ) -> NewRun:
        """Commit an event and its run; returns once both are durable.

        With `response`, a step calling http.respond resolves that future (None when the
        run ends without responding).
        """
        new = NewRun.of(workflow.id, workflow.current_version, orjson.dumps(event).decode())
        if response is not None:
            self.responses.wait_for(new.run_id, response)
        try:
            await self.writer.write(Batch(new.statements(), notify=True))
        except BaseException:
            self.responses.forget(new.run_id)
            raise
        metrics.events_ingested.labels(trigger).inc()
        if self.worker is not None:
            self.worker.wake()
        return new

    async def fire_tick(self, workflow_id: str, tick: float, missed: int, event: dict) -> bool:
        row = self.catalog.workflows[workflow_id]
        new = NewRun.of(workflow_id, row.current_version, orjson.dumps(event).decode())
        claim = fired_tick(workflow_id, tick, missed, new.run_id)
        try:
            await self.writer.write(Batch([claim, *new.statements()], notify=True))
        except Exception:  # noqa: BLE001 - another scheduler fired this tick first
            log.info("tick %s of %s was already fired elsewhere", tick, row.name)
            return False
        metrics.events_ingested.labels("schedule").inc()
        if self.worker is not None:
            self.worker.wake()
        return True

    async def replay(self, run_id: str, version: int | None = None) -> NewRun:
        """Queue a new run of the event behind `run_id`, on `version` (default: current)."""
        found = history.run_origin(self.db, run_id)
        if found is None:
            raise KeyError(f"no run {run_id}")
        event_id, workflow_id = found
        # The database, not the catalog: a deploy a moment ago must count ("fix, then replay").
        row = get_workflow_by_id(self.db, workflow_id)
        if row is None:
            raise KeyError(f"the workflow of run {run_id} no longer exists")
        version = version or row.current_version
        self.catalog.compiled(workflow_id, version)  # the version must exist and compile
        new = NewRun(
            event_id=event_id,
            run_id=new_id(),
            workflow_id=workflow_id,
            version=version,
            payload="",
            received_at=time.time(),
            replay_of=run_id,
            new_event=False,
        )
        await self.writer.write(Batch(new.statements(), notify=True))
        if self.worker is not None:
            self.worker.wake()
        return new

    @property
    def answers_elsewhere(self) -> bool:
        """Whether runs may execute in another process (so answers can arrive by database)."""
        return self.worker is None or self.db.is_postgres

    async def replay_failed(self, workflow_id: str) -> list[NewRun]:
        """Replay, on the current version, every failed run not replayed yet (oldest first)."""
        failed = history.failed_runs_to_replay(self.db, workflow_id)
        return [await self.replay(run_id) for run_id in failed]

    async def answer_from_database(self, run_id: str) -> HttpResponse | None | bool:
        """A response another process left for `run_id`; None when the run ended without
        one; False while there is nothing yet."""
        found = await asyncio.to_thread(find_answer, self.db, run_id)
        if found is None or found is False:
            return found
        await self.writer.write(Batch([forget_answer(run_id)]))
        return HttpResponse(found.status, found.headers, found.body)

    async def control(self, run_id: str, action: str) -> bool:
        """Resume a sleeping run now, or cancel a queued or sleeping one."""
        changed = await self.writer.write(control_batch(run_id, action))
        if changed and self.worker is not None:
            self.worker.wake()
        return bool(changed)

    async def run_now(
        self,
        workflow: WorkflowRow,
        event: dict[str, Any],
        version: int | None = None,
        test: bool = True,
        stop_after: str | None = None,
    ) -> str:
        """Execute one run inline (for `relayflow test`), returning its run id."""
        assert self.runner is not None
        new = NewRun.of(
            workflow.id,
            version or workflow.current_version,
            orjson.dumps(event).decode(),
            test=test,
            lease_owner=self.owner,
            lease_expires=time.time() + 3600,
        )
        claimed = await self.writer.write(
            Batch(new.statements(), then=lambda cur, db: load_runs(cur, db, [new.run_id]))
        )
        compiled = self.catalog.compiled(workflow.id, new.version)
        await self.runner.execute(claimed[0], compiled, stop_after)
        return new.run_id
