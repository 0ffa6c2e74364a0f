"""`filter:`: continue only when `continue_if` is true, or end the run when `exit_if` is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import model_validator

from relayflow.expressions import compile_value
from relayflow.model.base import Model
from relayflow.steps.base import Attempt, Check, Node, Program, StepModel, check_value
from relayflow.steps.flow import FlowKind, decided


class Filter(Model):
    """Continue only when `continue_if` is true, or stop when `exit_if` is true."""

    continue_if: Any = None
    exit_if: Any = None
    reason: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Filter:
        if (self.continue_if is None) == (self.exit_if is None):
            raise ValueError("give exactly one of continue_if or exit_if")
        return self

    @property
    def rule(self) -> str:
        return "continue_if" if self.continue_if is not None else "exit_if"

    @property
    def test(self) -> Any:
        return self.continue_if if self.continue_if is not None else self.exit_if


class FilterStep(StepModel):
    filter: Filter


class FilterKind(FlowKind):
    name = "filter"
    markers = ("filter",)
    model = FilterStep

    def check(self, step: FilterStep, check: Check) -> None:
        check_value(step.filter.test, f"steps.{step.name}.filter", ("filter",), check.report)

    def compile(self, step: FilterStep, program: Program) -> list[Node]:
        condition = compile_value(step.filter.test, f"steps.{step.name}.filter")
        node = Node(program.size, step.name, self, step, condition=condition)
        return [program.add(node)]

    def decide(self, node: Node, scope: Mapping[str, Any], attempt: Attempt) -> Any:
        assert node.condition is not None
        rules: Filter = node.step.filter
        value = bool(node.condition(scope))
        keep = value if rules.continue_if is not None else not value
        reason = None if keep else (rules.reason or f"filter {node.name}: {rules.rule} was {value}")
        return decided({"continue": keep}, {rules.rule: value}, exit_reason=reason)
