"""Executing one claimed run, node by node, with a checkpoint after every node.

A run resumes at its program counter (`next_step`): the first node without a recorded
result. A node's result is committed before the next node starts, so a completed step
never runs again; only a step in flight when a process dies can run twice
(at-least-once). Failed attempts are retried durably, and delays are rows: the run goes
back to the queue with a later `available_at`, holding no worker or memory meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import httpx

from relayflow.engine.compiled import CompiledWorkflow, Node
from relayflow.engine.context import HttpResponse, StepContext, StepError
from relayflow.engine.flow import FlowOutcome, run_flow_node
from relayflow.engine.outcome import StepOutcome, describe_error, is_retryable, json_ready
from relayflow.engine.redact import Redactor
from relayflow.ids import new_id
from relayflow.model.workflow import RetryPolicy
from relayflow.store.runs import (
    ADVANCE_RUN,
    FINISH_RUN,
    INSERT_RESPONSE,
    REQUEUE_RUN,
    UPSERT_STEP,
    ClaimedRun,
    NewRun,
    dumps,
)
from relayflow.store.writer import Batch, Writer

log = logging.getLogger(__name__)


class Accounts(Protocol):
    """Resolves a step's `account:` to what its app's actions use, plus secrets to redact."""

    def resolve(self, name: str, app: str) -> tuple[Any, list[str]]: ...


class CodeSteps(Protocol):
    """Runs a code node out of process; see relayflow.engine.code."""

    async def run(
        self,
        runner: Runner,
        run: ClaimedRun,
        compiled: CompiledWorkflow,
        node: Node,
        scope: Mapping[str, Any],
        attempt: int,
    ) -> StepOutcome: ...


def backoff_delay(policy: RetryPolicy, attempt: int) -> float:
    """Seconds before retry number `attempt` (1-based): exponential with jitter, or fixed."""
    if policy.backoff == "fixed":
        return policy.initial
    base = min(policy.max_delay, policy.initial * 2 ** (attempt - 1))
    return random.uniform(base / 2, base)


def trigger_context(run: ClaimedRun, compiled: CompiledWorkflow) -> dict[str, Any]:
    return {
        "id": run.event_id,
        "run_id": run.id,
        "ts": run.event_received_at,
        "workflow": compiled.name,
        "version": compiled.version,
        "replay": run.replay_of is not None,
        "test": run.test,
    }


class Runner:
    def __init__(
        self,
        writer: Writer,
        owner: str,
        http: httpx.AsyncClient,
        env: Mapping[str, str],
        accounts: Accounts | None = None,
        responders: dict[str, asyncio.Future[HttpResponse | None]] | None = None,
        on_step: Callable[[Node, StepOutcome], None] | None = None,
        stores: Any = None,
        code: CodeSteps | None = None,
        link: Callable[[str, str], str] | None = None,
        error_route: Callable[[str], tuple[str, int] | None] | None = None,
    ) -> None:
        self.writer = writer
        self.owner = owner
        self.http = http
        self.env = dict(env)
        self.accounts = accounts
        self.responders = responders if responders is not None else {}
        self.on_step = on_step
        self.stores = stores
        self.code = code
        self.link = link
        self.error_route = error_route

    async def execute(
        self, run: ClaimedRun, compiled: CompiledWorkflow, stop_after: str | None = None
    ) -> str:
        """Run `run` from its program counter; returns its status afterwards.

        `stop_after` (test runs) ends the run successfully after the step of that name.
        """
        status = await self._execute(run, compiled, stop_after)
        waiting = self.responders.get(run.id)
        if waiting is not None and status not in ("queued", "sleeping") and not waiting.done():
            waiting.set_result(None)  # the run ended without calling http.respond
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
        scope = {"steps": steps, "env": self.env}
        nodes = compiled.nodes
        pc = run.next_step
        while pc < len(nodes):
            node = nodes[pc]
            prior = run.results.get(pc)
            again = prior is not None and prior["status"] in ("retrying", "rerun")
            attempt = prior["attempts"] + 1 if again else 1
            outcome = await self.run_node(run, compiled, node, scope, attempt)
            if self.on_step is not None:
                self.on_step(node, outcome)
            if outcome.status == "failed":
                return await self._failed(run, compiled, node, outcome, attempt)
            if outcome.rerun is not None and not run.test:
                return await self._rerun(run, node, outcome, attempt)
            steps[node.name] = {"$return_value": outcome.return_value, **(outcome.exports or {})}
            row = (UPSERT_STEP, _step_row(run.id, node, outcome, attempt))
            nxt = outcome.goto if outcome.goto is not None else node.next
            if outcome.exit_reason is not None:
                finish = ("exited", nxt, outcome.finished_at, outcome.exit_reason, run.id)
                await self.writer.write(Batch([row, (FINISH_RUN, finish)]))
                return "exited"
            if outcome.sleep_until is not None and not run.test:
                sleep = ("sleeping", nxt, outcome.sleep_until, run.id, self.owner)
                await self.writer.write(Batch([row, (REQUEUE_RUN, sleep)]))
                return "sleeping"
            if nxt >= len(nodes) or node.name == stop_after:
                finish = ("succeeded", nxt, outcome.finished_at, None, run.id)
                await self.writer.write(Batch([row, (FINISH_RUN, finish)]))
                return "succeeded"
            await self.writer.write(Batch([row, (ADVANCE_RUN, (nxt, run.id, self.owner))]))
            pc = nxt
        await self.writer.write(Batch([(FINISH_RUN, ("succeeded", pc, time.time(), None, run.id))]))
        return "succeeded"

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
            row = row[:3] + ("retrying",) + row[4:]
            when = time.time() + backoff_delay(policy, attempt)
            requeue = ("queued", node.index, when, run.id, self.owner)
            await self.writer.write(Batch([(UPSERT_STEP, row), (REQUEUE_RUN, requeue)]))
            return "queued"
        assert outcome.error is not None
        message = f"step {node.name}: {outcome.error['message']}"
        finish = ("failed", node.index, outcome.finished_at, message, run.id)
        statements = [(UPSERT_STEP, row), (FINISH_RUN, finish)]
        # The error workflow's run commits with the failure: one never exists without the other.
        statements += self._error_run(run, compiled, node, outcome, message)
        await self.writer.write(Batch(statements, notify=True))
        return "failed"

    def _error_run(
        self,
        run: ClaimedRun,
        compiled: CompiledWorkflow,
        node: Node,
        outcome: StepOutcome,
        message: str,
    ) -> list[tuple[str, tuple]]:
        target = compiled.workflow.settings.error_workflow
        if run.test or not target or target == compiled.name or self.error_route is None:
            return []
        route = self.error_route(target)
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
        return NewRun(
            event_id=new_id(),
            run_id=new_id(),
            workflow_id=workflow_id,
            version=version,
            payload=dumps(event),
            received_at=time.time(),
        ).statements()

    async def _rerun(self, run: ClaimedRun, node: Node, outcome: StepOutcome, attempt: int) -> str:
        assert outcome.rerun is not None
        delay, limit = outcome.rerun
        row = _step_row(run.id, node, outcome, attempt)
        if attempt > limit:
            outcome.error = {
                "name": "RerunLimit",
                "message": f"pd.flow.rerun asked for more than {limit} reruns",
            }
            row = _step_row(run.id, node, outcome, attempt)
            row = row[:3] + ("failed",) + row[4:]
            finish = (
                "failed",
                node.index,
                outcome.finished_at,
                f"step {node.name}: " + outcome.error["message"],
                run.id,
            )
            await self.writer.write(Batch([(UPSERT_STEP, row), (FINISH_RUN, finish)]))
            return "failed"
        row = row[:3] + ("rerun",) + row[4:]
        sleep = ("sleeping", node.index, time.time() + delay, run.id, self.owner)
        await self.writer.write(Batch([(UPSERT_STEP, row), (REQUEUE_RUN, sleep)]))
        return "sleeping"

    def _responder(self, run: ClaimedRun, compiled: CompiledWorkflow) -> Any:
        waiting = self.responders.get(run.id)
        if waiting is None:
            http = compiled.workflow.trigger.http
            if http is None or http.respond != "from_workflow" or run.test or run.replay_of:
                return None
            return self._hand_over(run.id)

        async def deliver(response: HttpResponse) -> bool:
            if waiting.done():
                return False
            waiting.set_result(response)
            return True

        return deliver

    def _hand_over(self, run_id: str) -> Any:
        """The request waits in another process (scale-out): leave the answer for it."""

        async def deliver(response: HttpResponse) -> bool:
            row = (
                run_id,
                response.status,
                dumps(response.headers),
                dumps(response.body),
                time.time(),
            )
            await self.writer.write(Batch([(INSERT_RESPONSE, row)]))
            return True

        return deliver

    async def run_node(
        self,
        run: ClaimedRun,
        compiled: CompiledWorkflow,
        node: Node,
        scope: Mapping[str, Any],
        attempt: int,
    ) -> StepOutcome:
        if node.kind == "action":
            return await self.run_action(run, compiled, node, scope, attempt)
        if node.kind == "code":
            if self.code is None:
                return _failure(
                    time.time(),
                    StepError("code steps are not available in this process", retryable=False),
                )
            return await self.code.run(self, run, compiled, node, scope, attempt)
        started = time.time()
        try:
            flow: FlowOutcome = run_flow_node(node, scope)
        except Exception as exc:  # noqa: BLE001 - a bad condition is the step's error
            return _failure(started, exc, node)
        if flow.sleep_until is not None and self.link is not None:
            flow.value["resume_url"] = self.link(run.id, "resume")
            flow.value["cancel_url"] = self.link(run.id, "cancel")
        return StepOutcome(
            status="succeeded",
            inputs=flow.inputs,
            return_value=flow.value,
            started_at=started,
            finished_at=time.time(),
            exit_reason=flow.exit_reason,
            goto=flow.goto,
            sleep_until=flow.sleep_until,
            logs=[f"test run: the {flow.seconds:g}s delay was skipped"]
            if run.test and flow.sleep_until
            else None,
        )

    async def run_action(
        self,
        run: ClaimedRun,
        compiled: CompiledWorkflow,
        node: Node,
        scope: Mapping[str, Any],
        attempt: int,
    ) -> StepOutcome:
        assert node.action is not None
        started = time.time()
        redact = Redactor()
        ctx = StepContext(
            run_id=run.id,
            event_id=run.event_id,
            workflow=compiled.name,
            version=compiled.version,
            step=node.name,
            attempt=attempt,
            test=run.test,
            http=self.http,
            responder=self._responder(run, compiled),
            stores=self.stores,
        )
        inputs: Any = None
        try:
            if node.step.account:
                if self.accounts is None:
                    raise StepError("connected accounts are not available here", retryable=False)
                ctx.account, secrets = self.accounts.resolve(node.step.account, node.action.app)
                redact = Redactor(secrets)
            inputs = node.evaluate(scope)
            model = node.action.inputs.model_validate(inputs)
            async with asyncio.timeout(node.timeout):
                value = await node.action.run(ctx, model)
            value = json_ready(value, node.step.uses or node.name)
        except Exception as exc:  # noqa: BLE001 - every failure becomes the step's error
            failed = _failure(started, exc, node)
            failed.inputs, failed.exports = redact(inputs), redact(ctx.exports)
            failed.logs, failed.error = redact(ctx.logs), redact(failed.error)
            return failed
        return StepOutcome(
            status="succeeded",
            inputs=redact(inputs),
            return_value=redact(value),
            exports=redact(ctx.exports),
            logs=redact(ctx.logs),
            started_at=started,
            finished_at=time.time(),
            exit_reason=ctx.exit_reason,
            sleep_until=time.time() + ctx.delay_seconds if ctx.delay_seconds else None,
        )


def _failure(started: float, exc: Exception, node: Node | None = None) -> StepOutcome:
    return StepOutcome(
        status="failed",
        error=describe_error(exc, node),
        started_at=started,
        finished_at=time.time(),
        retryable=is_retryable(exc),
    )


def _step_row(run_id: str, node: Node, outcome: StepOutcome, attempt: int) -> tuple:
    return (
        run_id,
        node.index,
        node.name,
        outcome.status,
        dumps(outcome.inputs),
        dumps(outcome.return_value),
        dumps(outcome.exports or {}),
        dumps(outcome.logs or []),
        dumps(outcome.error) if outcome.error else None,
        attempt,
        outcome.started_at,
        outcome.finished_at,
    )
