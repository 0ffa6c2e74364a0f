"""`delay:`: sleep durably (a row, not a task), up to a year, then continue.

The delay's result carries signed links that resume the run early or cancel it. Test
runs skip the sleep and say so in the step's log.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from pydantic import Field, model_validator

from relayflow.expressions import compile_value, has_expression
from relayflow.sdk import StepError, parse_duration
from relayflow.steps.base import Attempt, Check, Node, Program, StepModel, check_value
from relayflow.steps.flow import FlowKind, decided

MAX_DELAY = 366 * 86400.0


class DelayStep(StepModel):
    delay: Any = Field(description="A duration (30s, 5m, 2h, 7d) or an expression")

    @model_validator(mode="after")
    def _duration(self) -> DelayStep:
        if self.delay is None:
            raise ValueError("a delay step needs `delay:` with a duration such as 30s or 2h")
        if not has_expression(self.delay):
            parse_duration(self.delay)
        return self


class DelayKind(FlowKind):
    name = "delay"
    markers = ("delay",)
    model = DelayStep

    def check(self, step: DelayStep, check: Check) -> None:
        check_value(step.delay, f"steps.{step.name}.delay", ("delay",), check.report)

    def compile(self, step: DelayStep, program: Program) -> list[Node]:
        condition = compile_value(step.delay, f"steps.{step.name}.delay")
        return [program.add(Node(program.size, step.name, self, step, condition=condition))]

    def decide(self, node: Node, scope: Mapping[str, Any], attempt: Attempt) -> Any:
        assert node.condition is not None
        raw = node.condition(scope)
        try:
            seconds = parse_duration(raw)
        except ValueError as exc:
            raise StepError(f"steps.{node.name}.delay: {exc}", retryable=False) from None
        if seconds > MAX_DELAY:
            raise StepError(
                f"steps.{node.name}.delay: {seconds:g}s is longer than a year", retryable=False
            )
        until = time.time() + seconds
        value: dict[str, Any] = {"resume_at": until, "seconds": seconds}
        links = attempt.services.links
        if links is not None:
            for action in ("resume", "cancel"):
                value[f"{action}_url"] = links.url(attempt.run.id, node.name, action, until)
        skipped = [f"test run: the {seconds:g}s delay was skipped"] if attempt.run.test else None
        return decided(value, {"delay": raw}, sleep_until=until, logs=skipped)
