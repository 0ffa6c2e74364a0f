"""Running a block of steps inside one node: a loop's iteration, a parallel block's branch.

A block is a program of its own (`Node.blocks`). It runs node by node like the runner's
main loop, and after each node its iteration row is saved (committed before the next node
starts), so a run that resumes continues each block at the first node without a result:
a step that finished never runs again. Retries happen in place (the run keeps its lease);
a delay or a rerun cannot wait inside a block, which holds the rest of it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from relayflow.steps.base import Attempt, Check, Node
from relayflow.steps.outcome import StepOutcome

# What the iteration row (store.iterations.IterationRow) holds; built here from plain data so
# that this layer does not import the store.
Row = Any


def begin(attempt: Attempt, number: int, row: Row | None) -> Row:
    """Iteration `number` of the attempt's block, about to run: a new row, or the recorded
    one with the steps it keeps (those that succeeded; a failed one runs again)."""
    assert attempt.services.iterations is not None
    if row is None:
        return attempt.services.iterations.new(attempt.run.id, attempt.node.index, number)
    row.steps = [s for s in row.steps if s["status"] == "succeeded"]
    row.status, row.error = "running", None
    return row


def visible(step: Mapping[str, Any]) -> dict[str, Any]:
    """How a recorded step is seen as `steps.<name>` by the steps after it."""
    return {"$return_value": step["return_value"], **(step["exports"] or {})}


async def run_block(
    attempt: Attempt, nodes: list[Node], scope: Mapping[str, Any], row: Row
) -> Row:
    """Run `nodes` from `row.next_node` with `scope` (plus the block's own steps so far),
    saving `row` after every node; returns it succeeded or failed."""
    services = attempt.services
    assert services.iterations is not None
    steps = {**scope["steps"], **{s["name"]: visible(s) for s in row.steps}}
    local = {**scope, "steps": steps}
    pc = row.next_node
    while pc < len(nodes):
        node = nodes[pc]
        outcome, tries = await _attempt(attempt, node, local)
        if outcome.status == "succeeded" and (outcome.sleep_until or outcome.rerun):
            outcome = _cannot_wait(outcome, node, attempt)
        row.steps.append(_recorded(node, outcome, tries))
        row.finished_at = outcome.finished_at
        if outcome.status == "failed":
            row.status, row.next_node = "failed", pc
            row.error = {**(outcome.error or {}), "step": node.name}
            await services.iterations.save(row)
            return row
        steps[node.name] = visible(row.steps[-1])
        row.result = outcome.return_value
        # An exit (filter, end, pd.flow.exit) inside a block ends the block, not the run.
        pc = len(nodes) if outcome.exit_reason is not None else (
            outcome.goto if outcome.goto is not None else node.next
        )
        row.next_node = pc
        if pc >= len(nodes):
            row.status = "succeeded"
        await services.iterations.save(row)
    row.status = "succeeded"
    return row


async def _attempt(attempt: Attempt, node: Node, scope: Mapping[str, Any]) -> tuple[Any, int]:
    """Run `node`, retried in place per its retry policy (test runs do not retry)."""
    policy = attempt.workflow.workflow.retry_policy(node.step)
    tries = 1
    while True:
        outcome = await node.kind.run(
            Attempt(attempt.run, attempt.workflow, node, scope, tries, attempt.services)
        )
        if (
            outcome.status != "failed"
            or not outcome.retryable
            or attempt.run.test
            or tries > policy.max
        ):
            return outcome, tries
        await asyncio.sleep(policy.delay(tries))
        tries += 1


def _cannot_wait(outcome: StepOutcome, node: Node, attempt: Attempt) -> StepOutcome:
    if attempt.run.test and outcome.rerun is None:
        outcome.sleep_until = None  # test runs skip delays anyway
        return outcome
    what = "pd.flow.rerun" if outcome.rerun else "a delay"
    outcome.status, outcome.retryable = "failed", False
    outcome.error = {
        "name": "NotSupported",
        "message": f"steps.{node.name}: {what} cannot wait inside a loop or a parallel branch;"
        " put the delay before or after the block",
    }
    outcome.finished_at = time.time()
    return outcome


def _recorded(node: Node, outcome: StepOutcome, tries: int) -> dict[str, Any]:
    return {
        "name": node.name,
        "status": outcome.status,
        "inputs": outcome.inputs,
        "return_value": outcome.return_value,
        "exports": outcome.exports or {},
        "logs": outcome.logs or [],
        "error": outcome.error,
        "attempts": tries,
        "started_at": outcome.started_at,
        "finished_at": outcome.finished_at,
    }


def report_nested_blocks(step: Any, check: Check) -> None:
    """Loops and parallel blocks do not nest (yet): each block's iterations are keyed by its
    node, which a block inside another would share across the outer iterations. Nor does a
    delay step go inside one (a code step's pd.flow.delay fails when it runs)."""
    from relayflow.steps import kind_of, walk  # the package imports this module

    for _where, block in kind_of(step).children(step):
        for inner in walk(block):
            kind = kind_of(inner).name
            if kind in ("loop", "parallel"):
                check.report(
                    (),
                    f"steps.{inner.name} is a loop or parallel block inside {step.name}; blocks"
                    " do not nest yet: move it out, or put the inner steps in a code step",
                )
            elif kind == "delay":
                check.report(
                    (),
                    f"steps.{inner.name} is a delay inside {step.name}, where it would hold the"
                    " whole block; put the delay before or after the block",
                )
