"""`code:` / `code_file:`: Python with Pipedream's shape, `def handler(pd): ...`, or with
`runtime: nodejs` (or a `.mjs`/`.js` file) a Pipedream component,
`export default defineComponent({ async run({ steps, $ }) { ... } })`.

The step runs out of process (relayflow.codestep, through `services.code`); this kind
decides what `pd` may see (the run's steps, the step's inputs, the accounts and data
stores it names) and turns what came back into an outcome: return value, exports, logs,
flow requests (exit, delay, rerun) and an HTTP response.
"""

from __future__ import annotations

import ast
import functools
import re
import shutil
import subprocess
import time
from typing import Any, Literal

from pydantic import Field, model_validator

from relayflow.codestep import CodeRequest
from relayflow.expressions import compile_value
from relayflow.model.settings import RetryPolicy
from relayflow.redact import MASK, Redactor
from relayflow.sdk import Duration, HttpResponse, StepError
from relayflow.steps.base import Attempt, Check, Node, Program, StepKind, StepModel, check_value
from relayflow.steps.delay import MAX_DELAY
from relayflow.steps.outcome import StepOutcome, describe_error, is_retryable

NODE_FILES = (".mjs", ".js")
NODE_CHECK_TIMEOUT = 20.0


class CodeStep(StepModel):
    code: str | None = Field(
        None,
        description="Python source defining handler(pd), or (runtime: nodejs) an ES module"
        " exporting defineComponent({ async run({ steps, $ }) {...} })",
    )
    code_file: str | None = Field(
        None, description="A .py, .mjs or .js file next to the workflow file"
    )
    runtime: Literal["python", "nodejs"] | None = Field(
        None, description="The code's language; default python (nodejs for .mjs/.js files)"
    )
    accounts: dict[str, str] = Field(
        default_factory=dict, description="Code steps: pd.inputs[key]['$auth'] from account"
    )
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    retries: RetryPolicy | None = None
    timeout: Duration | None = None

    @model_validator(mode="after")
    def _one_source(self) -> CodeStep:
        if self.code is not None and self.code_file is not None:
            raise ValueError("give the code once: `code:` or `code_file:`, not both")
        if self.code_file is not None:
            javascript = self.code_file.endswith(NODE_FILES)
            if self.runtime is None and javascript:
                self.runtime = "nodejs"  # kept when the file's text replaces code_file
            elif self.runtime is not None and javascript != (self.runtime == "nodejs"):
                raise ValueError(
                    f"code_file {self.code_file!r} does not match runtime: {self.runtime}"
                    " (Python steps are .py files, Node.js steps .mjs or .js)"
                )
        return self

    @property
    def language(self) -> str:
        return self.runtime or "python"


class CodeKind(StepKind):
    name = "code"
    markers = ("code", "code_file")
    model = CodeStep

    def check(self, step: CodeStep, check: Check) -> None:
        _check_source(step, check)
        for key, value in step.with_.items():
            check_value(value, f"steps.{step.name}.with.{key}", ("with", key), check.report)

    def compile(self, step: CodeStep, program: Program) -> list[Node]:
        node = Node(
            index=program.size,
            name=step.name,
            kind=self,
            step=step,
            inputs=compile_value(step.with_, f"steps.{step.name}.with"),
            timeout=step.timeout or program.workflow.settings.code_timeout,
            source=step.code if step.code is not None else program.read_code(step),
        )
        return [program.add(node)]

    def holds_slot(self, node: Node) -> bool:
        return True

    def metric_key(self, node: Node) -> str:
        return f"code.{node.step.language}"

    async def run(self, attempt: Attempt) -> StepOutcome:
        node, run, services = attempt.node, attempt.run, attempt.services
        step: CodeStep = node.step
        started = time.time()
        secrets: list[str] = []
        shown: dict[str, Any] = {}
        try:
            if services.code is None:
                raise StepError("code steps are not available in this process", retryable=False)
            inputs = {k: _store_marker(v) for k, v in node.evaluate(attempt.scope).items()}
            shown = dict(inputs)
            for key, account in step.accounts.items():
                if services.accounts is None:
                    raise StepError("connected accounts are not available here", retryable=False)
                fields, hidden = services.accounts.fields(account)
                secrets.extend(hidden)
                inputs[key] = {"$auth": fields}
                shown[key] = {"$auth": MASK, "account": account}
            workflow = attempt.workflow.workflow
            nodejs = step.language == "nodejs"
            python = None if nodejs else await services.code.python_for(workflow.requirements)
            packages = await services.code.node_modules_for(workflow.packages) if nodejs else None
        except Exception as exc:  # noqa: BLE001 - shown as the step's error
            return StepOutcome(
                "failed",
                inputs=shown or None,
                error=describe_error(exc, node),
                started_at=started,
                finished_at=time.time(),
                retryable=is_retryable(exc),
            )
        context = {**attempt.trigger_context(), "run": {"runs": attempt.number}}
        if services.links is not None:
            # the code picks its delay (up to a year) after these are made
            until = time.time() + MAX_DELAY
            for action in ("resume", "cancel"):
                context[f"{action}_url"] = services.links.url(run.id, node.name, action, until)
        result = await services.code.run(
            CodeRequest(
                source=node.source or "",
                filename=f"{attempt.workflow.name}/{node.name}.{'mjs' if nodejs else 'py'}",
                steps=dict(attempt.scope["steps"]),
                inputs=inputs,
                context=context,
                timeout=node.timeout,
                memory_mb=attempt.workflow.workflow.settings.code_memory_mb,
                python=python,
                workflow=attempt.workflow.workflow_id,
                env=dict(services.env),
                runtime=step.language,
                packages=packages,
            )
        )
        redact = Redactor(secrets)
        if result.response is not None and services.responses is not None:
            deliver = services.responses.responder(run, attempt.workflow)
            if deliver is not None:
                answer = result.response
                await deliver(
                    HttpResponse(
                        answer.get("status", 200), answer.get("headers") or {}, answer.get("body")
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


def _check_source(step: CodeStep, check: Check) -> None:
    """Read `code_file` (relative to the workflow file) into `code`, then parse it."""
    report = check.report
    if step.code_file is not None:
        if check.base_dir is None:
            report(("code_file",), f"code_file works when deploying files; {check.hints.code_file}")
            return
        path = (check.base_dir / step.code_file).resolve()
        try:
            step.code = path.read_text(encoding="utf-8")
        except OSError as exc:
            report(("code_file",), f"cannot read {path}: {exc.strerror}")
            return
        step.code_file = None
    source = step.code or ""
    if step.language == "nodejs":
        _check_javascript(source, report)
        return
    try:
        tree = ast.parse(source, filename=f"steps.{step.name}.code")
    except SyntaxError as exc:
        report(("code",), f"Python syntax error at line {exc.lineno}: {exc.msg}")
        return
    if not any(
        isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == "handler"
        for n in tree.body
    ):
        report(("code",), "code steps define `def handler(pd):` that returns the step's result")


_DEFAULT_EXPORT = re.compile(r"^\s*export\s+default\b", re.MULTILINE)


def _check_javascript(source: str, report: Any) -> None:
    """`node --check` (parses, runs nothing) where node is installed; and a default export."""
    problem = _javascript_syntax_error(source)
    if problem:
        report(("code",), problem)
    elif not _DEFAULT_EXPORT.search(source):
        report(
            ("code",),
            "Node.js code steps export a component: `export default defineComponent({"
            " async run({ steps, $ }) { ... } })`",
        )


@functools.lru_cache(maxsize=256)
def _javascript_syntax_error(source: str) -> str | None:
    """What `node --check` says is wrong with `source` (None: nothing, or no node here).
    Cached: a deploy or a draft of unchanged code starts no process."""
    node = shutil.which("node")
    if node is None:
        return None
    try:
        done = subprocess.run(
            [node, "--input-type=module", "--check"],
            input=source,
            capture_output=True,
            text=True,
            timeout=NODE_CHECK_TIMEOUT,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode == 0:
        return None
    lines = done.stderr.strip().splitlines()
    line = re.match(r"^\[stdin\]:(\d+)", lines[0]) if lines else None
    said = next((x for x in lines if re.match(r"^\w*Error: ", x)), "")
    return f"JavaScript syntax error{f' at line {line.group(1)}' if line else ''}: {said}"


def _store_marker(value: Any) -> Any:
    """`{data_store: NAME}` in a code step's inputs is that data store (dict-like in pd)."""
    if isinstance(value, dict) and len(value) == 1:
        name = value.get("data_store", value.get("$data_store"))
        if isinstance(name, str):
            return {"$data_store": name}
    return value
