"""A workflow version made ready to run: a flat program of nodes, expressions compiled once.

Nested blocks (if/else, switch) are flattened in document order. Every node knows where
to go next; a block's condition node jumps to the branch it chose, and each branch ends
by jumping to the block's join node, which records the branch's result under the
block's name (so `steps.<block>.$return_value` works after the block, as in Pipedream).
The run's `next_step` is this program counter, so resuming after a crash or a delay
continues exactly where the last checkpoint left off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relayflow.engine.actions import Action, discover
from relayflow.expressions import Evaluator, compile_value
from relayflow.model.workflow import Step, Workflow


@dataclass
class Node:
    index: int
    name: str
    kind: str  # action | code | filter | if | switch | join | delay | end
    step: Step
    next: int = -1
    action: Action | None = None
    inputs: Evaluator | None = None
    condition: Evaluator | None = None
    timeout: float = 30.0
    source: str | None = None  # code steps
    branches: dict[str, int] = field(default_factory=dict)  # if/switch: label -> first node
    branch_steps: dict[str, list[str]] = field(default_factory=dict)  # join: label -> names

    @property
    def key(self) -> str:
        """What the metrics and the inspector call this kind of node."""
        if self.action is not None:
            return self.action.key
        return f"flow.{self.kind}" if self.kind != "code" else "code.python"

    def evaluate(self, context: Mapping[str, Any]) -> dict[str, Any]:
        return self.inputs(context) if self.inputs else {}


class CompiledWorkflow:
    def __init__(
        self, workflow_id: str, version: int, workflow: Workflow, base_dir: Path | None = None
    ) -> None:
        self.workflow_id = workflow_id
        self.version = version
        self.workflow = workflow
        self.base_dir = base_dir
        self._actions = discover()
        self.nodes: list[Node] = []
        self._emit(workflow.steps)
        for node in self.nodes:
            if node.next == -1:
                node.next = len(self.nodes)

    @property
    def steps(self) -> list[Node]:
        return self.nodes

    @property
    def name(self) -> str:
        return self.workflow.name

    def _emit(self, steps: list[Step]) -> list[Node]:
        """Append nodes for `steps`; returns the nodes whose `next` is the list's successor."""
        dangling: list[Node] = []
        for step in steps:
            first = len(self.nodes)
            for node in dangling:
                node.next = first
            dangling = self._emit_step(step)
        return dangling

    def _emit_step(self, step: Step) -> list[Node]:
        node = Node(index=len(self.nodes), name=step.name, kind=step.kind, step=step)
        where = f"steps.{step.name}"
        self.nodes.append(node)
        kind = step.kind
        if kind == "uses":
            node.kind = "action"
            node.action = self._action(step)
            node.inputs = compile_value(step.with_, f"{where}.with")
            node.timeout = self.workflow.step_timeout(step)
        elif kind == "code":
            node.inputs = compile_value(step.with_, f"{where}.with")
            node.timeout = step.timeout or self.workflow.settings.code_timeout
            node.source = step.code if step.code is not None else self._read_code(step)
        elif kind == "filter":
            assert step.filter is not None
            test = (
                step.filter.continue_if
                if step.filter.continue_if is not None
                else (step.filter.exit_if)
            )
            node.condition = compile_value(test, f"{where}.filter")
        elif kind == "if":
            node.condition = compile_value(step.if_, f"{where}.if")
        elif kind == "switch":
            node.condition = compile_value(step.switch, f"{where}.switch")
        elif kind == "delay":
            node.condition = compile_value(step.delay, f"{where}.delay")
        if kind not in ("if", "switch"):
            return [node]
        ends: list[Node] = []
        for label, branch in step.children():
            if not branch:
                continue
            node.branches[label] = len(self.nodes)
            node.branch_steps[label] = [s.name for s in branch]
            ends.extend(self._emit(branch))
        join = Node(index=len(self.nodes), name=step.name, kind="join", step=step)
        join.branch_steps = node.branch_steps
        self.nodes.append(join)
        for label, _branch in step.children():
            node.branches.setdefault(label, join.index)
        for end in ends:
            end.next = join.index
        node.next = join.index
        return [join]

    def _action(self, step: Step) -> Action:
        act = self._actions.get(step.uses or "")
        if act is None:
            raise LookupError(
                f"workflow {self.workflow.name} v{self.version}: step {step.name} uses"
                f" {step.uses!r}, which this installation does not have"
            )
        return act

    def _read_code(self, step: Step) -> str:
        path = Path(step.code_file or "")
        if not path.is_absolute() and self.base_dir is not None:
            path = self.base_dir / path
        return path.read_text(encoding="utf-8")
