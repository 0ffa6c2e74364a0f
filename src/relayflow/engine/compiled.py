"""A workflow version made ready to run: actions resolved, expressions compiled once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from relayflow.engine.actions import Action, discover
from relayflow.expressions import Evaluator, compile_value
from relayflow.model.workflow import Step, Workflow


@dataclass(frozen=True)
class CompiledStep:
    index: int
    step: Step
    action: Action
    inputs: Evaluator
    timeout: float

    def evaluate(self, context: Mapping[str, Any]) -> dict[str, Any]:
        return self.inputs(context)


class CompiledWorkflow:
    def __init__(self, workflow_id: str, version: int, workflow: Workflow) -> None:
        self.workflow_id = workflow_id
        self.version = version
        self.workflow = workflow
        actions = discover()
        self.steps: list[CompiledStep] = []
        for index, step in enumerate(workflow.steps):
            act = actions.get(step.uses)
            if act is None:
                raise LookupError(
                    f"workflow {workflow.name} v{version}: step {step.name} uses {step.uses!r},"
                    " which this installation does not have"
                )
            self.steps.append(
                CompiledStep(
                    index=index,
                    step=step,
                    action=act,
                    inputs=compile_value(step.with_, f"steps.{step.name}.with"),
                    timeout=workflow.step_timeout(step),
                )
            )

    @property
    def name(self) -> str:
        return self.workflow.name
