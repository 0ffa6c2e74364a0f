"""Python code steps: evaluate inputs, hand the step to the out-of-process pool, map back.

The pool (relayflow.codestep) runs `handler(pd)` in a separate process; this module decides
what `pd` may see (the run's steps, the step's inputs, accounts it names, the stores it
names) and turns what came back into a StepOutcome: return value, exports, logs, flow
requests (exit, delay, rerun) and an HTTP response.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from relayflow.codestep import CodePool, CodeRequest, ensure_environment
from relayflow.engine.compiled import CompiledWorkflow, Node
from relayflow.engine.context import HttpResponse
from relayflow.engine.outcome import StepOutcome, describe_error, is_retryable
from relayflow.engine.redact import MASK, Redactor
from relayflow.engine.runner import Runner, trigger_context
from relayflow.store.runs import ClaimedRun

AccountFields = Callable[[str], tuple[dict[str, Any], list[str]]]


class CodeSteps:
    def __init__(
        self,
        pool: CodePool,
        cache_dir: Path,
        account_fields: AccountFields | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.pool = pool
        self.cache_dir = cache_dir
        self.account_fields = account_fields
        self.env = dict(env or {})
        self._environments: dict[tuple[str, ...], str] = {}

    async def _python(self, requirements: list[str]) -> str | None:
        if not requirements:
            return None
        key = tuple(sorted(requirements))
        if key not in self._environments:
            self._environments[key] = await ensure_environment(list(key), self.cache_dir)
        return self._environments[key]

    async def run(
        self,
        runner: Runner,
        run: ClaimedRun,
        compiled: CompiledWorkflow,
        node: Node,
        scope: Mapping[str, Any],
        attempt: int,
    ) -> StepOutcome:
        started = time.time()
        secrets: list[str] = []
        shown: dict[str, Any] = {}
        try:
            inputs = node.evaluate(scope)
            inputs = {k: _store_marker(v) for k, v in inputs.items()}
            shown = dict(inputs)
            for key, account in node.step.accounts.items():
                if self.account_fields is None:
                    raise RuntimeError("connected accounts are not available here")
                fields, hidden = self.account_fields(account)
                secrets.extend(hidden)
                inputs[key] = {"$auth": fields}
                shown[key] = {"$auth": MASK, "account": account}
            python = await self._python(compiled.workflow.requirements)
        except Exception as exc:  # noqa: BLE001 - shown as the step's error
            return StepOutcome(
                "failed",
                inputs=shown or None,
                error=describe_error(exc, node),
                started_at=started,
                finished_at=time.time(),
                retryable=is_retryable(exc),
            )
        context = {**trigger_context(run, compiled), "run": {"runs": attempt}}
        if runner.link is not None:
            context["resume_url"] = runner.link(run.id, "resume")
            context["cancel_url"] = runner.link(run.id, "cancel")
        result = await self.pool.run(
            CodeRequest(
                source=node.source or "",
                filename=f"{compiled.name}/{node.name}.py",
                steps=dict(scope["steps"]),
                inputs=inputs,
                context=context,
                timeout=node.timeout,
                memory_mb=compiled.workflow.settings.code_memory_mb,
                python=python,
                workflow=compiled.workflow_id,
                env=self.env,
            )
        )
        redact = Redactor(secrets)
        if result.response is not None:
            deliver = runner._responder(run, compiled)  # noqa: SLF001 - same package
            if deliver is not None:
                response = result.response
                await deliver(
                    HttpResponse(
                        response.get("status", 200),
                        response.get("headers") or {},
                        response.get("body"),
                    )
                )
        outcome = StepOutcome(
            status="failed" if result.error else "succeeded",
            inputs=redact(shown),
            return_value=None if result.error else redact(result.return_value),
            exports=redact(result.exports),
            logs=redact(result.logs),
            error=redact(result.error),
            started_at=started,
            finished_at=time.time(),
            exit_reason=result.exit_reason,
            sleep_until=time.time() + result.delay_ms / 1000 if result.delay_ms else None,
        )
        if result.rerun:
            outcome.rerun = (
                result.rerun.get("delay_ms", 0) / 1000,
                int(result.rerun.get("max_retries", 10)),
            )
        return outcome


def _store_marker(value: Any) -> Any:
    """`{data_store: NAME}` in a code step's inputs is that data store (dict-like in pd)."""
    if isinstance(value, dict) and len(value) == 1:
        name = value.get("data_store", value.get("$data_store"))
        if isinstance(name, str):
            return {"$data_store": name}
    return value
