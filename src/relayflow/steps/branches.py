"""`if:` / `then:` / `else:` and `switch:` / `cases:` / `default:`: run one branch.

A branch block compiles to its condition node, each branch's nodes, and a join node that
records the branch's last result under the block's name, so `steps.<block>.$return_value`
works after the block, as in Pipedream. The condition node jumps to the chosen branch;
every branch ends by jumping to the join.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import Field, model_validator

from relayflow.expressions import compile_value
from relayflow.steps.base import Attempt, Check, Node, Program, StepModel, check_value
from relayflow.steps.flow import FlowKind, decided

if TYPE_CHECKING:  # the union of every kind's model, built in relayflow.steps
    from relayflow.steps import Step


class IfStep(StepModel):
    if_: Any = Field(alias="if", description="A condition; `then:` runs when it is true")
    then: list[Step] | None = Field(None, description="The steps to run when it is true")
    else_: list[Step] | None = Field(None, alias="else")

    @model_validator(mode="after")
    def _then(self) -> IfStep:
        if self.then is None:
            raise ValueError("an `if` step needs `then:` with the steps to run when it is true")
        return self


class SwitchStep(StepModel):
    switch: Any = Field(description="A value; the case of the same name runs")
    cases: dict[str, list[Step]] | None = Field(None, description="value -> steps")
    default: list[Step] | None = None

    @model_validator(mode="after")
    def _cases(self) -> SwitchStep:
        if not self.cases:
            raise ValueError("a `switch` step needs `cases:` mapping values to steps")
        return self


class BranchKind(FlowKind):
    """What if and switch share: branches, their checks, and compiling them with a join."""

    marker: str

    def branches(self, step: Any) -> list[tuple[str, list[Any]]]:
        raise NotImplementedError

    def children(self, step: Any) -> list[tuple[tuple[str, ...], list[Any]]]:
        return [
            ((label,) if label in ("then", "else", "default") else ("cases", label), steps)
            for label, steps in self.branches(step)
        ]

    def condition(self, step: Any) -> Any:
        return getattr(step, _FIELD[self.name])

    def check(self, step: Any, check: Check) -> None:
        where = f"steps.{step.name}.{self.name}"
        check_value(self.condition(step), where, (self.name,), check.report)

    def compile(self, step: Any, program: Program) -> list[Node]:
        where = f"steps.{step.name}.{self.name}"
        condition = compile_value(self.condition(step), where)
        node = program.add(Node(program.size, step.name, self, step, condition=condition))
        ends: list[Node] = []
        branches = self.branches(step)
        for label, steps in branches:
            if not steps:
                continue
            node.branches[label] = program.size
            node.branch_steps[label] = [s.name for s in steps]
            ends.extend(program.emit(steps))
        join = program.add(Node(program.size, step.name, JOIN, step))
        join.branch_steps = node.branch_steps
        for label, _steps in branches:
            node.branches.setdefault(label, join.index)
        for end in ends:
            end.next = join.index
        node.next = join.index
        return [join]


_FIELD = {"if": "if_", "switch": "switch"}


class IfKind(BranchKind):
    name = "if"
    markers = ("if",)
    model = IfStep

    def branches(self, step: IfStep) -> list[tuple[str, list[Any]]]:
        return [("then", step.then or []), ("else", step.else_ or [])]

    def decide(self, node: Node, scope: Mapping[str, Any], attempt: Attempt) -> Any:
        assert node.condition is not None
        value = bool(node.condition(scope))
        label = "then" if value else "else"
        shown = label if label in node.branch_steps else None
        return decided(
            {"branch": shown, "condition": value}, {"if": value}, goto=node.branches[label]
        )


class SwitchKind(BranchKind):
    name = "switch"
    markers = ("switch",)
    model = SwitchStep

    def branches(self, step: SwitchStep) -> list[tuple[str, list[Any]]]:
        cases = [(str(k), v) for k, v in (step.cases or {}).items()]
        return [*cases, ("default", step.default or [])]

    def decide(self, node: Node, scope: Mapping[str, Any], attempt: Attempt) -> Any:
        assert node.condition is not None
        value = node.condition(scope)
        text = str(value)
        label = text if text in node.branches and text != "default" else "default"
        shown = label if label in node.branch_steps else None
        return decided(
            {"branch": shown, "value": value}, {"switch": value}, goto=node.branches[label]
        )


class JoinKind(FlowKind):
    """The node after a branch block: the block's result is its branch's last result."""

    name = "join"

    def decide(self, node: Node, scope: Mapping[str, Any], attempt: Attempt) -> Any:
        opened = scope["steps"].get(node.name, {}).get("$return_value") or {}
        label = opened.get("branch")
        last = None
        for name in reversed(node.branch_steps.get(label, [])):
            if name in scope["steps"]:
                last = scope["steps"][name].get("$return_value")
                break
        return decided(last, {"branch": label})


JOIN = JoinKind()
