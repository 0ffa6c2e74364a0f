"""`parallel: {branch: [steps], …}`: run branches at once and wait for all of them.

The block is one node whose branches are programs of their own, each checkpointed as an
iteration (numbered in the order the branches are written) after each of its steps, so a
resumed run continues only the branches that had not finished. The block's result is
`{branch: its last result}`; a failed branch fails the block once the others finished.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from pydantic import Field, model_validator

from relayflow.sdk import StepError
from relayflow.steps.base import Attempt, Check, Node, Program, StepKind, StepModel
from relayflow.steps.blocks import begin, report_nested_blocks, run_block
from relayflow.steps.outcome import StepOutcome, failure

if TYPE_CHECKING:  # the union of every kind's model, built in relayflow.steps
    from relayflow.steps import Step


class ParallelStep(StepModel):
    parallel: dict[str, list[Step]] | None = Field(
        None, description="branch name -> its steps; the branches run at once"
    )

    @model_validator(mode="after")
    def _branches(self) -> ParallelStep:
        if not self.parallel:
            raise ValueError("a `parallel` step needs branches: `parallel: {name: [steps]}`")
        empty = [label for label, steps in self.parallel.items() if not steps]
        if empty:
            raise ValueError(f"parallel branch {empty[0]!r} has no steps; give it some or drop it")
        return self


class ParallelKind(StepKind):
    name = "parallel"
    markers = ("parallel",)
    model = ParallelStep

    def children(self, step: ParallelStep) -> list[tuple[tuple[str, ...], list[Any]]]:
        return [(("parallel", label), steps) for label, steps in (step.parallel or {}).items()]

    def check(self, step: ParallelStep, check: Check) -> None:
        report_nested_blocks(step, check)

    def compile(self, step: ParallelStep, program: Program) -> list[Node]:
        node = Node(program.size, step.name, self, step)
        for label, steps in (step.parallel or {}).items():
            node.blocks[label] = program.block(steps)
        return [program.add(node)]

    def holds_slot(self, node: Node) -> bool:
        return any(n.holds_slot for nodes in node.blocks.values() for n in nodes)

    async def run(self, attempt: Attempt) -> StepOutcome:
        node, services = attempt.node, attempt.services
        started = time.time()
        try:
            if services.iterations is None:
                raise StepError("parallel blocks are not available here", retryable=False)
            recorded = await services.iterations.recorded(attempt.run.id, node.index)
        except Exception as exc:  # noqa: BLE001 - shown as the step's error
            return failure(started, exc, node)
        rows = {row.iteration: row for row in recorded}
        labels = list(node.blocks)
        ran = await asyncio.gather(
            *(self._branch(attempt, i, rows.get(i)) for i in range(len(labels)))
        )
        inputs = {"branches": labels}
        failed = [(labels[i], row) for i, row in enumerate(ran) if row.status == "failed"]
        if failed:
            message = "; ".join(
                f"branch {label} failed at step {row.error.get('step')}: {row.error.get('message')}"
                for label, row in failed
            )
            return StepOutcome(
                "failed",
                inputs=inputs,
                error={"name": "ParallelError", "message": message},
                started_at=started,
                finished_at=time.time(),
                retryable=False,  # each step was retried in place already
            )
        return StepOutcome(
            "succeeded",
            inputs=inputs,
            return_value={label: row.result for label, row in zip(labels, ran, strict=True)},
            started_at=started,
            finished_at=time.time(),
        )

    async def _branch(self, attempt: Attempt, number: int, row: Any) -> Any:
        if row is not None and row.status == "succeeded":
            return row
        label = list(attempt.node.blocks)[number]
        row = begin(attempt, number, row)
        return await run_block(attempt, attempt.node.blocks[label], attempt.scope, row)
