"""One relayflow process: database, writer, catalog, and the parts it was asked to run.

`relayflow up` runs the server and the scheduler here and executes runs in worker
processes beside it (`worker_processes`, engine.processes); `server`, `worker` and
`scheduler` run one part each against a shared PostgreSQL database (DESIGN §6).
Everything that creates runs goes through here: webhook events, schedule ticks, tests
and replays.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import socket
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from relayflow import audit, egress, metrics
from relayflow.accounts.resolver import AccountResolver
from relayflow.codestep import NODE, PYTHON, CodePool, Isolation, detect
from relayflow.config import Config
from relayflow.datastores.store import DataStores
from relayflow.engine.catalog import Catalog
from relayflow.engine.code import PooledCode
from relayflow.engine.iterations import StoredIterations
from relayflow.engine.links import Links
from relayflow.engine.notifications import Notifier
from relayflow.engine.processes import ParentLink, WorkerProcesses
from relayflow.engine.responses import Responses
from relayflow.engine.runner import Runner
from relayflow.engine.worker import Worker
from relayflow.ids import new_id
from relayflow.jsoncodec import dumps
from relayflow.sdk import HttpResponse, LocalFiles, Received, http_session, slots
from relayflow.steps.base import Accounts, StepServices
from relayflow.store import deliveries, history
from relayflow.store.control import control_batch, sleeping_run
from relayflow.store.database import Database
from relayflow.store.listener import Listener
from relayflow.store.responses import find_answer, forget_answer, purge_old_answers
from relayflow.store.runs import NewRun, load_runs, release_dead_leases
from relayflow.store.schedule import fired_tick
from relayflow.store.slots import slot_provider
from relayflow.store.workflows import WorkflowRow, get_workflow_by_id
from relayflow.store.writer import Batch, Writer
from relayflow.triggers.polling import DryRun, Poller, PollOutcome
from relayflow.triggers.schedule import Scheduler
from relayflow.workflows import Workflows

log = logging.getLogger(__name__)

GC_YOUNG_THRESHOLD = 20_000

REFUSALS_LOGGED_PER_SECOND = 10  # per workflow and process; /metrics counts every one


@dataclass(frozen=True)
class DeliveryOutcome:
    """What one signed delivery came to: the runs it started, and the rest."""

    runs: list[NewRun]
    duplicates: int
    ignored: int


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
        worker_processes: int = 0,
        parent: ParentLink | None = None,
    ) -> None:
        """`worker_processes` > 0 executes runs in that many processes beside this one
        instead of here; `parent` is the channel of a worker process started that way."""
        self.config = config
        self.db = Database(config.database_url)
        self.catalog = Catalog(self.db)
        self.workflows = Workflows(self.db, self.catalog)
        self.writer = Writer(self.db, on_commit=metrics.db_commits.inc)
        executes = worker or worker_processes > 0
        self.owner = _owner_id("up" if executes and scheduler else "worker" if worker else "server")
        self.with_worker = worker and not worker_processes
        self.with_scheduler = scheduler
        self.accounts = accounts if accounts is not None else AccountResolver(self.db, config)
        self.parent = parent
        self.responses = Responses(self.writer, tell=parent.answered if parent else None)
        self.processes = (
            WorkerProcesses(config, worker_processes, self.responses.nudge, self._release_dead)
            if worker_processes
            else None
        )
        self.stores = DataStores(self.db, self.writer)
        self.http: aiohttp.ClientSession | None = None
        self.code: PooledCode | None = None
        self.notifier: Notifier | None = None
        self._isolation: Isolation | None = None
        self.runner: Runner | None = None
        self.worker: Worker | None = None
        self.scheduler: Scheduler | None = None
        self.poller = Poller(
            self.db,
            self.writer,
            self.catalog,
            self.accounts,
            self.owner,
            LocalFiles(config.files_roots, (config.home.resolve(),)),
            wake=self._wake_worker,
        )
        self.listener: Listener | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._refusals: dict[str, tuple[int, int]] = {}  # workflow -> (second, logged)

    async def start(self) -> None:
        await asyncio.to_thread(self.db.upgrade)
        # Apps' request slots (e.g. CleverTap's 15 per account) hold across processes.
        slots.install(slot_provider(self.db, self.config.home))
        self.writer.start()
        self.catalog.refresh()
        policy = egress.EgressPolicy.from_env(self.config.listen)
        egress.install(policy)  # app clients built through the SDK follow it too
        # http.request steps' one keep-alive pool for every run of this process
        self.http = http_session(connections=self.config.worker_capacity, policy=policy)
        isolation = await asyncio.to_thread(lambda: self.code_isolation)
        if not isolation.available:
            log.warning("code steps %s", isolation.status(self.config.unsafe_code_steps))
        # Processes start on the first code step, so servers without one never spawn any.
        pools = [
            CodePool(
                size=2,
                data_stores=self.stores.handle,
                isolation=isolation,
                allow_unisolated=self.config.unsafe_code_steps,
                max_processes=self.config.code_max_processes,
                runtime=runtime,
                # Python steps' sockets follow the egress policy (Node.js steps' do not yet)
                socket_guard=(egress.__file__, policy.to_json()) if runtime is PYTHON else None,
            )
            for runtime in (PYTHON, NODE)
        ]
        self.code = PooledCode(pools[0], self.config.home / "code-envs", node_pool=pools[1])
        services = StepServices(
            http=self.http,
            env={n: os.environ[n] for n in self.config.exposed_env if n in os.environ},
            accounts=self.accounts,
            stores=self.stores,
            links=Links(self.config),
            responses=self.responses,
            code=self.code,
            iterations=StoredIterations(self.db, self.writer),
        )
        self.notifier = Notifier(self.config.notify_urls, self.config.public_url, self.db)
        self.notifier.start()
        self.runner = Runner(self.writer, self.owner, services, self.catalog, self.notifier)
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
                share=self.parent.share if self.parent is not None else 1,
            )
            self._tasks.append(asyncio.create_task(self.worker.run()))
            if self.parent is not None:
                self.parent.on_wake = self.worker.wake
                await self.parent.open()
            if self.db.is_postgres:
                loop = asyncio.get_running_loop()
                worker = self.worker
                self.listener = Listener(self.db, lambda: loop.call_soon_threadsafe(worker.wake))
                self.listener.start()
        if self.processes is not None:
            await self._release_dead()
            await self.processes.start()
        if self.with_scheduler:
            self.scheduler = Scheduler(self.db, self.catalog, self.fire_tick)
            self._tasks.append(asyncio.create_task(self.scheduler.run()))
            self._tasks.append(asyncio.create_task(self.poller.run()))
        # Everything loaded so far lives as long as the process: keep it out of the garbage
        # collector's full passes, which otherwise stall the event loop (and p99) under load.
        gc.collect()
        gc.freeze()
        # A run allocates thousands of short-lived containers (requests, rows, dicts) that
        # reference counting frees; a young-generation pass every 700 net allocations (the
        # default) cost ~5 % of a worker's CPU per http.request run (bench/README).
        gc.set_threshold(GC_YOUNG_THRESHOLD, 10, 10)

    @property
    def code_isolation(self) -> Isolation:
        """How code steps are isolated here, or why they cannot be (probed once, ~0.1 s)."""
        if self._isolation is None:
            self._isolation = detect(self.config.bwrap, hidden=self.config.private_paths)
        return self._isolation

    @property
    def code_steps_status(self) -> str:
        """Isolated, refused, or run without isolation: one sentence for people."""
        return self.code_isolation.status(self.config.unsafe_code_steps)

    def begin_stop(self) -> None:
        """A stop signal arrived: worker processes start stopping now (and are not replaced
        when they exit), while the server finishes the requests it has."""
        if self.processes is not None:
            self.processes.begin_stop()

    async def stop(self) -> None:
        """Stop claiming, let running runs finish for a few seconds and hand the rest back
        (leases released), stop worker processes, then flush the writer."""
        if self.scheduler is not None:
            self.scheduler.stop()
        await self.poller.stop()
        if self.worker is not None:
            await self.worker.stop(self.config.stop_grace)
        if self.processes is not None:
            await self.processes.stop(self.config.stop_grace + 2)
        if self.parent is not None:
            self.parent.close()
        if self.code is not None:
            await self.code.close()
        if self.notifier is not None:
            await self.notifier.close()
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
            await self.http.close()
        self.writer.stop()
        self.db.close()

    def wake_workers(self) -> None:
        """Runs were committed: whoever executes runs should claim now."""
        if self.worker is not None:
            self.worker.wake()
        if self.processes is not None:
            self.processes.wake()

    async def _release_dead(self) -> None:
        await self.writer.write(release_dead_leases())
        self.wake_workers()

    async def worker_metrics(self) -> list[metrics.Snapshot]:
        """The metrics of this installation's worker processes (none when runs execute here)."""
        return await self.processes.metrics() if self.processes is not None else []

    async def _refresh_catalog(self) -> None:
        tidied = time.monotonic()
        while True:
            await asyncio.sleep(0.5)
            try:
                if await asyncio.to_thread(self.catalog.refresh):
                    self.poller.forget()
                    self._wake_worker()
                if time.monotonic() - tidied > 60:
                    tidied = time.monotonic()
                    await self._tidy()
            except Exception:  # noqa: BLE001 - keep serving the last good catalog
                log.exception("reloading workflows failed")

    async def _tidy(self) -> None:
        """Drop what nobody needs any more: uncollected answers, expired delivery keys,
        log rows beyond each workflow's newest."""
        logged = await asyncio.to_thread(deliveries.logged_workflows, self.db)
        statements = [purge_old_answers(), deliveries.purge()]
        statements += [deliveries.trim_log(workflow_id) for workflow_id in logged]
        await self.writer.write(Batch(statements))

    # Creating runs ----------------------------------------------------------------------

    async def ingest(
        self,
        workflow: WorkflowRow,
        event: dict[str, Any],
        *,
        trigger: str = "http",
        response: asyncio.Future[HttpResponse | None] | None = None,
        key: str | None = None,
        window: float = 0.0,
    ) -> NewRun | None:
        """Commit an event and its run; returns once both are durable.

        With `response`, a step calling http.respond resolves that future (None when the
        run ends without responding). With an idempotency `key`, nothing is stored when
        the key was seen within `window` seconds, and the answer is None.
        """
        new = NewRun.of(workflow.id, workflow.current_version, orjson.dumps(event).decode())
        if response is not None:
            self.responses.wait_for(new.run_id, response)
        batch = (
            Batch(new.statements(), notify=True)
            if key is None
            else deliveries.ingest_keyed([deliveries.Keyed(new, key, window)])
        )
        try:
            started = await self.writer.write(batch)
        except BaseException:
            self.responses.forget(new.run_id)
            raise
        if key is not None and not started[0]:
            self.responses.forget(new.run_id)
            metrics.deliveries_skipped.labels("duplicate").inc()
            return None
        metrics.events_ingested.labels(trigger).inc()
        self.wake_workers()
        return new

    async def ingest_delivery(
        self, workflow: WorkflowRow, received: Received, window: float, trigger: str
    ) -> DeliveryOutcome:
        """Commit the runs of a verified delivery's wanted events, each unless its key was
        seen within `window` seconds; events of types not subscribed are only logged."""
        keyed: list[deliveries.Keyed] = []
        ignored = []
        for item in received.events:
            if not item.wanted:
                reason = f"type {item.type!r} is not one the workflow subscribed to"
                ignored.append(
                    deliveries.log_entry(workflow.id, "ignored", reason, item.key, item.type)
                )
                continue
            context = {k: v for k, v in (("type", item.type), ("delivery_key", item.key)) if v}
            context.update(item.context)
            new = NewRun.of(
                workflow.id,
                workflow.current_version,
                dumps(item.event),
                context=dumps(context) if context else None,
            )
            keyed.append(deliveries.Keyed(new, item.key, window, item.type))
        started: list[bool] = []
        if keyed or ignored:
            started = await self.writer.write(deliveries.ingest_keyed(keyed, also=ignored))
        runs = [item.run for item, new in zip(keyed, started, strict=True) if new]
        metrics.events_ingested.labels(trigger).inc(len(runs))
        for outcome, count in (("duplicate", len(keyed) - len(runs)), ("ignored", len(ignored))):
            if count:
                metrics.deliveries_skipped.labels(outcome).inc(count)
        if runs and self.worker is not None:
            self.worker.wake()
        return DeliveryOutcome(runs, len(keyed) - len(runs), len(ignored))

    async def log_refusal(self, workflow_id: str, reason: str) -> None:
        """Remember why a delivery was refused (a few a second per workflow; a flood of
        bad deliveries must not fill the database)."""
        metrics.deliveries_skipped.labels("refused").inc()
        second = int(time.time())
        last, logged = self._refusals.get(workflow_id, (second, 0))
        logged = logged + 1 if last == second else 1
        self._refusals[workflow_id] = (second, logged)
        if logged <= REFUSALS_LOGGED_PER_SECOND:
            await self.writer.write(Batch([deliveries.log_entry(workflow_id, "refused", reason)]))

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
        self.wake_workers()
        return True

    def _wake_worker(self) -> None:
        if self.worker is not None:
            self.worker.wake()

    async def poll_now(self, workflow: WorkflowRow, dry_run: bool = False) -> PollOutcome | DryRun:
        """Poll the workflow's source at once (not waiting for `every:`), or show what a
        poll would emit without emitting it. Raises LookupError for another trigger."""
        if dry_run:
            return await self.poller.dry_run(workflow)
        return await self.poller.poll(workflow, force=True)

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
        self.wake_workers()
        await asyncio.to_thread(
            audit.record,
            self.db,
            "run.replay",
            run_id,
            workflow=row.name,
            version=version,
            new_run=new.run_id,
        )
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
        if changed:
            self.wake_workers()
        return bool(changed)

    async def control_link(self, run_id: str, step: str, action: str) -> bool:
        """Resume or cancel a run through a delay's link: only while the run sleeps at
        that step (the delay, or the code step whose pd.flow.delay put it to sleep)."""
        sleeping = await asyncio.to_thread(sleeping_run, self.db, run_id)
        if sleeping is None:
            return False
        workflow_id, version, resumes_at = sleeping
        nodes = self.catalog.compiled(workflow_id, version).nodes
        node = next((n for n in nodes if n.name == step), None)
        # after a delay the run resumes at the next node; after pd.flow.rerun, at the same
        if node is None or resumes_at not in (node.next, node.index):
            return False
        changed = await self.writer.write(control_batch(run_id, action, sleeping_at=resumes_at))
        if changed:
            self.wake_workers()
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
