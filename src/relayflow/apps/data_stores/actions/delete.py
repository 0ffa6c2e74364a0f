"""Delete a key from a data store."""

from __future__ import annotations

from relayflow.apps.data_stores import key_field, store_field, stores
from relayflow.sdk import ActionInputs, StepContext, action


class Inputs(ActionInputs):
    store: str = store_field()
    key: str = key_field()


@action("data_stores.delete", aliases=("store.delete",), title="Delete a Record")
async def delete(ctx: StepContext, inputs: Inputs) -> bool:
    """Remove the key; returns whether it had a value (a missing key is not an error)."""
    with stores(ctx) as ds:
        deleted = await ds.delete(inputs.store, inputs.key)
    ctx.summary(f"{inputs.store}/{inputs.key} " + ("deleted" if deleted else "had no value"))
    return deleted
