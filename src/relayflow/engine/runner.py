"""Executing one claimed run, node by node, with a checkpoint after every node.

A run resumes at its program counter (`next_step`): the first node without a recorded
result. A node's result is committed before the next node starts, so a completed step
never runs again; only a step in flight when a process dies can run twice
(at-least-once). Failed attempts are retried durably, and delays are rows: the run goes
back to the queue with a later `available_at`, holding no worker or memory meanwhile.
What a node does is its kind's business (relayflow.steps); this module only decides
where the run goes next and what commits together.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from relayflow import metrics
from relayflow.engine.compiled import CompiledWorkflow
from relayflow.engine.notifications import Notifier
from relayflow.jsoncodec import dumps
from relayflow.steps.base import Attempt, Node, StepServices, trigger_context
from relayflow.steps.outcome import StepOutcome
from relayflow.store import runs
from relayflow.store.runs import ClaimedRun, NewRun, StepRow
from relayflow.store.writer import Batch, Writer

log = logging.getLogger(__name__)


class ErrorWorkflows(Protocol):
    def error_route(self, name: str) -> tuple[str, int] | None:
        """(workflow id, version) of a deployed, active workflow named `name`, or None."""
        ...


class Runner:
    """Runs claimed runs for one process (`owner` holds their leases)."""

    def __init__(
        self,
        writer: Writer,
        owner: str,
        services: StepServices,
        error_workflows: ErrorWorkflows | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.writer = writer
        self.notifier = notifier
        self.owner = owner
        self.services = services
        self.error_workflows = error_workflows
        # The worker hears of a run giving its concurrency slot back, before that commits,
        # so that its next claim can commit in the same transaction.
        self.slot_freed: Callable[[ClaimedRun], None] = lambda run: None

    async def execute(
        self, run: ClaimedRun, compiled: CompiledWorkflow, stop_after: str | None = None
    ) -> str:
        """Run `run` from its program counter; returns its status afterwards.

        `stop_after` (test runs) ends the run successfully after the step of that name.
        """
        status = await self._execute(run, compiled, stop_after)
        if status not in ("queued", "sleeping") and self.services.responses is not None:
            self.services.responses.run_ended(run.id, compiled)
        if status == "succeeded" and self.notifier is not None and not run.test:
            self.notifier.succeeded(compiled, run)
        return status

    async def _execute(
        self, run: ClaimedRun, compiled: CompiledWorkflow, stop_after: str | None
    ) -> str:
        steps: dict[str, Any] = {
            "trigger": {"event": run.event, "context": trigger_context(run, compiled)}
        }
        for _index, result in sorted(run.results.items()):
            if result["status"] == "succeeded":
                steps[result["name"]] = {
                    "$return_value": result["return_value"],
                    **result["exports"],
                }
        scope = {"steps": steps, "env": self.services.env}
        nodes = compiled.nodes
        pc = run.next_step
        while pc < len(nodes):
            node = nodes[pc]
            prior = run.results.get(pc)
            again = prior is not None and prior["status"] in ("retrying", "rerun")
            attempt = prior["attempts"] + 1 if again else 1
            outcome = await node.kind.run(
                Attempt(run, compiled, node, scope, attempt, self.services)
            )
            if not run.test:  # /metrics counts live runs only
                _count_step(node, outcome)
            if outcome.status == "failed":
                return await self._failed(run, compiled, node, outcome, attempt)
            if outcome.rerun is not None and not run.test:
                status = await self._rerun(run, node, outcome, attempt)
                if status == "failed":
                    self._notify_failed(run, compiled, node, (outcome.error or {})["message"])
                return status
            steps[node.name] = {"$return_value": outcome.return_value, **(outcome.exports or {})}
            record = runs.checkpoint(_step_row(run.id, node, outcome, attempt))
            nxt = outcome.goto if outcome.goto is not None else node.next
            if outcome.exit_reason is not None:
                end = runs.finish(run.id, "exited", nxt, outcome.finished_at, outcome.exit_reason)
                await self._end(run, Batch([record, end]))
                return "exited"
            if outcome.sleep_until is not None and not run.test:
                sleep = runs.requeue(run.id, self.owner, nxt, outcome.sleep_until, sleeping=True)
                await self._end(run, Batch([record, sleep]))
                return "sleeping"
            if nxt >= len(nodes) or node.name == stop_after:
                end = runs.finish(run.id, "succeeded", nxt, outcome.finished_at)
                await self._end(run, Batch([record, end]))
                return "succeeded"
            if not run.test and not run.holds_slot and nxt not in compiled.slot_free:
                # The next step needs a concurrency slot: queue up for one, in front.
                wait = runs.requeue(run.id, self.owner, nxt, run.created_at)
                await self._end(run, Batch([record, wait], notify=True))
                return "queued"
            release = run.holds_slot and not run.test and nxt in compiled.slot_free
            advance = runs.advance(run.id, self.owner, nxt, release_slot=release)
            if release:
                self.slot_freed(run)
            await self.writer.write(Batch([record, advance]))
            pc = nxt
        await self._end(run, Batch([runs.finish(run.id, "succeeded", pc, time.time())]))
        return "succeeded"

    async def _end(self, run: ClaimedRun, batch: Batch) -> None:
        """Write what ends this claim of the run (finished, requeued or asleep)."""
        self.slot_freed(run)
        await self.writer.write(batch)

    async def _failed(
        self,
        run: ClaimedRun,
        compiled: CompiledWorkflow,
        node: Node,
        outcome: StepOutcome,
        attempt: int,
    ) -> str:
        row = _step_row(run.id, node, outcome, attempt)
        policy = compiled.workflow.retry_policy(node.step)
        if not run.test and outcome.retryable and attempt <= policy.max:
            when = time.time() + policy.delay(attempt)
            retry = runs.requeue(run.id, self.owner, node.index, when)
            await self._end(run, Batch([runs.checkpoint(row.marked("retrying")), retry]))
            return "queued"
        assert outcome.error is not None
        message = f"step {node.name}: {outcome.error['message']}"
        statements = [
            runs.checkpoint(row),
            runs.finish(run.id, "failed", node.index, outcome.finished_at, message),
        ]
        # The error workflow's run commits with the failure: one never exists without the other.
        statements += self._error_run(run, compiled, node, outcome, message)
        await self._end(run, Batch(statements, notify=True))
        self._notify_failed(run, compiled, node, outcome.error["message"])
        return "failed"

    def _notify_failed(
        self, run: ClaimedRun, compiled: CompiledWorkflow, node: Node, error: str
    ) -> None:
        if self.notifier is not None and not run.test:
            self.notifier.failed(compiled, run, node.name, error)

    def _error_run(
        self,
        run: ClaimedRun,
        compiled: CompiledWorkflow,
        node: Node,
        outcome: StepOutcome,
        message: str,
    ) -> list[tuple[str, tuple]]:
        target = compiled.workflow.settings.error_workflow
        if run.test or not target or target == compiled.name or self.error_workflows is None:
            return []
        route = self.error_workflows.error_route(target)
        if route is None:
            log.warning(
                "%s failed, but its error workflow %r is not deployed", compiled.name, target
            )
            return []
        event = {
            "error": {**(outcome.error or {}), "step": node.name, "message": message},
            "run": {
                "id": run.id,
                "workflow": compiled.name,
                "version": compiled.version,
                "event_id": run.event_id,
                "attempts": run.results.get(node.index, {}).get("attempts", 0) + 1,
            },
            "event": run.event,
        }
        workflow_id, version = route
        return NewRun.of(workflow_id, version, dumps(event)).statements()

    async def _rerun(self, run: ClaimedRun, node: Node, outcome: StepOutcome, attempt: int) -> str:
        assert outcome.rerun is not None
        delay, limit = outcome.rerun
        if attempt > limit:
            outcome.error = {
                "name": "RerunLimit",
                "message": f"pd.flow.rerun asked for more than {limit} reruns",
            }
            row = _step_row(run.id, node, outcome, attempt).marked("failed")
            message = f"step {node.name}: " + outcome.error["message"]
            end = runs.finish(run.id, "failed", node.index, outcome.finished_at, message)
            await self._end(run, Batch([runs.checkpoint(row), end]))
            return "failed"
        row = _step_row(run.id, node, outcome, attempt).marked("rerun")
        sleep = runs.requeue(run.id, self.owner, node.index, time.time() + delay, sleeping=True)
        await self._end(run, Batch([runs.checkpoint(row), sleep]))
        return "sleeping"


def _step_row(run_id: str, node: Node, outcome: StepOutcome, attempt: int) -> StepRow:
    return StepRow(
        run_id=run_id,
        index=node.index,
        name=node.name,
        status=outcome.status,
        inputs=outcome.inputs,
        return_value=outcome.return_value,
        exports=outcome.exports or {},
        logs=outcome.logs or [],
        error=outcome.error,
        attempts=attempt,
        started_at=outcome.started_at,
        finished_at=outcome.finished_at,
    )


_labelled: dict[tuple[str, str], tuple[Any, Any]] = {}


def _count_step(node: Node, outcome: StepOutcome) -> None:
    key = (node.key, outcome.status)
    found = _labelled.get(key)
    if found is None:  # labels() is a locked dict lookup: do it once per action and outcome
        found = _labelled[key] = (
            metrics.steps_executed.labels(node.key, outcome.status),
            metrics.step_seconds.labels(node.key),
        )
    found[0].inc()
    found[1].observe(outcome.finished_at - outcome.started_at)
