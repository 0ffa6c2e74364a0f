"""List the keys of a data store, optionally only those with a prefix."""

from __future__ import annotations

from typing import Any

from relayflow.apps.data_stores import store_field, stores
from relayflow.sdk import ActionInputs, StepContext, action, field


class Inputs(ActionInputs):
    store: str = store_field()
    prefix: str = field("", label="Prefix", doc="Only keys that start with this")
    values: bool = field(False, label="With values", doc="Return {key: value} instead")


@action("data_stores.keys", aliases=("store.keys",), title="List Keys")
async def keys(ctx: StepContext, inputs: Inputs) -> Any:
    """The store's keys, sorted (or an object of keys and values, with `values`)."""
    with stores(ctx) as ds:
        if inputs.values:
            found: Any = dict(await ds.items(inputs.store, inputs.prefix))
        else:
            found = await ds.keys(inputs.store, inputs.prefix)
    ctx.summary(f"{len(found)} keys in {inputs.store}")
    return found
