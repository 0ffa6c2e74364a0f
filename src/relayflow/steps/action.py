"""`uses: app.action`: a declared action of an app, with its inputs and maybe an account."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from pydantic import Field, TypeAdapter, ValidationError

from relayflow.expressions import ExpressionError, NotJson, compile_value, has_expression
from relayflow.model.settings import RetryPolicy
from relayflow.redact import Redactor
from relayflow.sdk import Duration, StepContext, StepError
from relayflow.steps.base import (
    Attempt,
    Check,
    Node,
    Program,
    StepKind,
    StepModel,
    check_account,
)
from relayflow.steps.inputs import input_problems, structured, typed_with, wrong_inputs
from relayflow.steps.outcome import StepOutcome, failure, json_ready


class InputError(StepError):
    """Inputs that do not fit the action's declared types (after their expressions ran)."""


class ActionStep(StepModel):
    uses: str = Field(description="The action, as app.action (see `relayflow actions`)")
    account: str | None = Field(None, description="The connected account the action uses")
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    retries: RetryPolicy | None = None
    timeout: Duration | None = None


_JSON_HINT = 'write an object, e.g. {"Plan": "{{ steps.trigger.event.body.plan }}"}'


class ActionKind(StepKind):
    name = "action"
    markers = ("uses",)
    model = ActionStep

    def check(self, step: ActionStep, check: Check) -> None:
        registry, report = check.registry, check.report
        act = registry.action(step.uses)
        if act is None:
            app = step.uses.split(".")[0]
            near = sorted(k for k in registry.actions if k.split(".")[0] == app)
            hint = f"; {app} has: {', '.join(near)}" if near else ""
            report(("uses",), f"no action named {step.uses!r}{hint} ({check.hints.actions})")
            return
        if act.needs_account and not step.account:
            report(("account",), f"{step.uses} needs a connected account: {check.hints.account}")
        check_account(step.account, act.app, step.uses, ("account",), check)
        fields = act.inputs.model_fields
        by_alias = {(f.alias or name): name for name, f in fields.items()}
        for key, value in step.with_.items():
            name = by_alias.get(key, key if key in fields else None)
            if name is None:
                known = ", ".join(by_alias)
                report(("with", key), f"{step.uses} has no input {key!r}; it has: {known}")
                continue
            try:
                value = structured(value, fields[name].annotation)
            except NotJson as exc:
                report(("with", key), f"is text that is not JSON ({exc}); {_JSON_HINT}")
                continue
            try:
                compile_value(value, f"steps.{step.name}.with.{key}")
            except ExpressionError as exc:
                report(("with", key), str(exc).split(": ", 1)[1])
                continue
            if not has_expression(value):
                try:
                    TypeAdapter(fields[name].annotation).validate_python(value)
                except ValidationError as exc:
                    for path, reason in wrong_inputs(exc, value):
                        report(("with", key, *path), reason)
        for name, info in fields.items():
            key = info.alias or name
            if info.is_required() and key not in step.with_ and name not in step.with_:
                report(("with",), f"{step.uses} needs the input {key!r} ({info.title or key})")

    def compile(self, step: ActionStep, program: Program) -> list[Node]:
        act = program.registry.action(step.uses)
        if act is None:
            raise LookupError(
                f"workflow {program.workflow.name}: step {step.name} uses {step.uses!r},"
                " which this installation does not have"
            )
        node = Node(
            index=program.size,
            name=step.name,
            kind=self,
            step=step,
            action=act,
            inputs=compile_value(
                typed_with(step.with_, act.inputs.model_fields), f"steps.{step.name}.with"
            ),
            timeout=program.workflow.step_timeout(step),
        )
        return [program.add(node)]

    def metric_key(self, node: Node) -> str:
        assert node.action is not None
        return node.action.key

    def holds_slot(self, node: Node) -> bool:
        assert node.action is not None
        return not node.action.coalesces  # a batched upload waits without a slot

    async def run(self, attempt: Attempt) -> StepOutcome:
        node, run, services = attempt.node, attempt.run, attempt.services
        step: ActionStep = node.step
        act = node.action
        assert act is not None
        started = time.time()
        redact = Redactor()
        responses = services.responses
        ctx = StepContext(
            run_id=run.id,
            event_id=run.event_id,
            workflow=attempt.workflow.name,
            version=attempt.workflow.version,
            step=node.name,
            attempt=attempt.number,
            test=run.test,
            http=services.http,
            responder=responses.responder(run, attempt.workflow) if responses else None,
            stores=services.stores,
        )
        inputs: Any = None
        try:
            if step.account:
                if services.accounts is None:
                    raise StepError("connected accounts are not available here", retryable=False)
                ctx.account, secrets = services.accounts.resolve(step.account, act.app)
                redact = Redactor(secrets)
            inputs = node.evaluate(attempt.scope)
            try:
                model = act.inputs.model_validate(inputs)
            except ValidationError as exc:
                problems = input_problems(exc, inputs, f"steps.{node.name}.with")
                raise InputError("; ".join(problems), retryable=False) from None
            async with asyncio.timeout(node.timeout):
                value = await act.run(ctx, model)
            value = json_ready(value, step.uses)
        except Exception as exc:  # noqa: BLE001 - every failure becomes the step's error
            failed = failure(started, exc, node)
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
