"""`for_each:` / `as:` / `concurrency:` / `steps:` / `continue_on_error:`: run steps per item.

The loop is one node whose body is a program of its own. Each iteration is checkpointed
(store.iterations) after each of its steps, so a run that resumes after a crash skips the
iterations that finished and continues the others at their first unfinished step. The
loop's result is the list of each iteration's last result, in item order.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator, model_validator

from relayflow.expressions import compile_value
from relayflow.sdk import StepError
from relayflow.steps.base import Attempt, Check, Node, Program, StepKind, StepModel, check_value
from relayflow.steps.blocks import begin, report_nested_blocks, run_block
from relayflow.steps.outcome import StepOutcome, failure

if TYPE_CHECKING:  # the union of every kind's model, built in relayflow.steps
    from relayflow.steps import Step

MAX_ITEMS = 10_000
RESERVED = frozenset({"steps", "env", "loop"})


class LoopStep(StepModel):
    for_each: Any = Field(description="A list (an expression); the steps run once per item")
    as_: str = Field("item", alias="as", description="The name of the current item")
    concurrency: int = Field(1, ge=1, le=100, description="Iterations at once (1: in order)")
    steps: list[Step] | None = Field(None, description="The steps of one iteration")
    continue_on_error: bool = Field(
        False, description="Collect failed iterations' errors instead of failing the run"
    )

    @field_validator("as_")
    @classmethod
    def _as(cls, value: str) -> str:
        if not value.isidentifier() or value in RESERVED:
            raise ValueError(
                f"`as: {value}` must be a plain name (letters, digits, _) other than steps,"
                " env and loop, e.g. `as: item`"
            )
        return value

    @model_validator(mode="after")
    def _steps(self) -> LoopStep:
        if not self.steps:
            raise ValueError("a `for_each` step needs `steps:` to run for each item")
        return self


class LoopKind(StepKind):
    name = "loop"
    markers = ("for_each",)
    model = LoopStep

    def children(self, step: LoopStep) -> list[tuple[tuple[str, ...], list[Any]]]:
        return [(("steps",), step.steps or [])]

    def check(self, step: LoopStep, check: Check) -> None:
        check_value(step.for_each, f"steps.{step.name}.for_each", ("for_each",), check.report)
        report_nested_blocks(step, check)

    def compile(self, step: LoopStep, program: Program) -> list[Node]:
        items = compile_value(step.for_each, f"steps.{step.name}.for_each")
        node = Node(program.size, step.name, self, step, condition=items)
        node.blocks["steps"] = program.block(step.steps or [])
        return [program.add(node)]

    def holds_slot(self, node: Node) -> bool:
        return any(n.holds_slot for n in node.blocks["steps"])

    async def run(self, attempt: Attempt) -> StepOutcome:
        node, services = attempt.node, attempt.services
        step: LoopStep = node.step
        started = time.time()
        try:
            if services.iterations is None:
                raise StepError("loops are not available in this process", retryable=False)
            assert node.condition is not None
            items = _items(node.condition(attempt.scope), node.name)
            recorded = await services.iterations.recorded(attempt.run.id, node.index)
        except Exception as exc:  # noqa: BLE001 - a bad list is the step's error
            return failure(started, exc, node)
        rows = {row.iteration: row for row in recorded}
        loop = _Loop(attempt, step, items, rows)
        await loop.run()
        return loop.outcome(started)


def _items(value: Any, name: str) -> list[Any]:
    if isinstance(value, dict):
        raise StepError(
            f"steps.{name}.for_each: got an object; loop over a list, e.g. its values with"
            " `{{ … | list }}` or a list field",
            retryable=False,
        )
    if not isinstance(value, list | tuple):
        raise StepError(
            f"steps.{name}.for_each: got {type(value).__name__} {str(value)[:60]!r}; it needs"
            " a list, e.g. {{ steps.trigger.event.body.items }}",
            retryable=False,
        )
    if len(value) > MAX_ITEMS:
        raise StepError(
            f"steps.{name}.for_each: {len(value):,} items; a loop takes at most {MAX_ITEMS:,}."
            " Split the list (e.g. a loop over chunks whose steps handle a chunk each), or"
            " start one run per item",
            retryable=False,
        )
    return list(value)


class _Loop:
    """One attempt of one loop: its iterations, `concurrency` at a time, in item order."""

    def __init__(
        self, attempt: Attempt, step: LoopStep, items: list[Any], rows: dict[int, Any]
    ) -> None:
        self.attempt = attempt
        self.step = step
        self.items = items
        self.rows = rows
        self.body = attempt.node.blocks["steps"]
        self.failed: Any = None  # the first failed iteration (without continue_on_error)

    def done(self, index: int) -> bool:
        row = self.rows.get(index)
        if row is None:
            return False
        return row.status == "succeeded" or (row.status == "failed" and self.step.continue_on_error)

    async def run(self) -> None:
        pending = iter([i for i in range(len(self.items)) if not self.done(i)])
        workers = [self._work(pending) for _ in range(self.step.concurrency)]
        await asyncio.gather(*workers)

    async def _work(self, pending: Any) -> None:
        for index in pending:
            if self.failed is not None:
                return
            row = await self._iteration(index)
            self.rows[index] = row
            if row.status == "failed" and not self.step.continue_on_error:
                self.failed = row

    async def _iteration(self, index: int) -> Any:
        attempt = self.attempt
        row = begin(attempt, index, self.rows.get(index))
        scope = {
            **attempt.scope,
            self.step.as_: self.items[index],
            "loop": {"index": index, "length": len(self.items)},
        }
        return await run_block(attempt, self.body, scope, row)

    def outcome(self, started: float) -> StepOutcome:
        count = len(self.items)
        inputs = {"items": count, "as": self.step.as_, "concurrency": self.step.concurrency}
        if self.failed is not None:
            error = self.failed.error or {}
            message = (
                f"iteration {self.failed.iteration} ({self.step.as_} ="
                f" {_short(self.items[self.failed.iteration])}) failed at step"
                f" {error.get('step')}: {error.get('message')}"
            )
            finished = sum(1 for i in range(count) if self.done(i))
            return StepOutcome(
                "failed",
                inputs=inputs,
                error={"name": "LoopError", "message": message, "iteration": self.failed.iteration},
                logs=[f"{finished} of {count} iterations finished"],
                started_at=started,
                finished_at=time.time(),
                retryable=False,  # each step was retried in place already
            )
        results, errors = [], []
        for index in range(count):
            row = self.rows[index]
            if row.status == "failed":
                errors.append({"iteration": index, **(row.error or {})})
                results.append(None)
            else:
                results.append(row.result)
        return StepOutcome(
            "succeeded",
            inputs=inputs,
            return_value=results,
            exports={"errors": errors} if self.step.continue_on_error else None,
            logs=[f"{count} iterations" + (f", {len(errors)} failed" if errors else "")],
            started_at=started,
            finished_at=time.time(),
        )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
