"""`end:`: end the run here, successfully, with a reason (status `exited`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from relayflow.steps.base import Attempt, Node, Program, StepModel
from relayflow.steps.flow import FlowKind, decided


class EndStep(StepModel):
    end: str = Field(description="End the run here, with this reason")


class EndKind(FlowKind):
    name = "end"
    markers = ("end",)
    model = EndStep

    def compile(self, step: EndStep, program: Program) -> list[Node]:
        return [program.add(Node(program.size, step.name, self, step))]

    def decide(self, node: Node, scope: Mapping[str, Any], attempt: Attempt) -> Any:
        reason = node.step.end or f"ended at step {node.name}"
        return decided({"reason": reason}, None, exit_reason=reason)
