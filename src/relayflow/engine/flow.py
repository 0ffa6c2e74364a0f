"""Flow-control nodes: filter, if/else, switch, the join after a block, delay and end."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from relayflow.engine.compiled import Node
from relayflow.engine.context import StepError
from relayflow.model.duration import parse_duration

MAX_DELAY = 366 * 86400.0


@dataclass
class FlowOutcome:
    value: Any = None
    inputs: Any = None
    goto: int | None = None
    exit_reason: str | None = None
    sleep_until: float | None = None
    seconds: float = 0.0


def run_flow_node(node: Node, scope: Mapping[str, Any]) -> FlowOutcome:
    step = node.step
    if node.kind == "filter":
        assert node.condition is not None and step.filter is not None
        value = bool(node.condition(scope))
        keep = value if step.filter.continue_if is not None else not value
        rule = "continue_if" if step.filter.continue_if is not None else "exit_if"
        reason = None if keep else (step.filter.reason or f"filter {node.name}: {rule} was {value}")
        return FlowOutcome(value={"continue": keep}, inputs={rule: value}, exit_reason=reason)
    if node.kind == "if":
        assert node.condition is not None
        value = bool(node.condition(scope))
        label = "then" if value else "else"
        return FlowOutcome(
            value={"branch": label if label in node.branch_steps else None, "condition": value},
            inputs={"if": value},
            goto=node.branches[label],
        )
    if node.kind == "switch":
        assert node.condition is not None
        value = node.condition(scope)
        label = (
            str(value) if str(value) in node.branches and str(value) != "default" else ("default")
        )
        branch = label if label in node.branch_steps else None
        return FlowOutcome(
            value={"branch": branch, "value": value},
            inputs={"switch": value},
            goto=node.branches[label],
        )
    if node.kind == "join":
        opened = scope["steps"].get(node.name, {}).get("$return_value") or {}
        label = opened.get("branch")
        last = None
        for name in reversed(node.branch_steps.get(label, [])):
            if name in scope["steps"]:
                last = scope["steps"][name].get("$return_value")
                break
        return FlowOutcome(value=last, inputs={"branch": label})
    if node.kind == "delay":
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
        return FlowOutcome(
            value={"resume_at": until, "seconds": seconds},
            inputs={"delay": raw},
            sleep_until=until,
            seconds=seconds,
        )
    if node.kind == "end":
        reason = step.end or f"ended at step {node.name}"
        return FlowOutcome(value={"reason": reason}, exit_reason=reason)
    raise AssertionError(f"unknown node kind {node.kind}")
