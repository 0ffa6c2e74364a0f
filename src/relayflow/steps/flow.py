"""What flow-control kinds (filter, if, switch, delay, end) share: a quick decision.

A flow node evaluates its condition and decides where the run goes; it calls nothing
outside the process, so it runs inline and its failure is the condition's error.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from relayflow.steps.base import Attempt, Node, StepKind
from relayflow.steps.outcome import StepOutcome, failure


class FlowKind(StepKind):
    """A kind whose run is `decide(node, scope)`: an outcome without timings."""

    def decide(self, node: Node, scope: Mapping[str, Any], attempt: Attempt) -> StepOutcome:
        raise NotImplementedError

    async def run(self, attempt: Attempt) -> StepOutcome:
        started = time.time()
        try:
            outcome = self.decide(attempt.node, attempt.scope, attempt)
        except Exception as exc:  # noqa: BLE001 - a bad condition is the step's error
            return failure(started, exc, attempt.node)
        outcome.started_at, outcome.finished_at = started, time.time()
        return outcome


def decided(value: Any, inputs: Any, **changes: Any) -> StepOutcome:
    """A flow node's successful outcome: what it returns, what it evaluated, where to go."""
    return StepOutcome(status="succeeded", inputs=inputs, return_value=value, **changes)
