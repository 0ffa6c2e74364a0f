"""Add to a counter in a data store, atomically: concurrent runs never lose an update."""

from __future__ import annotations

from relayflow.apps.data_stores import key_field, store_field, stores
from relayflow.sdk import ActionInputs, StepContext, action, field


class Inputs(ActionInputs):
    store: str = store_field()
    key: str = key_field()
    amount: int | float = field(1, label="Amount", doc="What to add; negative to subtract")
    default: int | float = field(0, label="Start from", doc="The value of a key that has none")


@action("data_stores.incr", aliases=("store.incr",), title="Increment a Counter")
async def incr(ctx: StepContext, inputs: Inputs) -> int | float:
    """Add the amount to the key's number and return the new value (the key keeps its TTL)."""
    with stores(ctx) as ds:
        value = await ds.incr(inputs.store, inputs.key, inputs.amount, inputs.default)
    ctx.summary(f"{inputs.store}/{inputs.key} = {value}")
    return value
