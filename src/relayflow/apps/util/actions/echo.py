"""Return a value: shape data (objects, lists, expressions) for later steps to use."""

from __future__ import annotations

from typing import Any

from relayflow.sdk import ActionInputs, StepContext, action, field


class Inputs(ActionInputs):
    value: Any = field(None, label="Value", doc="Any value; expressions keep their types")


@action("util.echo", title="Return a Value")
async def echo(ctx: StepContext, inputs: Inputs) -> Any:
    """Return `value` as this step's result, e.g. to rename or combine fields."""
    return inputs.value
