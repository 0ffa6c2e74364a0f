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
from relayflow.codestep import CodePool
from relayflow.config import Config
from relayflow.datastores.store import DataStores
from relayflow.engine import links
from relayflow.engine.catalog import Catalog
from relayflow.engine.code import CodeSteps
from relayflow.engine.context import HttpResponse
from relayflow.engine.runner import Accounts, Runner
from relayflow.engine.worker import Worker
from relayflow.ids import new_id
from relayflow.store.control import control_batch
from relayflow.store.database import Database
from relayflow.store.history import failed_runs_to_replay
from relayflow.store.listener import Listener
from relayflow.store.runs import NewRun, load_runs, release_dead_leases
from relayflow.store.workflows import WorkflowRow, get_workflow_by_id
from relayflow.store.writer import Batch, Writer
from relayflow.triggers.schedule import Scheduler

log = logging.getLogger(__name__)


# Answers left for a caller that gave up waiting (respond: from_workflow across processes).
PURGE_ANSWERS = "DELETE FROM http_responses WHERE created_at < ?"


def _owner_id(role: str) -> str:
    """Who holds a lease: role, host and process id (see release_dead_leases)."""
    return f"{role}:{socket.gethostname()}:{os.getpid()}:{new_id()[-6:]}"


def _account_fields(db: Database, config: Config):
    """Code steps see an account's fields as pd.inputs[key]["$auth"] (secrets redacted after)."""

    def fields(name: str) -> tuple[dict[str, Any], list[str]]:
        from relayflow.accounts.store import AccountStore

        account = AccountStore(db, config).get(name)
        return account.values(), [str(v) for v in account.secrets.values() if v]

    return fields


def _connected_accounts(db: Database, config: Config) -> Accounts | None:
    try:
        from relayflow.accounts.resolver import AccountResolver
    except ImportError:
        return None
    return AccountResolver(db, config)


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
        self.writer = Writer(self.db, on_commit=metrics.db_commits.inc)
        self.owner = _owner_id("up" if worker and scheduler else "worker" if worker else "server")
        self.with_worker = worker
        self.with_scheduler = scheduler
        self.accounts = accounts if accounts is not None else _connected_accounts(self.db, config)
        self.responders: dict[str, asyncio.Future[HttpResponse | None]] = {}
        self.http: httpx.AsyncClient | None = None
        self.runner: Runner | None = None
        self.worker: Worker | None = None
        self.scheduler: Scheduler | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self.listener: Listener | None = None
        self.stores = DataStores(self.db, self.writer)
        self.code_pool: CodePool | None = None

    async def start(self) -> None:
        await asyncio.to_thread(self.db.upgrade)
        self.writer.start()
        self.catalog.refresh()
        self.http = httpx.AsyncClient(follow_redirects=True, timeout=30)
        env = {name: os.environ[name] for name in self.config.exposed_env if name in os.environ}
        # Processes start on the first code step, so servers without one never spawn any.
        self.code_pool = CodePool(size=2, data_stores=self.stores.handle)
        self.runner = Runner(
            self.writer,
            self.owner,
            self.http,
            env,
            self.accounts,
            self.responders,
            stores=self.stores,
            code=CodeSteps(
                self.code_pool,
                self.config.home / "code-envs",
                _account_fields(self.db, self.config),
                env,
            ),
            link=lambda run_id, action: links.link(self.config, run_id, action),
            error_route=self._error_route,
        )
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
        if self.code_pool is not None:
            await self.code_pool.close()
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

    def _error_route(self, name: str) -> tuple[str, int] | None:
        row = self.catalog.by_name.get(name)
        if row is None or not row.active or not row.current_version:
            return None
        return row.id, row.current_version

    async def _refresh_catalog(self) -> None:
        tidied = time.monotonic()
        while True:
            await asyncio.sleep(0.5)
            try:
                if await asyncio.to_thread(self.catalog.refresh) and self.worker:
                    self.worker.wake()
                if time.monotonic() - tidied > 60:
                    tidied = time.monotonic()
                    await self.writer.write(Batch([(PURGE_ANSWERS, (time.time() - 3600,))]))
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
        new = NewRun(
            event_id=new_id(),
            run_id=new_id(),
            workflow_id=workflow.id,
            version=workflow.current_version,
            payload=orjson.dumps(event).decode(),
            received_at=time.time(),
        )
        if response is not None:
            self.responders[new.run_id] = response
            response.add_done_callback(lambda _f: self.responders.pop(new.run_id, None))
        try:
            await self.writer.write(Batch(new.statements(), notify=True))
        except BaseException:
            self.responders.pop(new.run_id, None)
            raise
        metrics.events_ingested.labels(trigger).inc()
        if self.worker is not None:
            self.worker.wake()
        return new

    async def fire_tick(self, workflow_id: str, tick: float, missed: int, event: dict) -> bool:
        row = self.catalog.workflows[workflow_id]
        new = NewRun(
            event_id=new_id(),
            run_id=new_id(),
            workflow_id=workflow_id,
            version=row.current_version,
            payload=orjson.dumps(event).decode(),
            received_at=time.time(),
        )
        tick_row = (
            "INSERT INTO schedule_ticks (workflow_id, tick, missed, run_id) VALUES (?, ?, ?, ?)",
            (workflow_id, tick, missed, new.run_id),
        )
        try:
            await self.writer.write(Batch([tick_row, *new.statements()], notify=True))
        except Exception:  # noqa: BLE001 - another scheduler fired this tick first
            log.info("tick %s of %s was already fired elsewhere", tick, row.name)
            return False
        metrics.events_ingested.labels("schedule").inc()
        if self.worker is not None:
            self.worker.wake()
        return True

    async def replay(self, run_id: str, version: int | None = None) -> NewRun:
        """Queue a new run of the event behind `run_id`, on `version` (default: current)."""
        found = self.db.fetchone("SELECT event_id, workflow_id FROM runs WHERE id = ?", (run_id,))
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
        return [await self.replay(run_id) for run_id in failed_runs_to_replay(self.db, workflow_id)]

    async def answer_from_database(self, run_id: str) -> HttpResponse | None | bool:
        """A response another process left for `run_id`; None when the run ended without
        one; False while there is nothing yet."""
        row = await asyncio.to_thread(
            self.db.fetchone,
            "SELECT status, headers, body FROM http_responses WHERE run_id = ?",
            (run_id,),
        )
        if row is not None:
            await self.writer.write(
                Batch([("DELETE FROM http_responses WHERE run_id = ?", (run_id,))])
            )
            return HttpResponse(row[0], orjson.loads(row[1]), orjson.loads(row[2]))
        status = await asyncio.to_thread(
            self.db.fetchone, "SELECT status FROM runs WHERE id = ?", (run_id,)
        )
        if status and status[0] in ("succeeded", "failed", "exited", "cancelled"):
            return None
        return False

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
        new = NewRun(
            event_id=new_id(),
            run_id=new_id(),
            workflow_id=workflow.id,
            version=version or workflow.current_version,
            payload=orjson.dumps(event).decode(),
            received_at=time.time(),
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
