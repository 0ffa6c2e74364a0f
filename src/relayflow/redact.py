"""Keeping secrets out of everything a run records: inputs, exports, logs and errors."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MASK = "••••••"


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value

    def __call__(self, value: Any) -> Any:
        if not self.secrets:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self(v) for v in value]
        return value


PAYLOAD_MASK = "(hidden from viewers: RELAYFLOW_MASK_FOR_VIEWERS is on)"


def mask_payloads(run: dict[str, Any]) -> dict[str, Any]:
    """A run (or event) as a viewer sees it when the operator hides payloads: the event,
    and each step's inputs, return value, exports and logs replaced; statuses, times and
    errors kept."""
    shown = dict(run)
    for key in ("event", "payload"):
        if key in shown:
            shown[key] = PAYLOAD_MASK
    steps = []
    for step in shown.get("steps") or []:
        step = dict(step)
        for key in ("inputs", "return_value", "exports", "iterations"):
            if step.get(key) is not None:
                step[key] = PAYLOAD_MASK
        if step.get("logs"):
            step["logs"] = [PAYLOAD_MASK]
        steps.append(step)
    if "steps" in shown:
        shown["steps"] = steps
    return shown
