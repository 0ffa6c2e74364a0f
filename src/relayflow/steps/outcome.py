"""What one node's execution produced, and how failures are described to the user."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from relayflow.egress import EgressRefused
from relayflow.expressions import ExpressionError
from relayflow.jsoncodec import dumps
from relayflow.sdk import StepError


@dataclass
class StepOutcome:
    status: str  # succeeded | failed
    inputs: Any = None
    return_value: Any = None
    exports: dict[str, Any] | None = None
    logs: list[str] | None = None
    error: dict[str, Any] | None = None
    started_at: float = 0.0
    finished_at: float = 0.0
    retryable: bool = True
    exit_reason: str | None = None
    goto: int | None = None  # flow control: the next node, instead of the one after
    sleep_until: float | None = None  # a delay: resume the run at this time
    rerun: tuple[float, int] | None = None  # pd.flow.rerun: (delay seconds, max reruns)


def json_ready(value: Any, what: str) -> Any:
    """`value` as JSON-ready data, or a StepError naming the type that is not."""
    try:
        dumps(value)
    except TypeError as exc:
        raise StepError(
            f"{what} returned a value that is not JSON-serialisable: {exc}", retryable=False
        ) from None
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if dump else value


def is_retryable(exc: Exception) -> bool:
    if isinstance(exc, StepError):
        return exc.retryable
    return not isinstance(exc, ExpressionError | ValidationError | EgressRefused)


def describe_error(exc: Exception, node: Any = None) -> dict[str, Any]:
    name = getattr(node, "name", "step")
    if isinstance(exc, ExpressionError):
        return {"name": "ExpressionError", "message": str(exc)}
    if isinstance(exc, ValidationError):
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            problems.append(f"steps.{name}.with.{where}: {err['msg']}")
        return {"name": "InputError", "message": "; ".join(problems)}
    if isinstance(exc, TimeoutError):
        limit = getattr(node, "timeout", 0)
        return {
            "name": "TimeoutError",
            "message": f"took longer than {limit:g}s (raise `timeout` on the step or in"
            " settings if it needs more)",
        }
    if isinstance(exc, StepError):
        described: dict[str, Any] = {"name": type(exc).__name__, "message": str(exc)}
        if exc.details is not None:
            described["details"] = exc.details
        return described
    return {
        "name": type(exc).__name__,
        "message": str(exc) or type(exc).__name__,
        "traceback": "".join(traceback.format_exception(exc)[-6:]),
    }


def failure(started: float, exc: Exception, node: Any = None) -> StepOutcome:
    """The outcome of an attempt that raised `exc`."""
    return StepOutcome(
        status="failed",
        error=describe_error(exc, node),
        started_at=started,
        finished_at=time.time(),
        retryable=is_retryable(exc),
    )
