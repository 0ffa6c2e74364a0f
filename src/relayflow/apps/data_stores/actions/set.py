"""Set a key of a data store to any JSON value, optionally expiring after a while."""

from __future__ import annotations

from typing import Any

from relayflow.apps.data_stores import key_field, store_field, stores, ttl_field
from relayflow.sdk import ActionInputs, Duration, StepContext, action, field


class Inputs(ActionInputs):
    store: str = store_field()
    key: str = key_field()
    value: Any = field(label="Value", doc="Any JSON value; expressions keep their types")
    ttl: Duration | None = ttl_field()


@action("data_stores.set", aliases=("store.set",), title="Add or Update a Record")
async def set_(ctx: StepContext, inputs: Inputs) -> Any:
    """Set the key (creating the store if needed) and return the value set."""
    with stores(ctx) as ds:
        await ds.set(inputs.store, inputs.key, inputs.value, ttl=inputs.ttl)
    expiry = f", expires in {inputs.ttl:g}s" if inputs.ttl else ""
    ctx.summary(f"{inputs.store}/{inputs.key} set{expiry}")
    return inputs.value
