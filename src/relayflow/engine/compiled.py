"""A workflow version made ready to run: a flat program of nodes, expressions compiled once.

Each step's kind adds its nodes (relayflow.steps); nested blocks (if/else, switch) are
flattened in document order; a loop's body and a parallel block's branches are programs
of their own (`Node.blocks`), run by their kind. Every node knows where to go next. The
run's `next_step` is this program counter, so resuming after a crash or a delay continues
exactly where the last checkpoint left off.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from relayflow.expressions import Evaluator, compile_value
from relayflow.model.workflow import Workflow
from relayflow.sdk import Registry, Source, discover
from relayflow.steps import kind_of
from relayflow.steps.base import Node


class Program:
    """A flat program of nodes being compiled (a `steps.base.Program`)."""

    def __init__(self, workflow: Workflow, registry: Registry, base_dir: Path | None) -> None:
        self.workflow = workflow
        self.registry = registry
        self.base_dir = base_dir
        self.nodes: list[Node] = []

    def _compile(self, steps: list[Any]) -> None:
        self.emit(steps)
        for node in self.nodes:
            if node.next == -1:
                node.next = len(self.nodes)

    def block(self, steps: list[Any]) -> list[Node]:
        inner = Program(self.workflow, self.registry, self.base_dir)
        inner._compile(steps)
        return inner.nodes

    @property
    def size(self) -> int:
        return len(self.nodes)

    def add(self, node: Node) -> Node:
        self.nodes.append(node)
        return node

    def emit(self, steps: list[Any]) -> list[Node]:
        """Append nodes for `steps`; returns the nodes whose `next` is the list's successor."""
        dangling: list[Node] = []
        for step in steps:
            first = len(self.nodes)
            for node in dangling:
                node.next = first
            dangling = kind_of(step).compile(step, self)
        return dangling

    def read_code(self, step: Any) -> str:
        path = Path(step.code_file or "")
        if not path.is_absolute() and self.base_dir is not None:
            path = self.base_dir / path
        return path.read_text(encoding="utf-8")


class CompiledWorkflow(Program):
    """One version of a workflow as the runner executes it."""

    def __init__(
        self, workflow_id: str, version: int, workflow: Workflow, base_dir: Path | None = None
    ) -> None:
        super().__init__(workflow, discover(), base_dir)
        self.workflow_id = workflow_id
        self.version = version
        self.source: Source | None = None
        self.source_inputs: Any = None
        self.idempotency_key: Evaluator | None = None
        self._compile_trigger()
        self._compile(workflow.steps)
        # Where a run may be without holding a concurrency slot (see Node.holds_slot).
        self.slot_free = frozenset(n.index for n in self.nodes if not n.holds_slot)

    @property
    def name(self) -> str:
        return self.workflow.name

    def _compile_trigger(self) -> None:
        trigger = self.workflow.trigger
        if trigger.source is not None:
            self.source = self.registry.source(trigger.source.uses)
            if self.source is None:
                raise LookupError(
                    f"workflow {self.name}: trigger.source uses {trigger.source.uses!r}, which"
                    " this installation does not have"
                )
            self.source_inputs = self.source.inputs.model_validate(trigger.source.with_)
        elif trigger.http is not None and trigger.http.idempotency_key is not None:
            where = "trigger.http.idempotency_key"
            self.idempotency_key = compile_value(trigger.http.idempotency_key, where)

