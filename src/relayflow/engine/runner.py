"""Executing one claimed run, step by step, with a checkpoint after every step.

A run resumes at the first step without a recorded result. A step's result is committed
before the next step starts, so a completed step never runs again; only a step in flight
when a process dies can run twice (at-least-once). Failed attempts are retried durably:
the run goes back to the queue with a later `available_at`, holding no worker meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from pydantic import ValidationError

from relayflow.engine.compiled import CompiledStep, CompiledWorkflow
from relayflow.engine.context import HttpResponse, StepContext, StepError
from relayflow.engine.redact import Redactor
from relayflow.expressions import ExpressionError
from relayflow.model.workflow import RetryPolicy
from relayflow.store.runs import (
    ADVANCE_RUN,
    FINISH_RUN,
    REQUEUE_RUN,
    UPSERT_STEP,
    ClaimedRun,
    dumps,
)
from relayflow.store.writer import Batch, Writer

log = logging.getLogger(__name__)


class Accounts(Protocol):
    """Resolves a step's `account:` to what its app's actions use, plus secrets to redact."""

    def resolve(self, name: str, app: str) -> tuple[Any, list[str]]: ...


@dataclass
class StepOutcome:
    status: str  # succeeded | failed
    inputs: Any = None
    return_value: Any = None
    exports: dict[str, Any] | None = None
    logs: list[str] | None = None
    error: dict[str, Any] | None = None
    started_at: float = 0.0
    finished_at: float = 0.0
    retryable: bool = True
    exit_reason: str | None = None


def backoff_delay(policy: RetryPolicy, attempt: int) -> float:
    """Seconds before retry number `attempt` (1-based): exponential with jitter, or fixed."""
    if policy.backoff == "fixed":
        return policy.initial
    base = min(policy.max_delay, policy.initial * 2 ** (attempt - 1))
    return random.uniform(base / 2, base)


class Runner:
    def __init__(
        self,
        writer: Writer,
        owner: str,
        http: httpx.AsyncClient,
        env: Mapping[str, str],
        accounts: Accounts | None = None,
        responders: dict[str, asyncio.Future[HttpResponse | None]] | None = None,
        on_step: Callable[[CompiledStep, StepOutcome], None] | None = None,
    ) -> None:
        self.writer = writer
        self.owner = owner
        self.http = http
        self.env = dict(env)
        self.accounts = accounts
        self.responders = responders if responders is not None else {}
        self.on_step = on_step

    async def execute(self, run: ClaimedRun, compiled: CompiledWorkflow) -> str:
        """Run `run` from its first unrecorded step; returns its status afterwards."""
        status = await self._execute(run, compiled)
        waiting = self.responders.get(run.id)
        if waiting is not None and status != "queued" and not waiting.done():
            waiting.set_result(None)  # the run ended without calling http.respond
        return status

    async def _execute(self, run: ClaimedRun, compiled: CompiledWorkflow) -> str:
        steps: dict[str, Any] = {
            "trigger": {
                "event": run.event,
                "context": {
                    "id": run.event_id,
                    "run_id": run.id,
                    "ts": run.event_received_at,
                    "workflow": compiled.name,
                    "version": compiled.version,
                    "replay": run.replay_of is not None,
                    "test": run.test,
                },
            }
        }
        for index, result in sorted(run.results.items()):
            if index < run.next_step and result["status"] == "succeeded":
                steps[result["name"]] = {
                    "$return_value": result["return_value"],
                    **result["exports"],
                }
        scope = {"steps": steps, "env": self.env}
        total = len(compiled.steps)
        if run.next_step >= total:
            await self.writer.write(
                Batch([(FINISH_RUN, ("succeeded", total, time.time(), None, run.id))])
            )
            return "succeeded"
        for cstep in compiled.steps[run.next_step :]:
            prior = run.results.get(cstep.index)
            attempt = (prior["attempts"] if prior and prior["status"] == "retrying" else 0) + 1
            outcome = await self.run_step(run, compiled, cstep, scope, attempt)
            if self.on_step is not None:
                self.on_step(cstep, outcome)
            step_row = _step_row(run.id, cstep, outcome, attempt)
            if outcome.status == "failed":
                policy = compiled.workflow.retry_policy(cstep.step)
                if not run.test and outcome.retryable and attempt <= policy.max:
                    step_row = step_row[:3] + ("retrying",) + step_row[4:]
                    when = time.time() + backoff_delay(policy, attempt)
                    await self.writer.write(
                        Batch(
                            [
                                (UPSERT_STEP, step_row),
                                (REQUEUE_RUN, (cstep.index, when, run.id, self.owner)),
                            ]
                        )
                    )
                    return "queued"
                message = f"step {cstep.step.name}: {outcome.error['message']}"
                await self.writer.write(
                    Batch(
                        [
                            (UPSERT_STEP, step_row),
                            (
                                FINISH_RUN,
                                ("failed", cstep.index, outcome.finished_at, message, run.id),
                            ),
                        ]
                    )
                )
                return "failed"
            steps[cstep.step.name] = {
                "$return_value": outcome.return_value,
                **(outcome.exports or {}),
            }
            last = cstep.index == total - 1
            if outcome.exit_reason is not None or last:
                status = "succeeded" if outcome.exit_reason is None else "exited"
                reason = None if outcome.exit_reason is None else outcome.exit_reason
                finish = (
                    FINISH_RUN,
                    (status, cstep.index + 1, outcome.finished_at, reason, run.id),
                )
                await self.writer.write(Batch([(UPSERT_STEP, step_row), finish]))
                return status
            advance = (ADVANCE_RUN, (cstep.index + 1, run.id, self.owner))
            await self.writer.write(Batch([(UPSERT_STEP, step_row), advance]))
        return "succeeded"

    def _responder(self, run_id: str) -> Any:
        waiting = self.responders.get(run_id)
        if waiting is None:
            return None

        async def deliver(response: HttpResponse) -> bool:
            if waiting.done():
                return False
            waiting.set_result(response)
            return True

        return deliver

    async def run_step(
        self,
        run: ClaimedRun,
        compiled: CompiledWorkflow,
        cstep: CompiledStep,
        scope: Mapping[str, Any],
        attempt: int,
    ) -> StepOutcome:
        started = time.time()
        redact = Redactor()
        ctx = StepContext(
            run_id=run.id,
            event_id=run.event_id,
            workflow=compiled.name,
            version=compiled.version,
            step=cstep.step.name,
            attempt=attempt,
            test=run.test,
            http=self.http,
            responder=self._responder(run.id),
        )
        inputs: Any = None
        try:
            if cstep.step.account:
                if self.accounts is None:
                    raise StepError("connected accounts are not available here", retryable=False)
                ctx.account, secrets = self.accounts.resolve(cstep.step.account, cstep.action.app)
                redact = Redactor(secrets)
            inputs = cstep.evaluate(scope)
            model = cstep.action.inputs.model_validate(inputs)
            value = await asyncio.wait_for(cstep.action.run(ctx, model), cstep.timeout)
            value = _json_ready(value, cstep)
        except Exception as exc:  # noqa: BLE001 - every failure becomes the step's error
            return StepOutcome(
                status="failed",
                inputs=redact(inputs),
                exports=redact(ctx.exports),
                logs=redact(ctx.logs),
                error=redact(_describe(exc, cstep)),
                started_at=started,
                finished_at=time.time(),
                retryable=_retryable(exc),
            )
        return StepOutcome(
            status="succeeded",
            inputs=redact(inputs),
            return_value=redact(value),
            exports=redact(ctx.exports),
            logs=redact(ctx.logs),
            started_at=started,
            finished_at=time.time(),
            exit_reason=ctx.exit_reason,
        )


def _step_row(run_id: str, cstep: CompiledStep, outcome: StepOutcome, attempt: int) -> tuple:
    return (
        run_id,
        cstep.index,
        cstep.step.name,
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


def _json_ready(value: Any, cstep: CompiledStep) -> Any:
    try:
        dumps(value)
    except TypeError as exc:
        raise StepError(
            f"{cstep.step.uses} returned a value that is not JSON-serialisable: {exc}",
            retryable=False,
        ) from None
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if dump else value


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, StepError):
        return exc.retryable
    return not isinstance(exc, ExpressionError | ValidationError)


def _describe(exc: Exception, cstep: CompiledStep) -> dict[str, Any]:
    if isinstance(exc, ExpressionError):
        return {"name": "ExpressionError", "message": str(exc)}
    if isinstance(exc, ValidationError):
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            problems.append(f"steps.{cstep.step.name}.with.{where}: {err['msg']}")
        return {"name": "InputError", "message": "; ".join(problems)}
    if isinstance(exc, TimeoutError):
        return {
            "name": "TimeoutError",
            "message": f"took longer than {cstep.timeout:g}s (raise `timeout` on the step or in"
            " settings if it needs more)",
        }
    if isinstance(exc, StepError):
        described: dict[str, Any] = {"name": type(exc).__name__, "message": str(exc)}
        if exc.details is not None:
            described["details"] = exc.details
        return described
    return {
        "name": type(exc).__name__,
        "message": str(exc) or type(exc).__name__,
        "traceback": "".join(traceback.format_exception(exc)[-6:]),
    }
